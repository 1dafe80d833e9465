"""Collecting submissions safely: zip entries, student folder names, renamed notebooks.

Fast unit tests (no kernel); the end-to-end run is in test_course_grade.py.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

from lstm_course import integrity
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


def test_guard_records_need_the_right_nonce(tmp_path):
    run = integrity.RunSecrets(["nb:a", "nb:b"])
    record = tmp_path / "r.jsonl"
    record.write_text(
        '{"part": "nb:a", "nonce": "forged", "problems": []}\n'
        f'{{"part": "nb:b", "nonce": "{run.nonces["nb:b"]}", "problems": []}}\n'
        f'{{"part": "nb:b", "nonce": "{run.nonces["nb:b"]}", "problems": ["numpy.allclose"]}}\n'
        "not json\n")
    records = integrity.read_records(record, run)
    assert "nb:a" not in records
    assert records["nb:b"] == {"clean": False, "problems": ["numpy.allclose"]}


def test_compare_cells_finds_deleted_and_edited_tests():
    def cell(grade_id, source, **meta):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, **meta}})
    release = {"t1": {"source": "assert f() == 1", "grade": True, "locked": True},
               "t2": {"source": "assert g() == 2", "grade": True, "locked": True},
               "setup": {"source": "import numpy", "grade": False, "locked": True},
               "ans": {"source": "def f(): ...", "grade": False, "solution": True, "locked": False}}
    nb = nbformat.v4.new_notebook(cells=[cell("setup", "import numpy  "), cell("ans", "def f(): return 1"),
                                         cell("t1", "pass", grade=True)])
    diff = integrity.compare_cells(nb, release)
    assert diff == {"deleted_tests": ["t2"], "edited_tests": ["t1"], "edited_locked": []}


def test_outputs_are_capped_and_the_setup_cell_removed():
    big = "y" * (integrity.OUTPUT_LIMIT + 10)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(integrity.SETUP_MARKER + "\nsecret"),
        nbformat.v4.new_code_cell("print()", outputs=[nbformat.v4.new_output("stream", name="stdout", text=big)]),
        nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output("execute_result", data={"text/html": big},
                                                                     execution_count=1)]),
    ])
    flags = integrity.strip_setup_and_cap(nb)
    assert flags == {"timeout": False, "truncated": True}
    assert len(nb.cells) == 2
    assert len(nb.cells[0].outputs[0].text) < integrity.OUTPUT_LIMIT + 200
    assert len(nb.cells[1].outputs[0].data["text/html"]) < 200


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


def test_deleted_read_only_cells_are_put_back_and_their_names_watched():
    from lstm_course.grade_one import _add_snapshots, _put_back_read_only_cells

    def cell(grade_id, source, **meta):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, **meta}})
    setup = cell("setup", "import numpy as np\nfrom lstm_ref.grading import forbid_calls\nrng = 1",
                 locked=True)
    release = {"setup": {"source": setup.source, "grade": False, "solution": False, "locked": True,
                         "cell": dict(setup), "binds": integrity.bound_names(setup.source)},
               "ans": {"source": "", "grade": False, "solution": True, "locked": False},
               "t1": {"source": "assert f()", "grade": True, "solution": False, "locked": True}}
    assert release["setup"]["binds"] == ["np", "forbid_calls"]
    nb = nbformat.v4.new_notebook(cells=[cell("ans", "import fake as np\ndef f(): return 1"),
                                         cell("t1", "assert f()", grade=True)])
    assert _put_back_read_only_cells(nb, release) == ["setup"]
    assert [c.metadata.nbgrader["grade_id"] for c in nb.cells] == ["setup", "ans", "t1"]
    run = integrity.RunSecrets(["nb:t1"])
    _add_snapshots(nb, release, run)
    assert nb.cells[1].source.endswith(f"{run.guard_name}.snapshot(['np', 'forbid_calls'])")
    assert len(nb.cells) == 4
