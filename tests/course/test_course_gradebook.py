"""The gradebook in ``--out``: regrades that lose nothing, shards, deadlines, LMS exports.

Fast tests on synthetic per-student results (no kernel); one end-to-end test grades the tiny
fixture course twice into one OUT (everyone, then one student).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_course import deadlines, export, gradebook
from lstm_course.config import UsageError
from lstm_course.scratch import Part
from lstm_course.submissions import Collection, Submission

REPO = Path(__file__).resolve().parents[2]
NOWHERE = Path(__file__).resolve().parent / "no-such-folder"   # a submission with no files
PARTS = [Part("hw", "test_a", 1.0), Part("hw", "test_b", 2.0)]


@pytest.fixture(autouse=True)
def no_figure(monkeypatch, request):
    """The figure is drawn by matplotlib (seconds per run): left out of the fast tests."""
    if "twice" not in request.node.name:
        monkeypatch.setattr(gradebook.report, "write_figure", lambda path, *args: Path(path).write_bytes(b""))


class FakeTemplate:
    assignment = "hw"
    parts = PARTS
    notebooks = ["hw"]
    release_cells: dict = {"hw": {}}


def result(student, a, b, issues=(), feedback=()):
    return {"student": student, "folder": student, "parts": {"hw:test_a": a, "hw:test_b": b},
            "issues": [list(i) for i in issues], "feedback": list(feedback)}


def subs(*students, submitted_at="2026-03-01T12:00:00+00:00"):
    return Collection([Submission(s, s, NOWHERE, [], sha256=f"sha-{s}", submitted_at=submitted_at,
                                  time_source="file mtime") for s in students], [])


def run(out, results, collection=None, options=None):
    collection = collection or subs(*[r["student"] for r in results])
    return gradebook.record_run(out, FakeTemplate, collection, results, options, quiet=True)


def read_csv(path):
    with open(path, newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def audit_lines(out):
    return [json.loads(line) for line in (out / "audit.log").read_text().splitlines()]


def test_regrading_some_students_keeps_every_other_grade(tmp_path):
    out = tmp_path / "out"
    run(out, [result("alice", 1, 2), result("bob", 0, 0), result("carol", 1, 0)])
    before = read_csv(out / "grades.csv")
    assert set(before) == {"alice", "bob", "carol"}
    rows = run(out, [result("bob", 1, 2)], options=gradebook.RunOptions(students=["bob"]))
    assert [r["student"] for r in rows] == ["bob"]
    after = read_csv(out / "grades.csv")
    assert set(after) == {"alice", "bob", "carol"}
    assert after["bob"]["score"] == "3" and after["alice"] == before["alice"]
    assert after["carol"] == before["carol"]
    book = json.loads((out / "gradebook.json").read_text())
    assert book["assignment"] == "hw" and set(book["students"]) == {"alice", "bob", "carol"}
    bob = book["students"]["bob"]
    assert {"assignment", "parts", "total", "status", "detail", "sha256", "graded_at"} <= set(bob)
    assert bob["total"] == 3 and bob["sha256"] == "sha-bob"
    graded = [e for e in audit_lines(out) if e["event"] == "graded"]
    assert [e["student"] for e in graded] == ["alice", "bob", "carol", "bob"]
    assert graded[-1]["parts"] == {"hw:test_a": 1.0, "hw:test_b": 2.0} and graded[1]["score"] == 0
    assert all({"time", "sha256", "status", "parts"} <= set(e) for e in graded)
    assert [e["mode"] for e in audit_lines(out) if e["event"] == "run"] == ["full", "students"]


def test_stale_feedback_is_removed_and_the_summary_rewritten(tmp_path):
    out = tmp_path / "out"
    old = tmp_path / "old.html"
    old.write_text("<p>old</p>")
    run(out, [result("alice", 0, 0, feedback=[old]), result("bob", 1, 1, feedback=[old])])
    assert (out / "feedback" / "alice" / "old.html").exists()
    new = tmp_path / "grading" / "new.html"
    new.parent.mkdir()
    new.write_text("<p>new</p>")
    run(out, [result("alice", 1, 2, feedback=[new])], options=gradebook.RunOptions(students=["alice"]))
    assert sorted(p.name for p in (out / "feedback" / "alice").iterdir()) == ["index.html", "new.html"]
    assert "3 / 3" in (out / "feedback" / "alice" / "index.html").read_text()
    assert (out / "feedback" / "bob" / "old.html").exists()      # not regraded: untouched


def test_a_student_missing_from_a_full_run_is_kept_and_marked_absent(tmp_path):
    out = tmp_path / "out"
    run(out, [result("alice", 1, 2), result("bob", 1, 1)])
    run(out, [result("alice", 1, 2)])
    rows = read_csv(out / "grades.csv")
    assert rows["bob"]["status"] == "absent" and rows["bob"]["score"] == "2"
    assert "not among the submissions" in rows["bob"]["detail"]
    assert (out / "feedback" / "bob" / "index.html").exists()
    assert [e["student"] for e in audit_lines(out) if e["event"] == "absent"] == ["bob"]
    run(out, [result("alice", 1, 2), result("bob", 0, 0)])      # back again: graded afresh
    assert read_csv(out / "grades.csv")["bob"]["status"] == "ok"


def test_points_are_capped_at_each_part(tmp_path):
    out = tmp_path / "out"
    run(out, [result("mallory", 100, 12)])
    row = read_csv(out / "grades.csv")["mallory"]
    assert (row["test_a"], row["test_b"], row["score"]) == ("1", "2", "3")


def test_another_assignment_or_other_points_are_refused(tmp_path):
    out = tmp_path / "out"
    run(out, [result("alice", 1, 2)])
    with pytest.raises(UsageError, match="holds grades of assignment 'hw', not 'other'"):
        gradebook.check_compatible(out, "other", None)
    changed = gradebook.parts_json([Part("hw", "test_a", 1.0), Part("hw", "test_b", 5.0)])
    with pytest.raises(UsageError, match="other parts or points"):
        gradebook.check_compatible(out, "hw", changed)
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "grades.csv").write_text("student,assignment\nalice,hw\n")
    with pytest.raises(UsageError, match="no gradebook.json"):
        gradebook.check_compatible(legacy, "hw", None)


def test_select_refuses_unknown_students_and_empty_classes(tmp_path):
    collection = Collection([Submission("Jose_Nunez", "José Núñez", tmp_path), Submission("bob", "bob", tmp_path)], [])
    chosen = gradebook.select(collection, tmp_path / "o", "hw", None, gradebook.RunOptions(students=["José Núñez"]))
    assert [s.student for s in chosen.submissions] == ["Jose_Nunez"]
    collection = Collection([Submission("bob", "bob", tmp_path)], [])
    with pytest.raises(UsageError, match="no submission for 'eve'"):
        gradebook.select(collection, tmp_path / "o", "hw", None, gradebook.RunOptions(students=["eve"]))
    empty = Collection([Submission(".git", ".git", None, [("rejected", "hidden")])], ["'x.ipynb' is a file"])
    with pytest.raises(UsageError, match="no student folder found"):
        gradebook.select(empty, tmp_path / "o", "hw", None, None)
    assert not (tmp_path / "o").exists()


def test_the_cli_exits_non_zero_when_no_student_is_found(tmp_path):
    sys.path.insert(0, str(REPO / "tests" / "grading_corpus"))
    import corpus

    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "tiny.ipynb").write_text("{}")
    done = subprocess.run([sys.executable, "-m", "lstm_course", "grade", "tiny", tmp_path / "class", "--out",
                           tmp_path / "o", "--course-root", corpus.COURSE], capture_output=True, text=True,
                          cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=300)
    assert done.returncode == 2 and "no student folder found" in done.stderr, done.stderr


@pytest.mark.parametrize("shards", [1, 3])
def test_shards_merged_equal_one_unsharded_run(tmp_path, shards):
    students = [f"s{i:02d}" for i in range(23)] + ["Jose_Nunez"]
    results = {s: result(s, i % 2, i % 3, issues=[("timeout", "slow")] if i % 5 == 0 else ())
               for i, s in enumerate(students)}
    policy = deadlines.Deadline(deadlines.parse_time("2026-03-01T00:00:00Z", "d"), deadlines.LatePolicy(10, 50))
    whole = tmp_path / "whole"
    run(whole, list(results.values()), subs(*students), gradebook.RunOptions(deadline=policy))
    outs = []
    for k in range(shards):
        options = gradebook.RunOptions(shard=(k, shards), deadline=policy)
        chosen = gradebook.select(subs(*students), tmp_path / f"shard{k}", "hw", None, options)
        outs.append(tmp_path / f"shard{k}")
        run(outs[-1], [results[s.student] for s in chosen.submissions], chosen, options)
    sizes = [len(json.loads((o / "gradebook.json").read_text())["students"]) for o in outs]
    assert sum(sizes) == len(students) and (shards == 1 or max(sizes) < len(students))
    gradebook.merge(outs, tmp_path / "merged", quiet=True)
    assert (tmp_path / "merged" / "grades.csv").read_bytes() == (whole / "grades.csv").read_bytes()
    assert sorted(p.name for p in (tmp_path / "merged" / "feedback").iterdir()) == sorted(students)


def test_shards_are_stable_and_merge_refuses_overlaps_and_mixed_assignments(tmp_path):
    assert [gradebook.shard_of(f"s{i}", 4) for i in range(8)] == [gradebook.shard_of(f"s{i}", 4) for i in range(8)]
    assert gradebook.parse_shard("3/4") == (3, 4)
    for bad in ("4/4", "-1/2", "1", "a/b"):
        with pytest.raises(UsageError):
            gradebook.parse_shard(bad)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    run(a, [result("alice", 1, 2)])
    run(b, [result("alice", 0, 0)])
    with pytest.raises(UsageError, match="'alice' is in both"):
        gradebook.merge([a, b], tmp_path / "m1")

    class Other(FakeTemplate):
        assignment = "other"
    gradebook.record_run(c, Other, subs("zed"), [result("zed", 1, 1)], quiet=True)
    with pytest.raises(UsageError, match="different assignments"):
        gradebook.merge([a, c], tmp_path / "m2")
    assert not (tmp_path / "m1").exists() and not (tmp_path / "m2").exists()


def test_late_policy_and_extensions(tmp_path):
    assert deadlines.LatePolicy.parse("per_day=10,cap=50") == deadlines.LatePolicy(10, 50)
    for bad in ("per_day=ten", "daily=10", "per_day=150"):
        with pytest.raises(UsageError):
            deadlines.LatePolicy.parse(bad)
    (tmp_path / "ext.csv").write_text("student,days\ncarol,3\n")
    due = deadlines.from_options("2026-03-01T23:59:00+01:00", "per_day=20,cap=50", tmp_path / "ext.csv")
    # the deadline is 22:59 UTC
    times = {"alice": "2026-03-01T22:00:00+00:00",    # in time
             "bob": "2026-03-01T22:58:59+00:00",      # just in time
             "dave": "2026-03-04T10:00:00+00:00",     # 2.5 days late: 3 started days
             "carol": "2026-03-04T10:00:00+00:00"}    # the same, with a 3-day extension
    out = tmp_path / "out"
    collection = Collection([Submission(s, s, None, [], submitted_at=t) for s, t in times.items()], [])
    run(out, [result(s, 1, 2) for s in times], collection, gradebook.RunOptions(deadline=due))
    rows = read_csv(out / "grades.csv")
    assert rows["bob"]["late_days"] == "0" and rows["bob"]["final_score"] == "3"
    assert rows["alice"]["late_days"] == "0"
    assert (rows["dave"]["late_days"], rows["dave"]["penalty"], rows["dave"]["final_score"]) == ("3", "1.5", "1.5")
    assert rows["carol"]["late_days"] == "0" and rows["carol"]["final_score"] == "3"
    # a later regrade of one student keeps the deadline for everyone
    run(out, [result("dave", 1, 1)], collection, gradebook.RunOptions(students=["dave"]))
    rows = read_csv(out / "grades.csv")
    assert (rows["dave"]["score"], rows["dave"]["final_score"]) == ("2", "0.5")
    assert rows["carol"]["final_score"] == "3"
    assert "late" not in rows["bob"]["detail"]
    with pytest.raises(UsageError, match="need --deadline"):
        deadlines.from_options(None, "per_day=1", None)
    (tmp_path / "bad.csv").write_text("name,until\nx,1\n")
    with pytest.raises(UsageError, match="student,deadline"):
        deadlines.read_extensions(tmp_path / "bad.csv", due.deadline)


@pytest.fixture()
def graded_out(tmp_path):
    out = tmp_path / "out"
    due = deadlines.Deadline(deadlines.parse_time("2026-03-01T00:00:00Z", "d"), deadlines.LatePolicy(10, 50))
    collection = Collection([Submission("alice", "alice", None, [], submitted_at="2026-02-28T00:00:00+00:00"),
                             Submission("Jose_Nunez", "José Núñez", None, [], submitted_at="2026-03-01T01:00:00+00:00"),
                             Submission("eve", "eve", None, [], submitted_at="2026-02-28T00:00:00+00:00")], [])
    results = [result("alice", 1, 2), dict(result("Jose_Nunez", 1, 1), folder="José Núñez"), result("eve", 0, 1)]
    run(out, results, collection, gradebook.RunOptions(deadline=due))
    roster = tmp_path / "roster.csv"
    roster.write_text("folder,Student,ID,SIS User ID,SIS Login ID,Section,email\n"
                      "alice,\"Liddell, Alice\",101,A1,alice@uni,S1,alice@uni.edu\n"
                      "José Núñez,\"Núñez, José\",102,J2,jose@uni,S1,jose@uni.edu\n"
                      "zoe,\"Zed, Zoe\",103,Z3,zoe@uni,S2,zoe@uni.edu\n", encoding="utf-8")
    return out, roster


def _csv(path):
    return list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"))))


def test_canvas_export_has_the_documented_columns_and_reports_unmatched(graded_out):
    out, roster = graded_out
    done = export.export(out, "canvas", roster, column="Tiny (1234)", quiet=True)
    table = _csv(done["path"])
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Tiny (1234)"]
    assert table[1:] == [["Núñez, José", "102", "J2", "jose@uni", "S1", "1.7"],
                         ["Liddell, Alice", "101", "A1", "alice@uni", "S1", "3"]]
    assert done["unmatched"] == ["eve"] and done["not_graded"] == ["zoe"]


def test_moodle_export_uses_an_identifier_column(graded_out, tmp_path):
    out, roster = graded_out
    done = export.export(out, "moodle", roster, tmp_path / "m.csv", quiet=True)
    table = _csv(tmp_path / "m.csv")
    assert table[0] == ["Email address", "hw", "Feedback"]
    assert table[1][:2] == ["jose@uni.edu", "1.7"] and "1 day(s) late" in table[1][2]
    assert table[2] == ["alice@uni.edu", "3", ""]
    assert done["unmatched"] == ["eve"]
    done = export.export(out, "moodle", roster, tmp_path / "m2.csv", moodle_id="idnumber", quiet=True)
    assert _csv(tmp_path / "m2.csv")[0][0] == "ID number" and done["rows"] == 0


def test_plain_csv_export_has_parts_lateness_and_roster_columns(graded_out):
    out, roster = graded_out
    export.export(out, "csv", roster, quiet=True)
    table = _csv(out / "export-csv.csv")
    header = table[0]
    for column in ("student", "score", "test_a", "test_b", "late_days", "penalty", "final_score", "sis_user_id"):
        assert column in header
    eve = dict(zip(header, next(r for r in table if r[0] == "eve")))
    assert eve["sis_user_id"] == "" and eve["final_score"] == "1"
    with pytest.raises(UsageError, match="no 'folder' column"):
        (out / "bad.csv").write_text("name\nx\n")
        export.export(out, "canvas", out / "bad.csv", quiet=True)


def test_the_kubernetes_manifests_are_an_indexed_job_and_a_merge_step():
    yaml = pytest.importorskip("yaml")
    docs = list(yaml.safe_load_all((REPO / "deploy" / "kubernetes" / "grade-job.yaml").read_text()))
    jobs = {d["metadata"]["name"]: d for d in docs if d and d.get("kind") == "Job"}
    shard = jobs["lstm-course-grade"]
    assert shard["apiVersion"] == "batch/v1"
    spec = shard["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] >= 1
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    container = spec["template"]["spec"]["containers"][0]
    command = " ".join(container.get("command", []) + container.get("args", []))
    assert "--shard" in command and "$JOB_COMPLETION_INDEX" in command
    assert f"/{spec['completions']}" in command
    assert container["resources"]["limits"]["memory"]
    merge = jobs["lstm-course-merge"]
    merge_cmd = " ".join(merge["spec"]["template"]["spec"]["containers"][0].get("command", [])
                         + merge["spec"]["template"]["spec"]["containers"][0].get("args", []))
    assert "lstm-course merge" in merge_cmd
    mounts = {m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"] for v in spec["template"]["spec"]["volumes"]}
    assert mounts <= volumes
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert "bubblewrap" in dockerfile and "requirements/lock.txt" in dockerfile


def _corpus():
    sys.path.insert(0, str(REPO / "tests" / "grading_corpus"))
    import corpus
    return corpus


def test_grade_twice_into_one_out(tmp_path):
    """End to end: a full run, then one student regraded; nobody else's grade moves."""
    import nbformat

    corpus = _corpus()
    release = corpus.release_notebook(tmp_path)
    folder = tmp_path / "class"
    right = corpus._answers(release, corpus.RIGHT)
    for student, nb in (("perfect", right), ("blank", release)):
        (folder / student).mkdir(parents=True)
        nbformat.write(nb, folder / student / "tiny.ipynb")
    nbformat.write(release, folder / "perfect" / "draft.ipynb")      # an extra notebook
    copied = copy.deepcopy(right)                                     # a test cell pasted twice
    copied.cells.append(copy.deepcopy(corpus._cell(copied, "test_square")))
    (folder / "copier").mkdir()
    nbformat.write(copied, folder / "copier" / "tiny.ipynb")

    def grade(*extra):
        env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        done = subprocess.run([sys.executable, "-m", "lstm_course", "grade", corpus.ASSIGNMENT, folder, "--out",
                               tmp_path / "out", "--course-root", corpus.COURSE, "--timeout", "20", *extra],
                              capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        return read_csv(tmp_path / "out" / "grades.csv")

    first = grade("--jobs", "2")
    assert (first["perfect"]["score"], first["blank"]["score"]) == ("5", "0")
    assert first["perfect"]["status"] == "extra_notebooks" and "draft.ipynb" in first["perfect"]["detail"]
    assert first["copier"]["status"] == "duplicate_grade_ids", first["copier"]
    assert "'test_square' on 2 cells" in first["copier"]["detail"]
    nbformat.write(right, folder / "blank" / "tiny.ipynb")            # blank resubmits
    second = grade("--students", "blank")
    assert second["blank"]["score"] == "5" and second["perfect"] == first["perfect"]
    assert second["copier"] == first["copier"]
    entries = audit_lines(tmp_path / "out")
    blank = [e for e in entries if e["event"] == "graded" and e["student"] == "blank"]
    assert len(blank) == 2 and blank[0]["sha256"] != blank[1]["sha256"]
    other = subprocess.run([sys.executable, "-m", "lstm_course", "export", tmp_path / "out", "--format", "csv"],
                           capture_output=True, text=True, cwd=REPO, timeout=120)
    assert other.returncode == 0, other.stderr


def test_bad_options_exit_2_before_anything_is_graded(tmp_path, capsys):
    from lstm_course import cli

    (tmp_path / "class" / "alice").mkdir(parents=True)
    for extra, message in ((["--late-policy", "per_day=10"], "need --deadline"),
                           (["--deadline", "soon"], "not an ISO 8601 time"),
                           (["--shard", "2/2"], "0 <= K < N"),
                           (["--students", ","], "at least one name")):
        code = cli.main(["grade", "tiny", str(tmp_path / "class"), "--out", str(tmp_path / "o"), *extra])
        assert code == 2 and message in capsys.readouterr().err
    assert cli.main(["export", str(tmp_path / "o"), "--format", "canvas"]) == 2
    assert "no gradebook.json" in capsys.readouterr().err
    assert cli.main(["merge", str(tmp_path / "o"), "--out", str(tmp_path / "m")]) == 2
    assert not (tmp_path / "o").exists()
