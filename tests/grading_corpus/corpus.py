"""Build a class of submissions for the fixture assignment ``tiny``, good and bad.

Every submission is made from the student version that nbgrader releases, with answers filled
in (right or wrong) and one thing done to it.  ``EXPECTED`` says what grading must give each
folder: the score (out of 5: square 1, sigmoid 2, relu 2) and the status.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import zipfile
from pathlib import Path

import nbformat

COURSE = Path(__file__).resolve().parent / "course"
ASSIGNMENT = "tiny"

RIGHT = {
    "square_answer": "def square(x):\n    return np.asarray(x, dtype=np.float64) ** 2",
    "sigmoid_answer": "def sigmoid(x):\n    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))",
    "relu_answer": "def relu(t):\n    return torch.where(t > 0, t, torch.zeros_like(t))",
}
WRONG = {
    "square_answer": "def square(x):\n    return np.asarray(x, dtype=np.float64) * 2",
    "sigmoid_answer": "def sigmoid(x):\n    return np.tanh(np.asarray(x, dtype=np.float64))",
    "relu_answer": "def relu(t):\n    return t.abs()",
}

# folder -> (score, status)
EXPECTED = {
    "perfect": (5, "ok"),
    "blank": (0, "ok"),
    "partial": (3, "ok"),
    "corrupt_json": (0, "invalid_notebook"),
    "missing_notebook": (0, "missing_notebook"),
    "edited_tests": (3, "restored"),
    "deleted_tests": (3, "tests_deleted"),
    "infinite_loop": (4, "timeout"),
    "os_exit": (3, "kernel_died"),
    "kill_9": (1, "kernel_died"),
    "huge_output": (5, "output_truncated"),
    "tamper_assert_allclose": (0, "tampered"),
    "tamper_np_allclose": (1, "tampered"),
    "tamper_torch_allclose": (3, "tampered"),
    "tamper_forbid_calls": (1, "tampered"),
    "tamper_traceback": (3, "tampered"),
    "tamper_reference": (1, "tampered"),
    "tamper_namespace": (1, "tampered"),
    "Jane Doe; rm -rf ~": (5, "renamed"),
}
# only in the zip: a folder whose notebook is a symbolic link (refused, so nothing to grade)
EXPECTED_ZIP_ONLY = {"linker": (0, "missing_notebook")}
# the id "Jane Doe; rm -rf ~" is graded under
SANITISED = {"Jane Doe; rm -rf ~": "Jane_Doe_rm_-rf"}


ORPHAN_MARKER = "lstm-course-orphan-marker"
LEFT_BEHIND = ("import subprocess, sys\n"
               "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', "
               f"'{ORPHAN_MARKER}'], start_new_session=True)")


def _answers(nb, answers: dict[str, str]):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def notebooks(release: nbformat.NotebookNode) -> dict[str, object]:
    """Folder name -> notebook (or raw text for a file that is not a notebook, None for none)."""
    right = _answers(release, RIGHT)
    out: dict[str, object] = {
        "perfect": right,
        "blank": release,
        "partial": _answers(release, {**RIGHT, "sigmoid_answer": WRONG["sigmoid_answer"]}),
        "corrupt_json": nbformat.writes(right)[:-200] + "}}",
        "missing_notebook": None,
        "Jane Doe; rm -rf ~": right,
    }
    # edited tests: the sigmoid test is replaced by `pass` and sigmoid is wrong; nbgrader
    # restores the test, so sigmoid earns nothing
    nb = _answers(release, {**RIGHT, "sigmoid_answer": WRONG["sigmoid_answer"]})
    _cell(nb, "test_sigmoid").source = "pass"
    _cell(nb, "test_square").source = "# I edited this\n" + _cell(nb, "test_square").source
    out["edited_tests"] = nb
    # deleted tests: right answers, but the sigmoid test cell is gone
    nb = copy.deepcopy(right)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_sigmoid"]
    out["deleted_tests"] = nb
    # an infinite loop in the square answer: that cell is interrupted, the rest is graded
    # (it sleeps rather than spins, to spare the test machine's cores; the interrupt is the same)
    out["infinite_loop"] = _answers(release, {**RIGHT, "square_answer": "import time\nwhile True:\n    time.sleep(0.05)"})
    # kernel exits during the last answer: square and sigmoid were already tested
    out["os_exit"] = _answers(release, {**RIGHT, "relu_answer": "import os\nos._exit(1)"})
    out["kill_9"] = _answers(release, {**RIGHT, "sigmoid_answer": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"})
    # 100 MB of output, and a process left running after the notebook ends
    out["huge_output"] = _answers(release, {**RIGHT, "square_answer": RIGHT["square_answer"]
                                            + "\nprint('x' * 100_000_000)\n" + LEFT_BEHIND})
    # tampering: wrong answers that would pass if the tests' tools were replaced
    out["tamper_assert_allclose"] = _answers(release, {
        **RIGHT, "square_answer": WRONG["square_answer"]
        + "\nnp.testing.assert_allclose = lambda *args, **kwargs: None"})
    out["tamper_np_allclose"] = _answers(release, {
        **RIGHT, "sigmoid_answer": WRONG["sigmoid_answer"] + "\nnp.allclose = lambda *args, **kwargs: True"})
    out["tamper_torch_allclose"] = _answers(release, {
        **RIGHT, "relu_answer": WRONG["relu_answer"] + "\ntorch.allclose = lambda *args, **kwargs: True"})
    out["tamper_forbid_calls"] = _answers(release, {
        **RIGHT, "sigmoid_answer": (
            "import contextlib, lstm_ref.grading\n"
            "lstm_ref.grading.forbid_calls = lambda *functions: contextlib.nullcontext()\n"
            "def sigmoid(x):\n    return tiny_ref.sigmoid(x)")})
    # the reference the test computes its expected values with, replaced by the wrong answer
    out["tamper_reference"] = _answers(release, {
        **RIGHT, "sigmoid_answer": WRONG["sigmoid_answer"] + "\ntiny_ref.sigmoid = sigmoid"})
    # numpy itself untouched, but the notebook's `np` rebound to a copy that always agrees
    out["tamper_namespace"] = _answers(release, {
        **RIGHT, "sigmoid_answer": WRONG["sigmoid_answer"] + (
            "\nimport types, numpy\n"
            "np = types.SimpleNamespace(**{k: getattr(numpy, k) for k in dir(numpy) if not k.startswith('__')})\n"
            "np.allclose = lambda *args, **kwargs: True")})
    out["tamper_traceback"] = _answers(release, {
        **RIGHT, "relu_answer": WRONG["relu_answer"] + (
            "\nimport builtins\n"
            "get_ipython().set_custom_exc((AssertionError,), lambda *args, **kwargs: None)\n"
            "builtins.AssertionError = type('AssertionError', (Exception,), {})")})
    return out


def write_folder(dest: Path, release: nbformat.NotebookNode) -> Path:
    """``dest/<student>/tiny.ipynb`` for every student, plus a hidden ``.git`` folder."""
    dest.mkdir(parents=True, exist_ok=True)
    for folder, content in notebooks(release).items():
        student = dest / folder
        student.mkdir()
        # Jane also renamed her notebook, as students do
        name = "tiny (1).ipynb" if folder.startswith("Jane") else "tiny.ipynb"
        if content is None:
            (student / "README.txt").write_text("I forgot to attach my notebook.\n")
        elif isinstance(content, str):
            (student / name).write_text(content)
        else:
            nbformat.write(content, student / name)
    (dest / ".git").mkdir()
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return dest


def write_zip(archive: Path, folder: Path, *, evil: bool = True) -> Path:
    """Zip ``folder`` under a wrapping ``submissions/`` folder, plus entries that try to escape."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, "submissions/" + path.relative_to(folder).as_posix())
        if evil:
            zf.writestr("../evil.txt", "climbs out")
            zf.writestr("submissions/../../evil2.txt", "climbs out further")
            zf.writestr("/tmp/lstm_course_absolute_evil.txt", "absolute")
            link = zipfile.ZipInfo("submissions/linker/tiny.ipynb")
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(link, "/etc/passwd")
    return archive


def release_notebook(tmp: Path) -> nbformat.NotebookNode:
    """The student version of ``tiny`` as nbgrader releases it (generated in a scratch course)."""
    from lstm_course.config import load_course_config, put_tools_on_path
    from lstm_course.scratch import build_template

    put_tools_on_path()
    template = build_template(load_course_config(COURSE), COURSE / "solutions" / ASSIGNMENT,
                              ASSIGNMENT, tmp / "release-course", 30)
    return nbformat.read(template.root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


if __name__ == "__main__":   # python tests/grading_corpus/corpus.py DEST: write the corpus there
    import sys
    import tempfile

    target = Path(sys.argv[1])
    write_folder(target, release_notebook(Path(tempfile.mkdtemp())))
    print(json.dumps({k: list(v) for k, v in EXPECTED.items()}, indent=1))
    print(f"corpus written to {target}", file=sys.stderr)
