"""Collecting submissions safely: zip entries, student folder names, renamed notebooks.

Fast unit tests (no kernel); the end-to-end run is in test_course_grade.py.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

from lstm_course.grade_one import compare_cells, sandbox_cells
from lstm_course.submissions import collect, extract_zip, find_notebook, safe_student_id


def _zip(path: Path, entries: dict[str, str], links: dict[str, str] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in entries.items():
            zf.writestr(name, text)
        for name, target in dict(links).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def test_extract_zip_never_writes_outside(tmp_path):
    target = tmp_path / "deep" / "inside" / "target"
    archive = _zip(tmp_path / "a.zip", {
        "alice/nb.ipynb": "{}",
        "../escape1.txt": "x",
        "alice/../../escape2.txt": "x",
        "/tmp/lstm_course_test_abs.txt": "x",
        "C:/windows.txt": "x",
        "..\\escape3.txt": "x",
    }, links={"bob/nb.ipynb": "/etc/passwd", "carol": "/"})
    refused = dict(extract_zip(archive, target))
    assert (target / "alice" / "nb.ipynb").read_text() == "{}"
    assert set(refused) == {"../escape1.txt", "alice/../../escape2.txt", "/tmp/lstm_course_test_abs.txt",
                            "C:/windows.txt", "..\\escape3.txt", "bob/nb.ipynb", "carol"}
    assert "symbolic link" in refused["bob/nb.ipynb"] and ".." in refused["../escape1.txt"]
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {"a.zip", "deep/inside/target/alice/nb.ipynb"}
    assert not any(p.is_symlink() for p in tmp_path.rglob("*"))
    assert not Path("/tmp/lstm_course_test_abs.txt").exists()


def test_a_file_that_is_not_a_zip_is_a_usage_problem(tmp_path):
    (tmp_path / "class.zip").write_text("not a zip")
    with pytest.raises(ValueError, match="must be a folder or a .zip"):
        collect(tmp_path / "class.zip", tmp_path / "work")


def test_collect_sanitises_and_reports_names(tmp_path):
    root = tmp_path / "class"
    for name in ("alice", "bob smith", "bob_smith", "$(reboot)", ".git", "__MACOSX", "x..y"):
        (root / name).mkdir(parents=True)
    (root / "stray.ipynb").write_text("{}")
    (root / "link").symlink_to(root / "alice")
    found = collect(root, tmp_path / "work")
    by_folder = {s.folder: s for s in found.submissions}
    assert by_folder["alice"].student == "alice" and by_folder["alice"].issues == []
    ids = [s.student for s in found.submissions]
    assert len(ids) == len(set(ids))
    for sub in found.submissions:
        assert safe_student_id(sub.student) == sub.student.rstrip("_") or sub.path is None
    assert by_folder["bob smith"].issues[0][0] == "renamed"
    assert by_folder["$(reboot)"].student == "reboot"
    assert by_folder["x..y"].student == "x_y"
    for hidden in (".git", "__MACOSX", "link"):
        assert by_folder[hidden].path is None and by_folder[hidden].issues[0][0] == "rejected"
    assert any("stray.ipynb" in w for w in found.warnings)


def test_collect_steps_into_a_wrapping_folder_and_attributes_refusals(tmp_path):
    archive = _zip(tmp_path / "c.zip", {"export/alice/tiny.ipynb": "{}", "export/../up.txt": "x"},
                   links={"export/bob/tiny.ipynb": "/etc/passwd"})
    found = collect(archive, tmp_path / "work")
    by_folder = {s.folder: s for s in found.submissions}
    assert set(by_folder) == {"alice", "bob"}
    assert by_folder["bob"].issues[0][0] == "unsafe_entries"
    assert any("up.txt" in w for w in found.warnings)


def test_find_notebook_takes_a_single_renamed_copy(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "hw (2).ipynb").write_text("{}")
    path, note = find_notebook(tmp_path, "hw", {"hw"})
    assert path == tmp_path / "sub" / "hw (2).ipynb" and "graded as 'hw.ipynb'" in note
    (tmp_path / "other.ipynb").write_text("{}")
    assert find_notebook(tmp_path, "hw", {"hw"}) == (None, None)


def test_compare_cells_finds_deleted_and_edited_tests():
    def cell(grade_id, source, **meta):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, **meta}})
    release = {"t1": {"source": "assert f() == 1", "grade": True, "locked": True},
               "t2": {"source": "assert g() == 2", "grade": True, "locked": True},
               "setup": {"source": "import numpy", "grade": False, "locked": True},
               "ans": {"source": "def f(): ...", "grade": False, "solution": True, "locked": False}}
    nb = nbformat.v4.new_notebook(cells=[cell("setup", "import numpy  "), cell("ans", "def f(): return 1"),
                                         cell("t1", "pass", grade=True)])
    diff = compare_cells(nb, release)
    assert diff == {"deleted_tests": ["t2"], "edited_tests": ["t1"], "edited_locked": []}


def test_invalid_notebooks_are_explained_in_one_line(tmp_path):
    from lstm_course.grade_one import _notebook_problem

    (tmp_path / "cut.ipynb").write_text('{"cells": [ ')
    (tmp_path / "wrong.ipynb").write_text('{"cells": 3}')
    (tmp_path / "binary.ipynb").write_bytes(b"\xff\xfe\x00")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "good.ipynb")
    assert _notebook_problem(tmp_path / "cut.ipynb").startswith("broken JSON")
    assert _notebook_problem(tmp_path / "wrong.ipynb").startswith("not in nbformat")
    assert _notebook_problem(tmp_path / "binary.ipynb").startswith("not UTF-8")
    assert _notebook_problem(tmp_path / "good.ipynb") is None


def test_the_sandbox_runs_read_only_cells_as_released_and_no_test_cell():
    def cell(grade_id, source, **meta):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, **meta}})
    setup = "import numpy as np\nrng = 1"
    release = {"setup": {"source": setup, "grade": False, "solution": False, "locked": True,
                         "cell_type": "code"},
               "given": {"source": "def g(): return 2", "grade": False, "solution": False, "locked": True,
                         "cell_type": "code"},
               "ans": {"source": "", "grade": False, "solution": True, "locked": False, "cell_type": "code"},
               "t1": {"source": "assert f()", "grade": True, "solution": False, "locked": True,
                      "cell_type": "code"}}
    # the set-up cell deleted, the given cell edited, the test cell edited, a cell of their own
    nb = nbformat.v4.new_notebook(cells=[cell("ans", "import fake as np\ndef f(): return 1"),
                                         cell("given", "def g(): return 3", locked=True),
                                         cell("t1", "pass", grade=True),
                                         nbformat.v4.new_code_cell("print(f())")])
    cells, restored = sandbox_cells(nb, release)
    assert restored == ["setup"]
    assert [c["source"] for c in cells] == [setup, "import fake as np\ndef f(): return 1",
                                            "def g(): return 2", "print(f())"]
    assert all("assert" not in c["source"] and c["source"] != "pass" for c in cells)


# ---------------------------------------------------------------- ambiguous input, flagged (issue 13)

def test_accented_names_are_transliterated_and_collisions_reported(tmp_path):
    assert safe_student_id("José Núñez") == "Jose_Nunez"
    assert safe_student_id("Łukasz Straße") == "Lukasz_Strasse"
    assert safe_student_id("王小明").startswith("student_") and safe_student_id("王小明") != safe_student_id("李雷")
    root = tmp_path / "class"
    for name in ("José Núñez", "Jose_Nunez", "bob smith", "bob_smith"):
        (root / name).mkdir(parents=True)
    found = {s.folder: s for s in collect(root, tmp_path / "work").submissions}
    assert found["Jose_Nunez"].student == "Jose_Nunez"          # a safe name keeps its id
    assert found["José Núñez"].student == "Jose_Nunez_2"
    for folder in ("José Núñez", "Jose_Nunez"):
        kinds = {k for k, _ in found[folder].issues}
        assert "name_collision" in kinds
        assert any("'Jose_Nunez' and 'José Núñez'" in m for _, m in found[folder].issues)
    assert found["bob_smith"].student == "bob_smith" and found["bob smith"].student == "bob_smith_2"


def _zip_raw_name(path: Path, placeholder: str, raw: bytes, text: str = "{}") -> Path:
    """A zip whose entry name is the bytes ``raw`` with the UTF-8 flag unset (as many tools write)."""
    assert len(placeholder.encode()) == len(raw)
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo(placeholder, date_time=(2026, 3, 1, 12, 30, 0))
        zf.writestr(info, text)
    path.write_bytes(path.read_bytes().replace(placeholder.encode(), raw))
    return path


def test_zip_names_are_decoded_as_their_tools_wrote_them(tmp_path):
    utf8 = _zip_raw_name(tmp_path / "u.zip", "JosXX/hw.ipynb", "José/hw.ipynb".encode("utf-8"))
    with zipfile.ZipFile(utf8) as zf:
        assert not zf.infolist()[0].flag_bits & 0x800
    extract_zip(utf8, tmp_path / "u")
    assert (tmp_path / "u" / "José" / "hw.ipynb").is_file()
    cp437 = _zip_raw_name(tmp_path / "c.zip", "JosX/hw.ipynb", "José/hw.ipynb".encode("cp437"))
    extract_zip(cp437, tmp_path / "c")
    assert (tmp_path / "c" / "José" / "hw.ipynb").is_file()
    flagged = tmp_path / "f.zip"
    with zipfile.ZipFile(flagged, "w") as zf:
        zf.writestr("Núñez/hw.ipynb", "{}")                     # Python sets the flag itself
    extract_zip(flagged, tmp_path / "f")
    assert (tmp_path / "f" / "Núñez" / "hw.ipynb").is_file()


def test_submission_hash_and_time_come_from_the_zip_entry(tmp_path):
    archive = _zip_raw_name(tmp_path / "a.zip", "alice/hw.ipynb", b"alice/hw.ipynb")
    found = collect(archive, tmp_path / "work").submissions
    assert len(found) == 1
    alice = found[0]
    assert alice.submitted_at == "2026-03-01T12:30:00+00:00"
    assert alice.time_source == "zip entry (no time zone, read as UTC)"
    assert len(alice.sha256) == 64
    # the same files give the same hash; one byte more, another
    folder = tmp_path / "class" / "alice"
    folder.mkdir(parents=True)
    (folder / "hw.ipynb").write_text("{}")
    again = collect(tmp_path / "class", tmp_path / "w2").submissions[0]
    assert again.sha256 == alice.sha256 and again.time_source == "file mtime"
    (folder / "hw.ipynb").write_text("{} ")
    assert collect(tmp_path / "class", tmp_path / "w3").submissions[0].sha256 != alice.sha256


def test_extra_notebooks_and_candidates_are_listed(tmp_path):
    root = tmp_path / "class"
    for folder, names in {"extra": ["hw.ipynb", "draft.ipynb", "old/hw.ipynb"],
                          "two_candidates": ["homework.ipynb", "hw_final.ipynb"],
                          "renamed": ["hw (1).ipynb"], "clean": ["hw.ipynb", ".ipynb_checkpoints/hw.ipynb"]}.items():
        for name in names:
            (root / folder / name).parent.mkdir(parents=True, exist_ok=True)
            (root / folder / name).write_text("{}")
    found = {s.folder: s for s in collect(root, tmp_path / "work", notebooks=["hw"]).submissions}
    assert found["clean"].issues == [] and found["renamed"].issues == []
    (kind, message), = found["extra"].issues
    assert kind == "extra_notebooks" and "'draft.ipynb'" in message and "'old/hw.ipynb'" in message
    (kind, message), = found["two_candidates"].issues
    assert kind == "ambiguous_notebook" and "'homework.ipynb', 'hw_final.ipynb'" in message
    assert find_notebook(root / "two_candidates", "hw", {"hw"}) == (None, None)


def test_metadata_tricks_are_named(tmp_path):
    from lstm_course.report import status_of
    from lstm_course.submissions import metadata_issues

    def cell(grade_id, source="x = 1", **meta):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, **meta}})
    released = {"ans": cell("ans", solution=True, grade=False, locked=False),
                "t1": cell("t1", "assert x", grade=True, solution=False, locked=True, points=2)}
    release = {"hw": {g: {"grade": bool(c.metadata.nbgrader.get("grade")),
                          "solution": bool(c.metadata.nbgrader.get("solution")),
                          "locked": bool(c.metadata.nbgrader.get("locked")), "cell_type": "code", "cell": dict(c)}
                      for g, c in released.items()}}
    cases = {
        "honest": [released["ans"], released["t1"]],
        "duplicated": [released["ans"], released["t1"], cell("t1", "assert x", grade=True, locked=True, points=2)],
        "renamed_id": [released["ans"], cell("t1_mine", "assert x", grade=True, locked=True, points=2)],
        "more_points": [released["ans"], cell("t1", "assert x", grade=True, locked=True, points=200)],
        "not_graded": [released["ans"], cell("t1", "assert x", grade=False, locked=True, points=2)],
    }
    found = {}
    for name, cells in cases.items():
        (tmp_path / name).mkdir()
        nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / name / "hw.ipynb")
        found[name] = metadata_issues(tmp_path / name, ["hw"], release)
    assert found["honest"] == []
    assert status_of(found["duplicated"] + [("error", "nbgrader failed")]) == "duplicate_grade_ids"
    assert "'t1' on 2 cells" in found["duplicated"][0][1]
    assert found["renamed_id"][0][0] == "metadata_changed" and "'t1_mine'" in found["renamed_id"][0][1]
    assert "the release's 't1' not found" in found["renamed_id"][0][1]
    assert "points 2 -> 200" in found["more_points"][0][1]
    assert "grade True -> False" in found["not_graded"][0][1]
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "hw.ipynb").write_text("{not json")
    assert metadata_issues(tmp_path / "broken", ["hw"], release) == []
