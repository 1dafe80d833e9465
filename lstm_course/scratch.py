"""Scratch nbgrader courses: one template per grading run, one copy per student.

The template holds the assignment's source (with a guard call appended to the hidden part of
every graded test cell, see :mod:`.integrity`), the release nbgrader generates from it, and a
gradebook that knows the assignment.  Each student is graded in a copy of the template, so
students never share a gradebook or a folder and can be graded in parallel.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from lstm_course import integrity
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
    code_cells: int                             # code cells in the release (for the deadline)
    watch_torch: bool
    secrets: integrity.RunSecrets
    timeout: int

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.parts)

    def save(self) -> None:
        data = {
            "assignment": self.assignment, "notebooks": self.notebooks,
            "parts": [p.__dict__ for p in self.parts], "release_cells": self.release_cells,
            "code_cells": self.code_cells, "watch_torch": self.watch_torch,
            "secrets": self.secrets.to_json(), "timeout": self.timeout,
        }
        (self.root / TEMPLATE_INFO).write_text(json.dumps(data))

    @classmethod
    def load(cls, root: Path) -> "Template":
        data = json.loads((root / TEMPLATE_INFO).read_text())
        return cls(root=root, assignment=data["assignment"], notebooks=data["notebooks"],
                   parts=[Part(**p) for p in data["parts"]], release_cells=data["release_cells"],
                   code_cells=data["code_cells"], watch_torch=data["watch_torch"],
                   secrets=integrity.RunSecrets.from_json(data["secrets"]), timeout=data["timeout"])


def make_api(config):
    """An ``NbGraderAPI`` for the course those settings describe."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def _is_test(meta: dict) -> bool:
    return bool(meta.get("grade")) and not meta.get("solution")


def build_template(course_config, source: Path, assignment: str, root: Path, timeout: int) -> Template:
    """Copy ``source`` (``solutions/<assignment>``) into a new scratch course and generate it.

    Raises RuntimeError with nbgrader's log if nbgrader cannot generate the assignment.
    """
    root.mkdir(parents=True)
    target = root / "source" / assignment
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(
        ".ipynb_checkpoints", "__pycache__", "*.pyc", ".pytest_cache", "feedback"))
    notebooks = sorted(p.stem for p in target.glob("*.ipynb"))

    parts: list[Part] = []
    all_sources: list[str] = []
    originals: dict[str, nbformat.NotebookNode] = {}
    for name in notebooks:
        nb = nbformat.read(target / f"{name}.ipynb", as_version=4)
        originals[name] = nb
        for cell in nb.cells:
            if cell.cell_type == "code":
                all_sources.append(cell.source)
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and _is_test(meta):
                parts.append(Part(name, meta["grade_id"], float(meta.get("points", 0))))
    run = integrity.RunSecrets([p.key for p in parts])
    for name, nb in originals.items():
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and _is_test(meta):
                cell.source = cell.source.rstrip("\n") + integrity.guard_call(run, f"{name}:{meta['grade_id']}")
        nbformat.write(nb, target / f"{name}.ipynb")

    api = make_api(scratch_config(course_config, root, timeout))
    result = api.generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader could not generate {assignment!r}:\n{result['log'][-4000:]}"
                           f"\n{result.get('error') or ''}")

    release_cells: dict[str, dict[str, dict]] = {}
    code_cells = 0
    for name in notebooks:
        released = nbformat.read(root / "release" / assignment / f"{name}.ipynb", as_version=4)
        cells = {}
        for cell in released.cells:
            code_cells += cell.cell_type == "code"
            meta = cell.metadata.get("nbgrader", {})
            if "grade_id" in meta:
                info = {"source": cell.source, "grade": bool(meta.get("grade")),
                        "solution": bool(meta.get("solution")), "locked": bool(meta.get("locked")),
                        "cell_type": cell.cell_type, "cell": dict(cell)}
                if cell.cell_type == "code" and info["locked"] and not info["grade"] and not info["solution"]:
                    info["binds"] = integrity.bound_names(cell.source)
                cells[meta["grade_id"]] = info
        release_cells[name] = cells
    template = Template(root, assignment, notebooks, parts, release_cells, code_cells,
                        integrity.uses_torch(all_sources), run, timeout)
    template.save()
    return template


def student_course(template: Template, root: Path) -> Path:
    """A private copy of the template course for one student (source and gradebook)."""
    root.mkdir(parents=True)
    shutil.copytree(template.root / "source", root / "source")
    shutil.copy2(template.root / "gradebook.db", root / "gradebook.db")
    return root
