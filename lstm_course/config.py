"""Where the course is, and the nbgrader settings the tools use.

The instructor's ``nbgrader_config.py`` is read once; grading then runs in scratch courses that
take its settings (solution stubs, ignored files, timeouts) but point every folder and the
gradebook at a temporary directory, so the repository's own gradebook is never touched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CONFIG_FILE = "nbgrader_config.py"
SOURCE_DIR = "solutions"


class UsageError(Exception):
    """A mistake in how the command was called (exit status 2), never a bad submission."""


def find_course_root(explicit: str | os.PathLike | None = None) -> Path:
    """The folder holding ``nbgrader_config.py`` and ``solutions/``.

    ``explicit`` (``--course-root``) wins; otherwise the current folder and its parents are
    searched, then the checkout this package was installed from.
    """
    if explicit is not None:
        root = Path(explicit).resolve()
        if not (root / SOURCE_DIR).is_dir():
            raise UsageError(f"--course-root {root} has no {SOURCE_DIR}/ folder")
        return root
    here = Path.cwd().resolve()
    candidates = [here, *here.parents, Path(__file__).resolve().parents[2]]
    for folder in candidates:
        if (folder / CONFIG_FILE).is_file() and (folder / SOURCE_DIR).is_dir():
            return folder
    raise UsageError(f"no course found: expected a folder with {CONFIG_FILE} and {SOURCE_DIR}/ "
                     f"in {here} or its parents; pass --course-root")


def list_assignments(root: Path) -> list[str]:
    """Assignment ids: the folders of ``solutions/`` that hold a notebook."""
    source = root / SOURCE_DIR
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb")))


def require_assignment(root: Path, assignment: str) -> Path:
    """``solutions/<assignment>``, or a UsageError naming the assignments that exist."""
    known = list_assignments(root)
    if assignment not in known:
        raise UsageError(f"unknown assignment {assignment!r}: expected one of "
                         f"{', '.join(known) or '(none)'} (folders of {root / SOURCE_DIR} with a notebook)")
    return root / SOURCE_DIR / assignment


def load_course_config(root: Path):
    """The course's nbgrader settings as a traitlets ``Config`` (empty if there is no file)."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    if not (root / CONFIG_FILE).is_file():
        return Config()
    return PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()


def scratch_config(base, scratch_root: Path, timeout: int | None = None):
    """``base`` (the course's settings) redirected to a scratch course at ``scratch_root``.

    Layout of a scratch course: ``source/``, ``release/``, ``submitted/``, ``autograded/``,
    ``feedback/`` and ``gradebook.db``, all under ``scratch_root``.
    """
    from traitlets.config import Config

    config = Config()
    config.merge(base)
    course = config.CourseDirectory
    course.root = str(scratch_root)
    course.source_directory = "source"
    course.release_directory = "release"
    course.submitted_directory = "submitted"
    course.autograded_directory = "autograded"
    course.feedback_directory = "feedback"
    course.db_url = "sqlite:///" + str(scratch_root / "gradebook.db")
    course.course_id = ""
    if timeout is not None:
        config.Execute.timeout = int(timeout)
        config.ExecutePreprocessor.timeout = int(timeout)
    config.Execute.interrupt_on_timeout = True
    # the kernel's state is of no use after grading: stop it at once instead of politely
    config.Execute.shutdown_kernel = "immediate"
    return config


def cell_timeout(config, default: int = 120) -> int:
    """The per-cell time limit those settings give (seconds)."""
    value = config.Execute.get("timeout", None) if "Execute" in config else None
    return int(value) if value else default


def tool_environment() -> dict[str, str]:
    """``os.environ`` with this Python's ``bin/`` first on PATH (nbgrader runs ``alembic``)."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def put_tools_on_path() -> None:
    """Make this process (and its children) find ``alembic`` and ``jupyter``."""
    os.environ["PATH"] = tool_environment()["PATH"]
