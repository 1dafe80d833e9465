"""Run chapter notebooks under several values of LSTM_COURSE_SEED and tabulate what they glue.

Every number and verdict word in the book's prose is glued (``myst_nb.glue``) by the cell that
computes it, and no conclusion may change with the seed. This tool makes that checkable: it
executes each chosen notebook once per seed into a temporary folder (never touching the
committed notebook), reads back every value the run glued, and prints one table per chapter
with a row per glued name and a column per seed, plus each run's wall and CPU time.

    python tools/claims.py                               # chapters 1, 2, 4, 6; seeds 0-3
    python tools/claims.py --chapters 2 --seeds 1,2 --jobs 2
    python tools/claims.py --chapters book/03_bptt.ipynb --keep /tmp/executed

The glued names are read generically (everything a run glued as text), so the table follows
the chapters as they change. ``make claims`` runs it; it is not part of ``make test``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
DEFAULT_CHAPTERS = ("1", "2", "4", "6")
DEFAULT_SEEDS = (0, 1, 2, 3)
SEED_ENV = "LSTM_COURSE_SEED"
GLUE_PREFIX = "application/papermill.record/"      # what myst_nb.glue(display=False) writes


def glued_value(bundle: Mapping[str, Any]) -> Any:
    """The value of one glued mime bundle (prefix already removed), or None if not textual.

    Markdown (glued verdict sentences) is returned as its source; plain text is turned back
    into a Python number or string where it is a literal (``'0.953'`` -> 0.953,
    ``"'GRU'"`` -> ``'GRU'``, ``'np.float64(0.5)'`` -> 0.5), and kept as text otherwise.
    """
    if "text/markdown" in bundle:
        return _join(bundle["text/markdown"]).strip()
    if "text/plain" not in bundle:
        return None                                    # a glued figure or HTML table
    text = _join(bundle["text/plain"]).strip()
    for prefix in ("np.float64(", "np.float32(", "np.int64(", "np.int32(", "np.str_("):
        if text.startswith(prefix) and text.endswith(")"):
            text = text[len(prefix):-1]
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    return value if isinstance(value, (int, float, str, bool)) else text


def _join(text: str | list[str]) -> str:
    return "".join(text) if isinstance(text, list) else text


def extract_glue(notebook: Mapping[str, Any]) -> dict[str, Any]:
    """Every value an executed notebook glued, ``{name: value}`` in the order of the cells.

    ``notebook`` is the notebook as JSON (a dict, as ``json.load`` or ``nbformat.read`` give
    it). A glue output is a display_data output whose metadata holds ``scrapbook.name``; its
    mime keys carry ``scrapbook.mime_prefix`` (``application/papermill.record/`` when glued
    with ``display=False``). Non-textual glue (figures) is left out; a name glued twice keeps
    its last value, as myst-nb does.
    """
    values: dict[str, Any] = {}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if not scrapbook or "name" not in scrapbook:
                continue
            prefix = scrapbook.get("mime_prefix", "")
            bundle = {key[len(prefix):]: value for key, value in output.get("data", {}).items()
                      if key.startswith(prefix)}
            value = glued_value(bundle)
            if value is not None:
                values.pop(scrapbook["name"], None)
                values[scrapbook["name"]] = value
    return values


def resolve_chapters(chapters: Iterable[str], book: Path = BOOK) -> list[Path]:
    """Notebook paths for chapter numbers ("2" -> book/02_*.ipynb) or explicit paths."""
    paths = []
    for chapter in chapters:
        candidate = Path(chapter)
        if candidate.suffix == ".ipynb":
            path = candidate if candidate.is_absolute() else (Path.cwd() / candidate)
            if not path.exists():
                raise SystemExit(f"no notebook {chapter}")
            paths.append(path.resolve())
            continue
        if not chapter.isdigit():
            raise SystemExit(f"--chapters takes numbers or .ipynb paths, got {chapter!r}")
        matches = sorted(book.glob(f"{int(chapter):02d}_*.ipynb"))
        if len(matches) != 1:
            raise SystemExit(f"chapter {chapter}: expected one book/{int(chapter):02d}_*.ipynb, "
                             f"found {[m.name for m in matches]}")
        paths.append(matches[0])
    return paths


@dataclass
class Run:
    """One notebook executed under one seed."""

    notebook: Path
    seed: int
    returncode: int = -1
    wall_s: float = float("nan")
    cpu_s: float = float("nan")
    glued: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def execute(notebook: Path, seed: int, out_dir: Path, timeout: int) -> Run:
    """Execute ``notebook`` with LSTM_COURSE_SEED=seed into ``out_dir``; read its glue back."""
    run = Run(notebook, seed)
    target = out_dir / f"{notebook.stem}.seed{seed}.ipynb"
    env = dict(os.environ, **{SEED_ENV: str(seed)})
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    command = [sys.executable, "-c", _TIMED, sys.executable, "-m", "jupyter", "nbconvert",
               "--to", "notebook", "--execute", f"--ExecutePreprocessor.timeout={timeout}",
               "--output-dir", str(out_dir), "--output", target.name, str(notebook)]
    start = time.perf_counter()
    process = subprocess.run(command, cwd=notebook.parent, env=env, capture_output=True,
                             text=True)
    run.wall_s = time.perf_counter() - start
    run.returncode = process.returncode
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    if lines and lines[-1].startswith(_CPU_TAG):
        run.cpu_s = float(lines.pop()[len(_CPU_TAG):])
    if target.exists():
        run.glued = extract_glue(json.loads(target.read_text(encoding="utf-8")))
    if process.returncode != 0:
        run.error = "\n".join(lines[-6:])
    return run


# Runs the command given as arguments and reports the CPU time (user + system) of everything
# it started: nbconvert and the kernel it reaps are all children of this small wrapper.
_CPU_TAG = "CLAIMS_CPU_SECONDS="
_TIMED = ("import resource, subprocess, sys\n"
          "code = subprocess.call(sys.argv[1:])\n"
          "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
          f"print('{_CPU_TAG}' + str(usage.ru_utime + usage.ru_stime), file=sys.stderr)\n"
          "sys.exit(code)\n")


def format_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    text = " ".join(str(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def table(runs: list[Run]) -> str:
    """A Markdown table for one notebook: a row per glued name, a column per seed."""
    runs = sorted(runs, key=lambda r: r.seed)
    names: list[str] = []
    for run in runs:
        names += [name for name in run.glued if name not in names]
    header = "| glued name | " + " | ".join(f"seed {r.seed}" for r in runs) + " |"
    lines = [header, "|---" * (len(runs) + 1) + "|"]
    for name in names:
        cells = [format_value(r.glued[name]) if name in r.glued else "-" for r in runs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| (run status) | " + " | ".join(
        "ok" if r.returncode == 0 else f"FAILED (rc {r.returncode})" for r in runs) + " |")
    lines.append("| (wall s) | " + " | ".join(f"{r.wall_s:.0f}" for r in runs) + " |")
    lines.append("| (CPU s) | " + " | ".join(f"{r.cpu_s:.0f}" for r in runs) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)),
                        help="comma-separated values of LSTM_COURSE_SEED (default: 0,1,2,3)")
    parser.add_argument("--chapters", default=",".join(DEFAULT_CHAPTERS),
                        help="comma-separated chapter numbers or notebook paths (default: 1,2,4,6)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="notebooks executed in parallel (default: 1)")
    parser.add_argument("--timeout", type=int, default=1800,
                        help="seconds allowed per cell (default: 1800)")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the executed notebooks in DIR (default: a deleted temp dir)")
    args = parser.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds takes comma-separated integers, got {args.seeds!r}")
    if not seeds or any(s < 0 for s in seeds):
        parser.error("--seeds needs at least one non-negative integer")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    notebooks = resolve_chapters([c.strip() for c in args.chapters.split(",") if c.strip()])

    with tempfile.TemporaryDirectory(prefix="lstm-claims-") as scratch:
        out_dir = Path(args.keep) if args.keep else Path(scratch)
        out_dir.mkdir(parents=True, exist_ok=True)
        jobs = [(nb, seed) for nb in notebooks for seed in seeds]
        print(f"executing {len(jobs)} runs ({len(notebooks)} notebooks x seeds {seeds}), "
              f"{args.jobs} at a time", flush=True)

        def one(job):
            run = execute(*job, out_dir=out_dir, timeout=args.timeout)
            status = "ok" if run.returncode == 0 else f"FAILED rc={run.returncode}"
            print(f"  {run.notebook.name} seed {run.seed}: {status}, {run.wall_s:.0f} s wall, "
                  f"{run.cpu_s:.0f} s CPU, {len(run.glued)} glued values", flush=True)
            return run

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            runs = list(pool.map(one, jobs))

    failed = [r for r in runs if r.returncode != 0]
    for notebook in notebooks:
        print(f"\n## {notebook.relative_to(ROOT) if notebook.is_relative_to(ROOT) else notebook}\n")
        print(table([r for r in runs if r.notebook == notebook]))
    for run in failed:
        print(f"\n{run.notebook.name}, seed {run.seed} failed:\n{run.error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
