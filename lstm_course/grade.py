"""``lstm-course grade``: grade a class's submissions, each in its own sandbox.

nbgrader generates the student version from ``solutions/<assignment>`` once, in a scratch
course (the repository's own gradebook and folders are never written).  ``--jobs`` pre-warmed
workers then grade one submission after another: the student's code runs in a bubblewrap
sandbox (:mod:`.sandbox`), the tests run in the worker (:mod:`.grade_one`), and the results
are merged into ``OUT/``'s gradebook.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from lstm_course import gradebook, report
from lstm_course.config import (UsageError, cell_timeout, load_course_config, put_tools_on_path,
                                    require_assignment)
from lstm_course import sandbox
from lstm_course.grade_one import grade_student
from lstm_course.parallel import Job, run_jobs
from lstm_course.scratch import build_template
from lstm_course.submissions import collect


def _deadline(template) -> float:
    """Wall-clock limit for one student: every notebook's budget, plus start-up and feedback."""
    return template.budget_s * 2 * max(1, len(template.notebooks)) + 30.0


def _preload(template) -> None:
    """Run the assignment's read-only set-up cells once here (imports of NumPy, PyTorch, the
    course's package, the assignment's helper modules): the forked workers then start warm.

    The helper modules beside the source notebook are imported from the template's trusted
    copy; a set-up cell that fails here is the assignment's fault, reported before grading.
    """
    import sys
    sys.path.insert(0, str(template.root / "trusted"))
    for name, cells in template.source_cells.items():
        namespace = {"__name__": "__preload__"}
        for cell in cells:
            if cell["kind"] == "provided":
                try:
                    exec(compile(cell["source"], "<preload>", "exec"), namespace)
                except Exception as error:
                    raise RuntimeError(f"{name}.ipynb: the read-only cell {cell['grade_id']} fails in the "
                                       f"grader ({type(error).__name__}: {error})") from None


def _grade_job(template, sub, workdir: str) -> dict:
    return grade_student(template, sub, Path(workdir))


def grade(course_root: Path, assignment: str, submissions: Path, out: Path, *, timeout: int | None = None,
          jobs: int = 1, keep_scratch: bool = False, quiet: bool = False,
          options: gradebook.RunOptions | None = None) -> list[dict]:
    """Grade the students in ``submissions`` (``options``: which, deadline) into the gradebook
    in ``out``; returns the ``grades.csv`` rows of the students graded."""
    started = time.monotonic()
    source = require_assignment(course_root, assignment)
    submissions = Path(submissions)
    if not submissions.exists():
        raise UsageError(f"SUBMISSIONS {submissions} does not exist")
    if timeout is not None and timeout < 1:
        raise UsageError(f"--timeout must be at least 1 second, got {timeout}")
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    put_tools_on_path()
    try:
        sandbox.require_bwrap()
    except sandbox.SandboxUnavailable as error:
        raise UsageError(str(error)) from None
    course_config = load_course_config(course_root)
    timeout = int(timeout) if timeout is not None else cell_timeout(course_config)

    scratch = Path(tempfile.mkdtemp(prefix=f"lstm-course-grade-{assignment}-"))
    try:
        try:
            collection = collect(submissions, scratch, notebooks=gradebook.notebook_names(source))
        except ValueError as error:
            raise UsageError(str(error)) from None
        collection = gradebook.select(collection, out, assignment, source, options)
        template = build_template(course_config, source, assignment, scratch / "template", timeout)
        out.mkdir(parents=True, exist_ok=True)
        (out / "feedback").mkdir(exist_ok=True)

        results: dict[str, dict] = {}
        total = len(collection.submissions)

        def done(job: Job, result: dict | None, problem: str | None) -> None:
            sub = job.args[1]
            if result is None:
                result = {"student": sub.student, "folder": sub.folder,
                          "parts": {p.key: 0.0 for p in template.parts}, "feedback": [],
                          "issues": list(sub.issues) + [("error", problem or "the grading process gave no result")]}
            results[sub.student] = result
            if not quiet:
                issues = [tuple(i) for i in result["issues"]]
                print(f"[{len(results)}/{total}] {sub.student}: "
                      f"{sum(result['parts'].values()):g}/{template.max_score:g} {report.status_of(issues)}",
                      flush=True)

        job_list = [Job(sub.student, (template, sub, str(scratch / "students" / sub.student)),
                        _deadline(template))
                    for sub in collection.submissions]
        _preload(template)
        run_jobs(_grade_job, job_list, jobs, done)

        return gradebook.record_run(out, template, collection, list(results.values()), options,
                                    quiet=quiet, seconds=time.monotonic() - started)
    finally:
        if keep_scratch:
            print(f"scratch courses kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
