"""Run nbgrader's own commands on a scratch copy of the course (used by the round-trip tests).

Nothing here touches the repository's gradebook or folders: every call works in a temporary
course root that holds a copy of ``nbgrader_config.py`` and of ``solutions/<assignment>``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from lstm_course.config import list_assignments, tool_environment

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO_ROOT / "solutions"
EXERCISES = REPO_ROOT / "exercises"
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def assignment_ids() -> list[str]:
    """Every assignment in solutions/: a folder holding at least one notebook."""
    return list_assignments(REPO_ROOT) if SOLUTIONS.is_dir() else []


def nbgrader_env() -> dict:
    env = tool_environment()  # nbgrader runs `alembic` from PATH
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def cell_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_answer(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in SOLUTION_MARKERS)


@dataclass
class ScratchCourse:
    root: Path
    assignment: str

    @classmethod
    def create(cls, root: Path, assignment: str) -> "ScratchCourse":
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(SOLUTIONS / assignment, root / "solutions" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        return cls(root, assignment)

    def nbgrader(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        cmd = [str(Path(sys.executable).parent / "nbgrader"), *args, "--log-level=WARN"]
        result = subprocess.run(cmd, cwd=self.root, env=nbgrader_env(), capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n"
                               f"{result.stdout}\n{result.stderr}")
        return result

    @property
    def source_dir(self) -> Path:
        return self.root / "solutions" / self.assignment

    @property
    def release_dir(self) -> Path:
        return self.root / "exercises" / self.assignment

    def generate(self) -> None:
        self.nbgrader("generate_assignment", self.assignment, "--force")

    def submit(self, student: str, notebooks: dict[str, nbformat.NotebookNode]) -> None:
        """Place a student's notebooks (and the release's other files) where autograde looks."""
        target = self.root / ".nbgrader" / "submitted" / student / self.assignment
        shutil.copytree(self.release_dir, target, dirs_exist_ok=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, str(target / name))

    def autograde(self) -> None:
        self.nbgrader("autograde", self.assignment, "--force")

    def scores(self) -> dict[str, tuple[float, float]]:
        """``{student: (score, max_score)}`` from the scratch gradebook."""
        from nbgrader.api import Gradebook

        db_url = "sqlite:///" + str(self.root / ".nbgrader" / "gradebook.db")
        with Gradebook(db_url) as gradebook:
            return {s.student.id: (s.score, s.max_score)
                    for s in gradebook.assignment_submissions(self.assignment)}


def filled_in(release: nbformat.NotebookNode, source: nbformat.NotebookNode,
              leave_blank: set[str] = frozenset()) -> nbformat.NotebookNode:
    """The release notebook with every answer cell taken from the source notebook.

    Answers whose grade_id is in ``leave_blank`` keep the release's stub, as a student who
    skipped them would hand them in.
    """
    answers = {cell_id(c): c.source for c in source.cells if is_answer(c)}
    nb = nbformat.from_dict(release)
    for cell in nb.cells:
        key = cell_id(cell)
        if is_answer(cell) and key not in leave_blank:
            cell.source = strip_solution_markers(answers[key])
    return nb
