"""Typical learners' mistakes, checked and graded: does the visible check predict the grade?

``tests/mistakes/<assignment>/<mistake>.py`` holds the source of one answer cell as a learner
got it wrong; its first line is ``# <answer grade_id>: <what is wrong>``.  For an assignment,
:func:`measure` builds the mistaken notebooks from the solution (every other answer right), runs
``lstm-course check`` on each (the visible tests, as the learner sees them) and nbgrader's
autograde on all of them at once in a scratch course (the hidden tests), and says per mistake
whether the check flags the part and how many points grading takes off.

Mistakes in different answer cells are independent parts, so one notebook carries one mistake
per answer cell ("rounds"): an assignment needs as many notebook runs as its most-mistaken
part has mistakes, not one per mistake.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from nbgrader_course import ScratchCourse, cell_id, filled_in, is_answer

MISTAKES = Path(__file__).resolve().parent / "mistakes"
HEADER = re.compile(r"#\s*(\w+):\s*(.+)")


@dataclass
class Mistake:
    assignment: str
    name: str
    cell: str            # the answer cell's grade_id
    description: str
    source: str


@dataclass
class Row:
    mistake: Mistake
    test_cell: str
    caught: bool         # the visible check says FAIL for the part
    points_lost: float   # at grading, against the solution's score for the part
    check_line: str      # what the check printed for the part


def load(assignment: str) -> list[Mistake]:
    mistakes = []
    for path in sorted((MISTAKES / assignment).glob("*.py")):
        text = path.read_text()
        first, _, body = text.partition("\n")
        match = HEADER.fullmatch(first.strip())
        if not match:
            raise ValueError(f"{path}: the first line should be '# <answer grade_id>: <description>'")
        mistakes.append(Mistake(assignment, path.stem, match.group(1), match.group(2), body))
    return mistakes


def assignments() -> list[str]:
    return sorted(p.name for p in MISTAKES.iterdir() if p.is_dir())


def rounds(mistakes: list[Mistake]) -> list[list[Mistake]]:
    """Groups of mistakes with at most one per answer cell, as few groups as possible."""
    groups: list[list[Mistake]] = []
    for mistake in mistakes:
        for group in groups:
            if all(m.cell != mistake.cell for m in group):
                group.append(mistake)
                break
        else:
            groups.append([mistake])
    return groups


def test_cell_of(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Answer grade_id -> the grade_id of the first graded test cell after it."""
    owner, pending = {}, []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if is_answer(cell):
            pending.append(cell_id(cell))
        elif meta.get("grade") and cell.cell_type == "code":
            for answer in pending:
                owner[answer] = cell_id(cell)
            pending = []
    return owner


def with_mistakes(notebook: nbformat.NotebookNode, group: list[Mistake]) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(notebook)
    replace = {m.cell: m.source for m in group}
    unknown = set(replace) - {cell_id(c) for c in nb.cells if is_answer(c)}
    if unknown:
        raise ValueError(f"no answer cells {sorted(unknown)} in the notebook")
    for cell in nb.cells:
        if is_answer(cell) and cell_id(cell) in replace:
            cell.source = replace[cell_id(cell)]
    return nb


def _check_lines(notebook: Path, timeout: int) -> tuple[dict[str, str], str]:
    from lstm_course.check import check

    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()):
        check(notebook, timeout=timeout, out=out)
    lines = {}
    for line in out.getvalue().splitlines():
        parts = line.split()
        if len(parts) > 1 and parts[0] in ("PASS", "FAIL"):
            lines[parts[1]] = line
    return lines, out.getvalue()


def _part_scores(course: ScratchCourse, notebook: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    url = "sqlite:///" + str(course.root / ".nbgrader" / "gradebook.db")
    with Gradebook(url) as gradebook:
        submitted = gradebook.find_submission_notebook(notebook, course.assignment, student)
        return {grade.name: float(grade.score) for grade in submitted.grades}


def measure(assignment: str, workdir: Path, only: set[str] | None = None,
            timeout: int = 120) -> tuple[list[Row], dict]:
    """Check and grade the assignment's mistakes (``only``: these names) in ``workdir``.

    Returns the rows and a record of the solution's own check output and scores, so a caller
    can assert that the baseline is full marks and all PASS.
    """
    mistakes = [m for m in load(assignment) if only is None or m.name in only]
    course = ScratchCourse.create(workdir / "course", assignment)
    course.generate()
    names = sorted(p.name for p in course.release_dir.glob("*.ipynb"))
    if len(names) != 1:
        raise ValueError(f"{assignment}: expected one notebook, found {names}")
    name = names[0]
    release = nbformat.read(course.release_dir / name, as_version=4)
    source = nbformat.read(course.source_dir / name, as_version=4)
    solution = filled_in(release, source)
    owner = test_cell_of(release)

    groups = rounds(mistakes)
    students = {"solution": solution}
    students.update({f"round{k}": with_mistakes(solution, group) for k, group in enumerate(groups)})
    checks = {}
    for student, nb in students.items():
        folder = workdir / "check" / student
        shutil.copytree(course.release_dir, folder)
        nbformat.write(nb, folder / name)
        checks[student] = _check_lines(folder / name, timeout)
        course.submit(student, {name: nb})
    course.autograde()
    stem = Path(name).stem
    scores = {student: _part_scores(course, stem, student) for student in students}

    rows = []
    for k, group in enumerate(groups):
        student = f"round{k}"
        for mistake in group:
            test = owner[mistake.cell]
            line = checks[student][0].get(test, "(no line for the part: " + checks[student][1] + ")")
            rows.append(Row(mistake, test, line.startswith("FAIL"),
                            scores["solution"][test] - scores[student][test], line))
    baseline = {"check": checks["solution"], "scores": scores["solution"]}
    return rows, baseline


def table(rows: list[Row]) -> str:
    """The mistake table in Markdown: assignment, mistake, caught by check, points lost."""
    out = ["| assignment | mistake | part | caught by check | points lost at grading |",
           "|---|---|---|---|---|"]
    for row in rows:
        m = row.mistake
        out.append(f"| {m.assignment} | {m.name}: {m.description} | {row.test_cell} | "
                   f"{'yes' if row.caught else 'no'} | {row.points_lost:g} |")
    return "\n".join(out)
