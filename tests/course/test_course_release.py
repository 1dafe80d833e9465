"""``lstm-course release`` regenerates exercises/ with nbgrader (on a copy of the fixture course)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grading_corpus"))
import corpus  # noqa: E402


def run(*args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "lstm_course", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_release_writes_the_student_version(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(corpus.COURSE, course)
    stale = course / "exercises" / "tiny" / "tiny.ipynb"
    stale.parent.mkdir(parents=True)
    stale.write_text("stale")
    done = run("release", cwd=course)        # the course is found from the working folder
    assert done.returncode == 0, done.stdout + done.stderr
    released = nbformat.read(stale, as_version=4)
    code = "\n".join(c.source for c in released.cells if c.cell_type == "code")
    assert "raise NotImplementedError()" in code
    assert "BEGIN SOLUTION" not in code and "HIDDEN TESTS" not in code and "tiny_ref.sigmoid(x)" in code
    assert (course / "exercises" / "tiny" / "tiny_ref.py").is_file()


def test_release_of_an_unknown_assignment_is_a_usage_error(tmp_path):
    done = run("release", "nope", "--course-root", corpus.COURSE, cwd=tmp_path)
    assert done.returncode == 2 and "unknown assignment 'nope'" in done.stderr
    assert not (corpus.COURSE / "exercises").exists()
