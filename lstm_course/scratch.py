"""Scratch nbgrader course of a grading run: nbgrader generates the release once per run.

The template holds the assignment's source (copied from ``solutions/``), the release nbgrader
generates from it (the read-only cells a submission is compared with, the helper files the
sandbox gets) and, per notebook, the source's cells the trusted grader executes: the read-only
set-up cells and the graded test cells, hidden tests included.  Those never leave the grader:
the sandbox sees only the release's files and the student's own notebook.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from lstm_course.config import scratch_config

TEMPLATE_INFO = "template.json"


@dataclass
class Part:
    """One graded test cell."""

    notebook: str
    grade_id: str
    points: float

    @property
    def key(self) -> str:
        return f"{self.notebook}:{self.grade_id}"


@dataclass
class Template:
    root: Path
    assignment: str
    notebooks: list[str]
    parts: list[Part]
    release_cells: dict[str, dict[str, dict]]   # notebook -> grade_id -> {source, grade, locked, ...}
                                                # in the release's order
    code_cells: int                             # code cells in the release
    timeout: int                                # seconds a cell or a call may run
    source_cells: dict[str, list[dict]] = field(default_factory=dict)   # notebook -> trusted cells
    course_package: Path | None = None          # lstm_ref/, bound read-only into the sandbox

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.parts)

    @property
    def budget_s(self) -> float:
        """Wall time one notebook may take in all (its cells and the tests' calls together)."""
        return float(self.timeout) * 3 + 10.0

    def save(self) -> None:
        data = {
            "assignment": self.assignment, "notebooks": self.notebooks,
            "parts": [p.__dict__ for p in self.parts], "release_cells": self.release_cells,
            "code_cells": self.code_cells, "timeout": self.timeout,
        }
        (self.root / TEMPLATE_INFO).write_text(json.dumps(data))


def make_api(config):
    """An ``NbGraderAPI`` for the course those settings describe."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def _is_test(meta: dict) -> bool:
    return bool(meta.get("grade")) and not meta.get("solution")


def _generate_without_gradebook(course_config, source: Path, release: Path, notebooks: list[str]) -> None:
    """nbgrader's ``generate_assignment`` preprocessors, in its order, without ``SaveCells``:
    the same student version, without creating a gradebook (which costs seconds per run)."""
    from nbgrader.converters.generate_assignment import GenerateAssignment
    from nbgrader.preprocessors import SaveCells
    from traitlets.config import Config

    config = Config()
    config.merge(course_config)
    classes = [c for c in GenerateAssignment.class_traits()["preprocessors"].default() if c is not SaveCells]
    ignore = list(course_config.CourseDirectory.get("ignore", [".ipynb_checkpoints", "*.pyc", "__pycache__"]))
    shutil.copytree(source, release, ignore=shutil.ignore_patterns(*ignore, "*.ipynb"))
    for name in notebooks:
        nb = nbformat.read(source / f"{name}.ipynb", as_version=4)
        resources = {"nbgrader": {"notebook": name, "assignment": release.name, "student": "."},
                     "metadata": {"path": str(source)}}
        for cls in classes:
            nb, resources = cls(config=config).preprocess(nb, resources)
        nbformat.write(nb, release / f"{name}.ipynb")


def _source_cells(nb) -> list[dict]:
    """The cells the trusted grader executes, in order: read-only code (``provided``), graded
    tests (``test``, with their hidden part) and the rest (``other``, never executed)."""
    cells = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        kind = "other"
        if cell.cell_type == "code" and _is_test(meta):
            kind = "test"
        elif cell.cell_type == "code" and meta.get("locked") and not meta.get("solution") and "grade_id" in meta:
            kind = "provided"
        cells.append({"kind": kind, "grade_id": meta.get("grade_id"), "source": cell.source,
                      "points": float(meta.get("points", 0) or 0)})
    return cells


def build_template(course_config, source: Path, assignment: str, root: Path, timeout: int) -> Template:
    """Copy ``source`` (``solutions/<assignment>``) into a new scratch course and generate it.

    Raises RuntimeError with nbgrader's log if nbgrader cannot generate the assignment.
    """
    import lstm_ref

    root = Path(root).resolve()
    root.mkdir(parents=True)
    target = root / "source" / assignment
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(
        ".ipynb_checkpoints", "__pycache__", "*.pyc", ".pytest_cache", "feedback"))
    notebooks = sorted(p.stem for p in target.glob("*.ipynb"))

    parts: list[Part] = []
    source_cells: dict[str, list[dict]] = {}
    for name in notebooks:
        nb = nbformat.read(target / f"{name}.ipynb", as_version=4)
        source_cells[name] = _source_cells(nb)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and _is_test(meta):
                parts.append(Part(name, meta["grade_id"], float(meta.get("points", 0))))

    try:
        _generate_without_gradebook(course_config, target, root / "release" / assignment, notebooks)
    except Exception:
        # nbgrader's own command (it also records the assignment in a scratch gradebook: slower)
        shutil.rmtree(root / "release", ignore_errors=True)
        api = make_api(scratch_config(course_config, root, timeout))
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader could not generate {assignment!r}:\n{result['log'][-4000:]}"
                               f"\n{result.get('error') or ''}")
    # the grader imports the assignment's helper modules (references of the tests) from a
    # copy of the source's; the sandbox gets the release's copies
    trusted = root / "trusted"
    trusted.mkdir()
    for path in target.iterdir():
        if path.suffix != ".ipynb" and not path.name.startswith("."):
            (shutil.copytree if path.is_dir() else shutil.copy2)(path, trusted / path.name)
    shutil.rmtree(root / "source")

    release_cells: dict[str, dict[str, dict]] = {}
    code_cells = 0
    for name in notebooks:
        released = nbformat.read(root / "release" / assignment / f"{name}.ipynb", as_version=4)
        cells = {}
        for cell in released.cells:
            code_cells += cell.cell_type == "code"
            meta = cell.metadata.get("nbgrader", {})
            if "grade_id" in meta:
                cells[meta["grade_id"]] = {
                    "source": cell.source, "grade": bool(meta.get("grade")),
                    "solution": bool(meta.get("solution")), "locked": bool(meta.get("locked")),
                    "cell_type": cell.cell_type, "cell": dict(cell)}
        release_cells[name] = cells
    template = Template(root, assignment, notebooks, parts, release_cells, code_cells, timeout,
                        source_cells, Path(lstm_ref.__file__).resolve().parent)
    template.save()
    return template
