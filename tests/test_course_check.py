"""``lstm-course check``: the learner's self-check runs the visible tests and says what passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "grading_corpus"))
import corpus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def check(notebook: Path, *extra):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "lstm_course", "check", str(notebook), *extra],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def exercise(tmp_path_factory):
    """A learner's copy of the fixture exercise: the released notebook and its data file."""
    tmp = tmp_path_factory.mktemp("check")
    release = corpus.release_notebook(tmp)
    folder = tmp / "exercise"
    folder.mkdir()
    (folder / "tiny_ref.py").write_text((corpus.COURSE / "solutions" / "tiny" / "tiny_ref.py").read_text())
    notebooks = corpus.notebooks(release)
    for name in ("perfect", "partial", "blank"):
        nbformat.write(notebooks[name], folder / f"{name}.ipynb")
    (folder / "broken.ipynb").write_text(notebooks["corrupt_json"])
    return folder


def test_all_parts_pass(exercise):
    done = check(exercise / "perfect.ipynb")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split()[1] for line in done.stdout.splitlines() if line.startswith("PASS")] == \
        ["test_square", "test_sigmoid", "test_relu"]
    assert "3/3 graded parts pass" in done.stdout
    # nothing alarming the learner cannot act on (issue 11): the kernel talks over local
    # sockets, its own log goes to a file
    assert "without encryption" not in done.stdout + done.stderr
    assert done.stderr.strip() == "", done.stderr


def test_a_wrong_answer_fails_with_its_message(exercise):
    done = check(exercise / "partial.ipynb")
    assert done.returncode == 1
    fail = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(fail) == 1 and "test_sigmoid" in fail[0] and "AssertionError" in fail[0]
    assert "3/5 points" in done.stdout


def test_blank_answers_are_reported_as_not_answered(exercise):
    done = check(exercise / "blank.ipynb")
    assert done.returncode == 1
    assert done.stdout.count("not answered yet") == 3


def test_bad_input(exercise, tmp_path):
    done = check(exercise / "broken.ipynb")
    assert done.returncode == 1 and "not a valid notebook" in done.stdout
    done = check(tmp_path / "nope.ipynb")
    assert done.returncode == 2 and "no notebook at" in done.stderr
    plain = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), plain)
    done = check(plain)
    assert done.returncode == 2 and "no graded test cells" in done.stderr
