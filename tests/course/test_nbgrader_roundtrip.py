"""The nbgrader round trip for every assignment in solutions/, with nbgrader's own commands.

In a scratch copy of the course: generate the student version; it must equal exercises/ as
committed; hidden tests must be gone from it.  Then autograde three submissions: the solution
(full marks), the blank release (zero) and the solution with its last answer removed (partial).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from nbgrader_course import (EXERCISES, SOLUTIONS, ScratchCourse, assignment_ids, cell_id,
                             filled_in, is_answer)

HIDDEN = "### BEGIN HIDDEN TESTS"
ASSIGNMENTS = assignment_ids()


def _notebooks(folder: Path) -> dict[str, nbformat.NotebookNode]:
    return {p.name: nbformat.read(str(p), as_version=4) for p in sorted(folder.glob("*.ipynb"))}


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    """Per assignment: the scratch course after generate + autograde of three students."""
    results = {}

    def run(assignment: str):
        if assignment not in results:
            course = ScratchCourse.create(tmp_path_factory.mktemp(assignment), assignment)
            course.generate()
            sources = _notebooks(course.source_dir)
            releases = _notebooks(course.release_dir)
            last_answer = [cell_id(c) for nb in sources.values() for c in nb.cells if is_answer(c)][-1]
            course.submit("solution", {n: filled_in(releases[n], sources[n]) for n in releases})
            course.submit("blank", releases)
            course.submit("partial", {n: filled_in(releases[n], sources[n], {last_answer})
                                      for n in releases})
            course.autograde()
            results[assignment] = course
        return results[assignment]

    return run


def test_assignments_exist():
    assert assignment_ids(), f"no assignment notebooks found under {SOLUTIONS}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_has_graded_parts_and_hidden_tests(assignment):
    for name, nb in _notebooks(SOLUTIONS / assignment).items():
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        points = [c.metadata["nbgrader"].get("points", 0) for c in graded]
        assert len(graded) >= 3 and all(p > 0 for p in points), \
            f"{name}: expected at least 3 graded cells with points, found points {points}"
        assert any(HIDDEN in c.source for c in graded), f"{name}: no hidden tests"
        ids = [cell_id(c) for c in nb.cells if cell_id(c)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate grade_ids {ids}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_in_sync_and_hidden_tests_stripped(assignment, graded):
    course = graded(assignment)
    committed = EXERCISES / assignment
    generated_files = sorted(p.relative_to(course.release_dir).as_posix()
                             for p in course.release_dir.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed).as_posix()
                             for p in committed.rglob("*") if p.is_file()) if committed.is_dir() else []
    assert committed_files == generated_files, \
        f"exercises/{assignment} differs from a fresh release: run `make release`"
    for rel in generated_files:
        fresh, kept = course.release_dir / rel, committed / rel
        if rel.endswith(".ipynb"):
            assert json.loads(fresh.read_text()) == json.loads(kept.read_text()), \
                f"exercises/{assignment}/{rel} differs from a fresh release: run `make release`"
            assert HIDDEN not in fresh.read_text(), f"hidden tests left in the release {rel}"
        else:
            assert fresh.read_bytes() == kept.read_bytes(), f"exercises/{assignment}/{rel} is stale"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_blank_zero_one_removed_partial(assignment, graded):
    scores = graded(assignment).scores()
    assert set(scores) == {"solution", "blank", "partial"}
    score, max_score = scores["solution"]
    assert max_score > 0 and score == pytest.approx(max_score), f"solution scored {score}/{max_score}"
    assert scores["blank"][0] == 0, f"blank release scored {scores['blank'][0]}/{max_score}"
    partial = scores["partial"][0]
    assert 0 < partial < max_score, f"one answer removed scored {partial}/{max_score}"
