"""Shared pytest set-up.

Notebooks are executed by nbval (``--nbval-lax``: every cell must run without error; cells
tagged ``nbval-check-output`` also have their output compared).  Two things are arranged here:

* Under pytest-xdist, ``make test`` uses ``--dist loadfile``: all cells of one notebook share
  one kernel, so they must run on the same worker.
* Each book notebook that nbval runs without error is stored, with its outputs, in the book's
  jupyter-cache (``_build/.jupyter_cache``, as set in ``_config.yml``).  The book build that
  ``make test`` runs next finds every notebook cached and executes nothing again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent
BOOK_DIR = REPO_ROOT / "book"
JUPYTER_CACHE = REPO_ROOT / "_build" / ".jupyter_cache"
EXECUTED_DIR = REPO_ROOT / "_build" / ".nbval_executed"


def _is_notebook_cell(item: pytest.Item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def pytest_collectstart(collector):
    # Drop a stale copy before the notebook runs, so a failing run can never leave an old
    # executed copy behind to be cached.
    if type(collector).__name__ == "IPyNbFile":
        _executed_copy_path(Path(collector.path)).unlink(missing_ok=True)


def _executed_copy_path(notebook: Path) -> Path:
    return EXECUTED_DIR / notebook.resolve().relative_to(REPO_ROOT)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not _is_notebook_cell(item) or call.when != "call":
        return
    report = outcome.get_result()
    notebook_file = item.parent
    if not hasattr(notebook_file, "_started_at"):
        notebook_file._started_at = time.monotonic() - call.duration
    if not report.passed:
        notebook_file._failed = True
        return
    item.cell.outputs = item.test_outputs or []
    item.cell.execution_count = item.cell_num + 1
    code_cells = [c for c in notebook_file.nb.cells if c.cell_type == "code"]
    is_last = item.cell_num == len(code_cells) - 1
    if is_last and not getattr(notebook_file, "_failed", False):
        _save_executed(notebook_file, time.monotonic() - notebook_file._started_at)


def _save_executed(notebook_file, seconds: float) -> None:
    import nbformat

    path = Path(notebook_file.path).resolve()
    if BOOK_DIR not in path.parents:
        return
    target = _executed_copy_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    notebook_file.nb.metadata.setdefault("lstm_course", {})["execution_seconds"] = round(seconds, 2)
    nbformat.write(notebook_file.nb, str(target))


def pytest_sessionfinish(session, exitstatus):
    """Load the executed book notebooks into the book's jupyter-cache (controller only)."""
    if hasattr(session.config, "workerinput") or not EXECUTED_DIR.is_dir():
        return
    executed = sorted(EXECUTED_DIR.rglob("*.ipynb"))
    if not executed:
        return
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(JUPYTER_CACHE))
    for copy in executed:
        source = REPO_ROOT / copy.relative_to(EXECUTED_DIR)
        try:
            nb = nbformat.read(str(copy), as_version=4)
        except FileNotFoundError:  # another pytest session on the same tree took it first
            continue
        seconds = nb.metadata.get("lstm_course", {}).pop("execution_seconds", None)
        if not nb.metadata.get("lstm_course"):
            nb.metadata.pop("lstm_course", None)
        cache.cache_notebook_bundle(
            CacheBundleIn(nb, str(source), data={"execution_seconds": seconds}),
            check_validity=False,
            overwrite=True,
        )
        copy.unlink(missing_ok=True)
