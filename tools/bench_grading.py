"""Measure how many submissions per minute ``lstm-course grade`` handles, and plain nbgrader.

    .venv/bin/python tools/bench_grading.py [--assignment 01_rnn_limits] [--students 50] [--jobs 1 2]
                                            [--no-nbgrader]

Builds a class of ``--students`` copies of the assignment's student version (as nbgrader
releases it) filled in with the solution's answers, grades it with ``lstm-course grade`` once
per ``--jobs`` value, then the same submissions with plain ``nbgrader autograde`` (one student
after another, nbgrader's own way: a kernel per notebook, its gradebook), and prints each rate
in submissions per minute and the ratio.  ``--assignment tiny`` uses the test fixture's
course (tests/grading_corpus) with right, partly right and blank answers in turn.  The machine's
load average is printed with each number, since other work on the machine slows grading down.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "grading_corpus"))
import corpus  # noqa: E402
import nbformat  # noqa: E402


def _release(course: Path, assignment: str, tmp: Path) -> nbformat.NotebookNode:
    from lstm_course.config import load_course_config, put_tools_on_path
    from lstm_course.scratch import build_template

    put_tools_on_path()
    template = build_template(load_course_config(course), course / "solutions" / assignment, assignment,
                              tmp / "release-course", 120)
    return nbformat.read(template.root / "release" / assignment / f"{assignment}.ipynb", as_version=4)


def _solved(course: Path, assignment: str, release) -> nbformat.NotebookNode:
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source
               for c in nbformat.read(course / "solutions" / assignment / f"{assignment}.ipynb", as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    solved = nbformat.from_dict(release)
    for cell in solved.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return solved


def _line(label: str, count: int, seconds: float, load_before: float) -> float:
    rate = 60 * count / seconds
    print(f"{label}: {count} submissions in {seconds:.1f} s = {rate:.1f} submissions/minute "
          f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} cores)",
          flush=True)
    return rate


NBGRADER_SCRIPT = r"""
import shutil, sys, time
from pathlib import Path
from lstm_course.config import load_course_config, scratch_config
from lstm_course.scratch import make_api
course, assignment, root, classdir = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
shutil.copytree(course / "solutions" / assignment, root / "source" / assignment)
config = scratch_config(load_course_config(course), root, 120)
api = make_api(config)
assert api.generate_assignment(assignment, force=True, create=True)["success"]
students = sorted(p.name for p in classdir.iterdir())
for student in students:
    target = root / "submitted" / student / assignment
    target.mkdir(parents=True)
    for nb in (classdir / student).glob("*.ipynb"):
        shutil.copy2(nb, target / nb.name)
started = time.monotonic()
for student in students:     # nbgrader autograde, one student at a time
    result = api.autograde(assignment, student, force=True, create=True)
    assert result["success"], result["log"][-2000:]
print(time.monotonic() - started)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="01_rnn_limits")
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-nbgrader", action="store_true", help="skip the plain nbgrader run")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    course = corpus.COURSE if args.assignment == corpus.ASSIGNMENT else ROOT
    release = _release(course, args.assignment, tmp)
    if args.assignment == corpus.ASSIGNMENT:
        notebooks = corpus.notebooks(release)
        kinds = ["perfect", "partial", "blank", "edited_tests"]
        class_nbs = [notebooks[kinds[k % len(kinds)]] for k in range(args.students)]
    else:
        class_nbs = [_solved(course, args.assignment, release)] * args.students
    for k, nb in enumerate(class_nbs):
        folder = tmp / "class" / f"student{k:03d}"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{args.assignment}.ipynb")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    rates = {}
    for jobs in args.jobs:
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "lstm_course", "grade", args.assignment,
                               str(tmp / "class"), "--out", str(tmp / f"out-{jobs}"),
                               "--course-root", str(course), "--jobs", str(jobs)],
                              env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
            return 1
        summary = [line for line in done.stdout.splitlines() if line.startswith(("mean score", "statuses"))]
        rates[jobs] = _line(f"lstm-course grade --jobs {jobs}", args.students, seconds, load_before)
        print("   ", "; ".join(summary), flush=True)
    if not args.no_nbgrader:
        load_before = os.getloadavg()[0]
        done = subprocess.run([sys.executable, "-c", NBGRADER_SCRIPT, str(course), args.assignment,
                               str(tmp / "nbgrader-course"), str(tmp / "class")],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-3000:], file=sys.stderr)
            return 1
        seconds = float(done.stdout.strip().splitlines()[-1])
        plain = _line("plain nbgrader autograde (one student at a time)", args.students, seconds, load_before)
        for jobs, rate in rates.items():
            print(f"lstm-course grade --jobs {jobs} / nbgrader autograde = {rate / plain:.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
