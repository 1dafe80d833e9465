"""Build a few book pages on their own, exactly as the full book would, to check them quickly.

    python tools/preview_pages.py book/02_lstm_cell.ipynb [more pages...] [--out DIR]

Copies the book's configuration, intro, references and vendored files together with the given
pages into a scratch folder, writes a table of contents holding just those pages, and runs
``jupyter-book build`` with warnings as errors and notebooks executed.  Prints where the HTML is.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALWAYS = ["_config.yml", "vendor", "book/_static", "book/intro.md", "book/glossary.md",
          "book/references.md", "book/references.bib"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="scratch folder (default: a new temp dir)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="preview-"))
    out.mkdir(parents=True, exist_ok=True)
    for rel in ALWAYS:
        src = ROOT / rel
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    chapters = []
    for page in args.pages:
        page = page.resolve()
        rel = page.relative_to(ROOT)
        # copy the page's whole folder (data files, images) next to it
        shutil.copytree(page.parent, out / rel.parent, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
        chapters.append(f"      - file: {rel.with_suffix('').as_posix()}")
    toc = ["format: jb-book", "root: book/intro", "parts:", "  - caption: Preview", "    chapters:",
           *chapters, "      - file: book/glossary", "      - file: book/references"]
    (out / "_toc.yml").write_text("\n".join(toc) + "\n")
    jb = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jb), "build", str(out), "--warningiserror", "--nitpick", "--keep-going"]
    result = subprocess.run(cmd)
    print(f"\nHTML: {out / '_build' / 'html' / 'index.html'}  (exit {result.returncode})")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
