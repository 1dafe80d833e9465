"""``lstm-course grade`` on a class of good and bad submissions (tests/grading_corpus).

One grading run (a zip of the whole corpus, two students at a time) feeds every test in this
file; each bad submission must get no unearned points, a status saying what happened, and
leave everyone else's grade intact.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "grading_corpus"))
import corpus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 12


def lstm_course(*args, cwd=None, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "lstm_course", *map(str, args)], cwd=cwd or REPO,
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grade")
    release = corpus.release_notebook(tmp)
    folder = corpus.write_folder(tmp / "class", release)
    archive = corpus.write_zip(tmp / "class.zip", folder)
    out = tmp / "out"
    done = lstm_course("grade", corpus.ASSIGNMENT, archive, "--out", out, "--course-root", corpus.COURSE,
                       "--timeout", TIMEOUT_S, "--jobs", 2)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["folder"]: row for row in csv.DictReader(handle)}
    return {"out": out, "rows": rows, "stdout": done.stdout, "release": release}


EXPECTED = {**corpus.EXPECTED, **corpus.EXPECTED_ZIP_ONLY}


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_each_submission_gets_its_score_and_status(graded, folder):
    score, status = EXPECTED[folder]
    row = graded["rows"][folder]
    assert (float(row["score"]), row["status"]) == (score, status), row
    assert float(row["max_score"]) == 5
    parts = float(row["test_square"]) + float(row["test_sigmoid"]) + float(row["test_relu"])
    assert parts == float(row["score"])
    if status != "ok":
        assert row["detail"], f"{folder}: status {status} but no detail"


def test_csv_has_the_documented_columns(graded):
    with open(graded["out"] / "grades.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[:6] == ["student", "assignment", "score", "max_score", "status", "detail"]
    assert {"test_square", "test_sigmoid", "test_relu"} <= set(header)


def test_tampering_is_named_and_earns_nothing(graded):
    rows = graded["rows"]
    assert "numpy.testing.assert_allclose" in rows["tamper_assert_allclose"]["detail"]
    assert "numpy.allclose" in rows["tamper_np_allclose"]["detail"]
    assert "torch.allclose" in rows["tamper_torch_allclose"]["detail"]
    assert "lstm_ref.grading.forbid_calls" in rows["tamper_forbid_calls"]["detail"]
    assert "custom exception handler" in rows["tamper_traceback"]["detail"]
    assert "tiny_ref.sigmoid" in rows["tamper_reference"]["detail"]
    assert "the name 'np' set by a read-only cell" in rows["tamper_namespace"]["detail"]
    # parts graded before the tampering keep their points
    assert rows["tamper_np_allclose"]["test_square"] == "1"
    assert rows["tamper_torch_allclose"]["test_sigmoid"] == "2"


def test_unsafe_names_and_hidden_folders(graded):
    rows = graded["rows"]
    jane = rows["Jane Doe; rm -rf ~"]
    assert jane["student"] == corpus.SANITISED["Jane Doe; rm -rf ~"]
    assert "'tiny (1).ipynb' graded as 'tiny.ipynb'" in jane["detail"]
    assert rows[".git"]["status"] == "rejected"
    students = [row["student"] for row in rows.values()]
    assert len(students) == len(set(students))
    for student in students:
        assert (graded["out"] / "feedback" / student / "index.html").is_file()
    assert sorted(p.name for p in (graded["out"] / "feedback").iterdir()) == sorted(students)


def test_zip_entries_outside_the_folder_are_refused(graded):
    warnings = (graded["out"] / "warnings.txt").read_text()
    assert "'../evil.txt' refused" in warnings
    assert "'/tmp/lstm_course_absolute_evil.txt' refused" in warnings
    assert "submissions/../../evil2.txt" in warnings
    assert not Path("/tmp/lstm_course_absolute_evil.txt").exists()
    assert "symbolic link" in graded["rows"]["linker"]["detail"]


def test_feedback_is_small_and_keeps_hidden_tests_hidden(graded):
    out = graded["out"]
    for student in ("perfect", "huge_output"):
        files = list((out / "feedback" / student).iterdir())
        assert any(f.name == "tiny.html" for f in files)
        assert sum(f.stat().st_size for f in files) < 2_000_000
    html = (out / "feedback" / "perfect" / "tiny.html").read_text()
    assert "HIDDEN TESTS" not in html and "_lstm_course_guard" not in html
    assert "lstm-course grader setup" not in html
    # the tampered part shows the score the CSV gives, not nbgrader's
    html = (out / "feedback" / "tamper_torch_allclose" / "tiny.html").read_text()
    assert "3.0 / 5.0" in html


def test_report_figure_and_summary(graded):
    png = graded["out"] / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "mean score" in graded["stdout"] and "tampered" in graded["stdout"]


def test_no_process_is_left_running(graded):
    psutil = pytest.importorskip("psutil")
    left = [p.pid for p in psutil.process_iter(["cmdline"])
            if corpus.ORPHAN_MARKER in " ".join(p.info["cmdline"] or [])]
    assert left == []


def test_the_fixture_course_is_left_untouched(graded):
    assert not (corpus.COURSE / ".nbgrader").exists()
    assert not (corpus.COURSE / "exercises").exists()
    assert not (corpus.COURSE / "gradebook.db").exists()


def test_usage_errors_exit_2_without_grading(tmp_path):
    done = lstm_course("grade", "no_such_assignment", tmp_path, "--out", tmp_path / "o",
                       "--course-root", corpus.COURSE)
    assert done.returncode == 2 and "unknown assignment 'no_such_assignment'" in done.stderr
    assert "tiny" in done.stderr
    done = lstm_course("grade", "tiny", tmp_path / "missing", "--out", tmp_path / "o",
                       "--course-root", corpus.COURSE)
    assert done.returncode == 2 and "does not exist" in done.stderr
    assert not (tmp_path / "o").exists()


REAL_SOLUTION = REPO / "solutions" / "01_rnn" / "01_rnn.ipynb"
REAL_EXERCISE = REPO / "exercises" / "01_rnn" / "01_rnn.ipynb"


@pytest.mark.skipif(not (REAL_SOLUTION.exists() and REAL_EXERCISE.exists()),
                    reason="solutions/01_rnn and exercises/01_rnn are not written yet")
def test_grade_a_real_assignment(tmp_path):
    """The exercise with the solution's answers earns every point, the exercise as released none."""
    exercise = nbformat.read(REAL_EXERCISE, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source
               for c in nbformat.read(REAL_SOLUTION, as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    solved = nbformat.from_dict(exercise)
    for cell in solved.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    submissions = tmp_path / "class"
    for student, nb in (("solution", solved), ("untouched", exercise)):
        (submissions / student).mkdir(parents=True)
        nbformat.write(nb, submissions / student / "01_rnn.ipynb")
    done = lstm_course("grade", "01_rnn", submissions, "--out", tmp_path / "out", "--jobs", 2)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(tmp_path / "out" / "grades.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert rows["solution"]["status"] == "ok", rows["solution"]
    assert float(rows["solution"]["score"]) == float(rows["solution"]["max_score"]) > 0
    assert float(rows["untouched"]["score"]) == 0
