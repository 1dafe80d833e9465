"""Measure how many submissions per minute ``lstm-course grade`` handles.

    .venv/bin/python tools/bench_grading.py [--students 50] [--jobs 1 2]

Builds a class of ``--students`` ordinary submissions of the fixture assignment
(tests/grading_corpus: right, partly right and blank answers in turn), grades it once per
``--jobs`` value and prints submissions per minute.  The machine's load average is printed
with each number, since other work on the machine slows grading down.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "grading_corpus"))
import corpus  # noqa: E402
import nbformat  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    notebooks = corpus.notebooks(corpus.release_notebook(tmp))
    kinds = ["perfect", "partial", "blank", "edited_tests"]
    for k in range(args.students):
        folder = tmp / "class" / f"student{k:03d}"
        folder.mkdir(parents=True)
        nbformat.write(notebooks[kinds[k % len(kinds)]], folder / "tiny.ipynb")
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    for jobs in args.jobs:
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "lstm_course", "grade", corpus.ASSIGNMENT,
                               str(tmp / "class"), "--out", str(tmp / f"out-{jobs}"),
                               "--course-root", str(corpus.COURSE), "--jobs", str(jobs)],
                              env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
            return 1
        print(f"--jobs {jobs}: {args.students} submissions in {seconds:.1f} s = "
              f"{60 * args.students / seconds:.1f} submissions/minute "
              f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} cores)",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
