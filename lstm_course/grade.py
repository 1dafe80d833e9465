"""``lstm-course grade``: grade a class's submissions with nbgrader, in scratch courses.

The repository's own gradebook and folders are never written: a template scratch course is
generated from ``solutions/<assignment>`` once, each student is graded in a copy of it in a
child process (``--jobs`` at a time), and the results are merged into ``OUT/``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from lstm_course import gradebook, report
from lstm_course.config import (UsageError, cell_timeout, load_course_config, put_tools_on_path,
                                    require_assignment)
from lstm_course.grade_one import RESULT_FILE, run_child
from lstm_course.parallel import Job, run_jobs
from lstm_course.scratch import build_template
from lstm_course.submissions import collect


def _deadline(template) -> float:
    """Generous wall-clock limit for one student: every code cell may time out once."""
    return template.timeout * (template.code_cells + 2) + 120.0


def _preload() -> None:
    """Import what every child needs once, here: forked children then start warm."""
    import jupyter_client.manager  # noqa: F401
    import nbclient  # noqa: F401
    import nbconvert.exporters.html  # noqa: F401
    import nbgrader.converters  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401
    try:
        import pygments.lexers.python  # noqa: F401
        import pygments.formatters.html  # noqa: F401
    except ImportError:
        pass


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

        def done(job: Job, problem: str | None) -> None:
            sub = job.args[1]
            result_path = Path(job.args[3]) / RESULT_FILE
            if result_path.exists():
                result = json.loads(result_path.read_text())
            else:
                result = {"student": sub.student, "folder": sub.folder,
                          "parts": {p.key: 0.0 for p in template.parts}, "feedback": [],
                          "issues": list(sub.issues) + [("error", problem or "the grading process gave no result")]}
            results[sub.student] = result
            if not quiet:
                issues = [tuple(i) for i in result["issues"]]
                print(f"[{len(results)}/{total}] {sub.student}: "
                      f"{sum(result['parts'].values()):g}/{template.max_score:g} {report.status_of(issues)}",
                      flush=True)

        job_list = [Job(sub.student, (template, sub, str(course_root), str(scratch / "students" / sub.student)),
                        _deadline(template))
                    for sub in collection.submissions]
        _preload()
        run_jobs(run_child, job_list, jobs, done)

        return gradebook.record_run(out, template, collection, list(results.values()), options,
                                    quiet=quiet, seconds=time.monotonic() - started)
    finally:
        if keep_scratch:
            print(f"scratch courses kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
