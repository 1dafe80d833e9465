"""``lstm-course grade`` on a class of good, bad and hostile submissions (tests/grading_corpus).

One grading run (a zip of the whole corpus, two students at a time) feeds every test in this
file: every attack of issue 13 (reading solutions or classmates, forged results, points beyond
a part's maximum, test-logic tricks, library patches, resources, persistence after the run)
must earn no unearned point, leave the honest students' grades intact, write nothing outside
the output folder and leave no process alive.
"""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import time
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grading_corpus"))
import corpus  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 12


def lstm_course(*args, cwd=None, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "lstm_course", *map(str, args)], cwd=cwd or REPO,
                          env=env, capture_output=True, text=True, timeout=timeout)


def _snapshot(*folders: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folders`` (what grading must not change)."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grade")
    for marker in corpus.ESCAPE_MARKERS:
        Path(marker).unlink(missing_ok=True)
    release = corpus.release_notebook(tmp)
    folder = corpus.write_folder(tmp / "class", release)
    archive = corpus.write_zip(tmp / "class.zip", folder)
    out = tmp / "out"
    before = _snapshot(folder, corpus.COURSE, REPO / "lstm_ref", REPO / "lstm_course")
    started = time.monotonic()
    done = lstm_course("grade", corpus.ASSIGNMENT, archive, "--out", out, "--course-root", corpus.COURSE,
                       "--timeout", TIMEOUT_S, "--jobs", 2)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    grades_after_run = (out / "grades.csv").read_bytes()
    time.sleep(6)      # the fork-hopping daemon would rewrite grades 4 s after its cell ran
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["folder"]: row for row in csv.DictReader(handle)}
    return {"out": out, "rows": rows, "stdout": done.stdout, "release": release, "before": before,
            "after": _snapshot(folder, corpus.COURSE, REPO / "lstm_ref", REPO / "lstm_course"),
            "grades_after_run": grades_after_run, "folder": folder, "seconds": seconds}


EXPECTED = {**corpus.EXPECTED, **corpus.EXPECTED_ZIP_ONLY}


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_each_submission_gets_its_score_and_status(graded, folder):
    score, status = EXPECTED[folder]
    row = graded["rows"][folder]
    assert float(row["score"]) == score, row
    if status is not None:
        assert row["status"] == status, row
    assert float(row["max_score"]) == 5
    parts = float(row["test_square"]) + float(row["test_sigmoid"]) + float(row["test_relu"])
    assert parts == float(row["score"])
    if row["status"] != "ok":
        assert row["detail"], f"{folder}: status {row['status']} but no detail"


def test_csv_has_the_documented_columns(graded):
    with open(graded["out"] / "grades.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[:6] == ["student", "assignment", "score", "max_score", "status", "detail"]
    assert {"test_square", "test_sigmoid", "test_relu"} <= set(header)


def test_attacks_change_nothing_outside_their_sandbox(graded):
    """No file of the class, the course or the tools changed; nothing escaped to /tmp; the grades
    written at the end of the run are the grades seconds later (no daemon rewrote them)."""
    assert graded["after"] == graded["before"]
    for marker in corpus.ESCAPE_MARKERS:
        assert not Path(marker).exists(), marker
    assert (graded["out"] / "grades.csv").read_bytes() == graded["grades_after_run"]
    rows = graded["rows"]
    # the honest students are graded as if no attacker were in the class
    assert [rows[f]["score"] for f in ("perfect", "partial", "blank")] == ["5", "3", "0"]
    # a part earns its points at most, whatever the notebook's metadata says
    assert rows["attack_points_beyond_max"]["test_square"] == "1"
    # the forbidden reference function is off inside the sandbox during the graded call
    assert rows["tamper_forbid_calls"]["test_sigmoid"] == "0"


def test_limits_stop_what_runs_away(graded):
    rows = graded["rows"]
    assert "time" in rows["attack_ignore_alarm"]["detail"]
    assert "cells, more than the" in rows["attack_100k_cells"]["detail"]
    # one class of 40 with an endless loop, a timer-proof loop, a fork bomb and 100k cells
    assert graded["seconds"] < 600


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


def _hidden_test_lines(release) -> list[str]:
    """Every line of the hidden tests that is not also in the released (visible) notebook."""
    nb = nbformat.read(corpus.COURSE / "solutions" / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.ipynb",
                       as_version=4)
    visible = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    lines = []
    for cell in nb.cells:
        if "### BEGIN HIDDEN TESTS" in cell.source:
            hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS")[0]
            lines += [line.strip() for line in hidden.splitlines() if line.strip() not in visible | {""}]
    assert len(lines) >= 8
    return lines


def test_feedback_is_small_and_keeps_hidden_tests_hidden(graded):
    import html as html_module

    out = graded["out"]
    hidden = _hidden_test_lines(graded["release"])
    pages = sorted((out / "feedback").rglob("*.html"))
    assert len(pages) > len(graded["rows"])
    for page in pages:
        text = html_module.unescape(page.read_text())
        assert "HIDDEN TESTS" not in text, page
        for line in hidden:
            assert line not in text, (page, line)
        # nothing of the grader: no frame of its test code, its modules or the environment
        for internal in ('"<test ', '"<grader ', "grade_one", "site-packages", "StudentNamespace"):
            assert internal not in text, (page, internal)
    for student in ("perfect", "huge_output"):
        files = list((out / "feedback" / student).iterdir())
        assert any(f.name == "tiny.html" for f in files)
        assert sum(f.stat().st_size for f in files) < 300_000
    # a failed part shows its score and the message of the failed check
    text = html_module.unescape((out / "feedback" / "partial" / "tiny.html").read_text())
    assert "test_sigmoid: 0 / 2" in text and "differs from the reference" in text or \
        "sigmoid(x) = " in text


def test_report_figure_and_summary(graded):
    png = graded["out"] / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "mean score" in graded["stdout"] and "timeout" in graded["stdout"]


def test_no_process_is_left_running(graded):
    psutil = pytest.importorskip("psutil")
    left = [p.pid for p in psutil.process_iter(["cmdline"])
            if corpus.ORPHAN_MARKER in " ".join(p.info["cmdline"] or [])
            or corpus.DAEMON_MARKER in " ".join(p.info["cmdline"] or [])]
    assert left == []
    # nothing runs as a sandbox's user (uids 60000-64999) once grading is over
    if os.getuid() == 0:
        assert [p.pid for p in psutil.process_iter(["uids"]) if 60000 <= p.info["uids"].real < 65000] == []


def test_the_fixture_course_is_left_untouched(graded):
    assert not (corpus.COURSE / ".nbgrader").exists()
    assert not (corpus.COURSE / "exercises").exists()
    assert not (corpus.COURSE / "gradebook.db").exists()


def test_grading_refuses_to_run_without_bubblewrap(tmp_path):
    (tmp_path / "class" / "a").mkdir(parents=True)
    env_done = subprocess.run(
        [sys.executable, "-m", "lstm_course", "grade", "tiny", str(tmp_path / "class"), "--out",
         str(tmp_path / "o"), "--course-root", str(corpus.COURSE)],
        env=dict(os.environ, LSTM_COURSE_BWRAP=str(tmp_path / "no-bwrap")), capture_output=True, text=True)
    assert env_done.returncode == 2
    assert "bubblewrap" in env_done.stderr and "ensure_bubblewrap.sh" in env_done.stderr
    assert not (tmp_path / "o").exists()


def test_usage_errors_exit_2_without_grading(tmp_path):
    done = lstm_course("grade", "no_such_assignment", tmp_path, "--out", tmp_path / "o",
                       "--course-root", corpus.COURSE)
    assert done.returncode == 2 and "unknown assignment 'no_such_assignment'" in done.stderr
    assert "tiny" in done.stderr
    done = lstm_course("grade", "tiny", tmp_path / "missing", "--out", tmp_path / "o",
                       "--course-root", corpus.COURSE)
    assert done.returncode == 2 and "does not exist" in done.stderr
    assert not (tmp_path / "o").exists()


REAL_SOLUTION = REPO / "solutions" / "01_rnn_limits" / "01_rnn_limits.ipynb"
REAL_EXERCISE = REPO / "exercises" / "01_rnn_limits" / "01_rnn_limits.ipynb"


@pytest.mark.skipif(not (REAL_SOLUTION.exists() and REAL_EXERCISE.exists()),
                    reason="solutions/01_rnn_limits and exercises/01_rnn_limits are not written yet")
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
        nbformat.write(nb, submissions / student / "01_rnn_limits.ipynb")
    done = lstm_course("grade", "01_rnn_limits", submissions, "--out", tmp_path / "out", "--jobs", 2)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(tmp_path / "out" / "grades.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert rows["solution"]["status"] == "ok", rows["solution"]
    assert float(rows["solution"]["score"]) == float(rows["solution"]["max_score"]) > 0
    assert float(rows["untouched"]["score"]) == 0
