"""``lstm-course check``: the learner's self-check runs the visible tests and says what passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grading_corpus"))
import corpus  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


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


LEARNER_ERRORS = {
    # a syntax error: the learner's own line, not the test cell's NameError
    "square_answer": "def square(x):\n    y = np.asarray(x, dtype=np.float64)\n    return y *** 2",
    # a shape error inside the learner's function: the operands' shapes and the line
    "sigmoid_answer": ("def sigmoid(x):\n    w = np.ones((2, 3))\n"
                       "    return 1.0 / (1.0 + np.exp(-(x @ w)))"),
    # a loop that never ends: stopped by the time limit, reported with the limit and the line
    "relu_answer": "def relu(t):\n    while True:\n        pass",
}


def test_errors_point_at_the_learners_line(exercise):
    release = nbformat.read(exercise / "blank.ipynb", as_version=4)
    nb = corpus._answers(release, LEARNER_ERRORS)
    nbformat.write(nb, exercise / "errors.ipynb")
    done = check(exercise / "errors.ipynb", "--timeout", "30")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    lines = out.splitlines()
    error = [line for line in lines if line.startswith("ERROR in your answer cell square_answer")]
    assert len(error) == 1 and "SyntaxError" in error[0] and "line 3" in error[0] \
        and "`return y *** 2`" in error[0], out
    square = next(line for line in lines if line.startswith("FAIL  test_square"))
    assert "NameError" not in square and "your answer cell square_answer raised an error" in square
    sigmoid = next(line for line in lines if line.startswith("FAIL  test_sigmoid"))
    assert "line 3 of sigmoid" in sigmoid and "`x @ w` multiplies shapes (7,) and (2, 3)" in sigmoid \
        and "(7)" in sigmoid and "(2)" in sigmoid, sigmoid
    assert "your answer cell sigmoid_answer, line 3" in sigmoid, sigmoid
    relu = next(line for line in lines if line.startswith("FAIL  test_relu"))
    assert "interrupted after " in relu and "(limit 30 s)" in relu, relu
    seconds = int(relu.split("interrupted after ")[1].split()[0])
    assert 30 <= seconds < 90, relu
    assert "your answer cell relu_answer, line" in relu and "KeyboardInterrupt" not in relu, relu
    # no message with an empty field
    for line in lines:
        assert "length -" not in line and "``" not in line and not line.rstrip().endswith(":"), line


def test_describe_never_leaves_a_field_empty():
    from lstm_course.check import _describe

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("assert x > 1")])
    nb.cells[0].execution_count = 1
    error = {"output_type": "error", "ename": "AssertionError", "evalue": "",
             "traceback": ["Cell In[1], line 1\n----> 1 assert x > 1"]}
    text = _describe(nb, 0, error, {1: 0}, 120)
    assert text == "AssertionError at cell #0, line 1: `assert x > 1`", text
