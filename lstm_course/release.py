"""``lstm-course release``: regenerate the student versions in ``exercises/`` from ``solutions/``.

This runs ``nbgrader generate_assignment --force`` in the course itself (it is the one command
that is meant to write the repository's ``exercises/`` and its gradebook).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from lstm_course.config import (UsageError, list_assignments, load_course_config, require_assignment,
                                    tool_environment)


def _make_gradebook_folder(root: Path) -> None:
    """nbgrader cannot create a SQLite gradebook in a folder that does not exist yet
    (``.nbgrader/`` on a fresh clone): create that folder first."""
    config = load_course_config(root)
    url = config.CourseDirectory.get("db_url", "") if "CourseDirectory" in config else ""
    if isinstance(url, str) and url.startswith("sqlite:///"):
        database = Path(url[len("sqlite:///"):])
        if not database.is_absolute():
            database = root / database
        database.parent.mkdir(parents=True, exist_ok=True)


def release(root: Path, assignments: list[str] | None = None, *, retries: int = 3) -> list[str]:
    """Regenerate ``exercises/<id>`` for each id (all assignments when none is named).

    Returns the ids released.  Raises UsageError for an unknown id and RuntimeError when
    nbgrader fails (a locked gradebook is retried a few times first).
    """
    ids = list(assignments) if assignments else list_assignments(root)
    if not ids:
        raise UsageError(f"no assignments to release: {root / 'solutions'} has no folder with a notebook")
    for assignment in ids:
        require_assignment(root, assignment)
    _make_gradebook_folder(root)
    for assignment in ids:
        command = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
                   "--force", "--log-level=WARN"]
        for attempt in range(retries):
            done = subprocess.run(command, cwd=root, env=tool_environment(),
                                  capture_output=True, text=True)
            if done.returncode == 0:
                break
            if "database is locked" not in done.stderr or attempt == retries - 1:
                raise RuntimeError(f"nbgrader generate_assignment {assignment} failed "
                                   f"(exit {done.returncode}):\n{done.stderr[-4000:]}")
            time.sleep(2.0 * (attempt + 1))
        print(f"released {assignment} -> {root / 'exercises' / assignment}")
    return ids
