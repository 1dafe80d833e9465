"""``lstm-course check NOTEBOOK``: a learner runs the visible tests of an exercise.

The notebook is executed top to bottom in a fresh kernel (in its own folder, so data files
beside it are found) and every graded test cell is reported as passed or failed.  Exit status
1 when any test fails, so the command can gate a submission script; ``nbgrader validate``
exits 0 either way.  The hidden tests are not in the student's copy: passing here is necessary,
not sufficient.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat

from lstm_course.config import UsageError, put_tools_on_path


def _graded_tests(nb) -> list[tuple[int, dict]]:
    found = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            found.append((index, meta))
    return found


def _first_error(cell) -> dict | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output
    return None


def check(path: Path, *, timeout: int = 120, out=sys.stdout) -> int:
    """Run ``path`` and print PASS/FAIL per graded part; returns the exit status."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no notebook at {path}")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as error:
        print(f"{path} is not a valid notebook: {str(error).splitlines()[0] if str(error) else error!r}", file=out)
        print("Open it in Jupyter and save it again, or start again from a fresh copy of the exercise.", file=out)
        return 1
    tests = _graded_tests(nb)
    if not tests:
        raise UsageError(f"{path} has no graded test cells: is it an assignment notebook from exercises/?")
    put_tools_on_path()
    km = None
    sockets = None
    if os.name == "posix":
        # local sockets instead of TCP: nothing to eavesdrop on, and no kernel warning about it
        # (an absolute, short path: the kernel runs in the notebook's folder)
        from jupyter_client.manager import KernelManager
        sockets = tempfile.mkdtemp(prefix="lstm-check-")
        km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))
    client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
                            kernel_name="python3", resources={"metadata": {"path": str(path.parent.resolve())}})
    died = None
    # the kernel's own log lines (start-up notices, debugger warnings) go to a file, not to the
    # learner's terminal; they are shown only if the kernel dies
    with tempfile.TemporaryFile("w+") as kernel_log:
        try:
            client.execute(stderr=kernel_log, stdout=kernel_log)
        except DeadKernelError as error:
            died = str(error) or "the kernel died"
        except Exception as error:   # e.g. a cell that timed out without an interrupt taking effect
            died = f"{type(error).__name__}: {error}"
        if sockets is not None:
            import shutil
            shutil.rmtree(sockets, ignore_errors=True)
        if died:
            kernel_log.seek(0)
            tail = kernel_log.read().strip().splitlines()[-5:]
            if tail:
                died += "\n  kernel log: " + "\n  kernel log: ".join(tail)

    failed = 0
    total = earned = 0.0
    for index, meta in tests:
        cell = nb.cells[index]
        points = float(meta.get("points", 0))
        total += points
        label = f"{meta.get('grade_id', f'cell {index}')} ({points:g} point{'s' if points != 1 else ''})"
        error = _first_error(cell)
        ran = cell.get("execution_count") is not None or bool(cell.get("outputs"))
        if error is None and ran:
            earned += points
            print(f"PASS  {label}", file=out)
            continue
        failed += 1
        if error is None:
            reason = "did not run (an earlier cell stopped the notebook)"
        elif error.get("ename") == "NotImplementedError":
            reason = "not answered yet (NotImplementedError)"
        else:
            reason = f"{error.get('ename')}: {error.get('evalue', '')}".strip()
        print(f"FAIL  {label}: {reason[:500]}", file=out)
    if died:
        print(f"The kernel stopped early: {died}", file=out)
    print(f"{len(tests) - failed}/{len(tests)} graded parts pass their visible tests "
          f"({earned:g}/{total:g} points); hidden tests run when your work is graded.", file=out)
    return 1 if failed or died else 0
