"""``lstm-course check NOTEBOOK``: a learner runs the visible tests of an exercise.

The notebook is executed top to bottom in a fresh kernel (in its own folder, so data files
beside it are found) and every graded test cell is reported as passed or failed.  Exit status
1 when any test fails, so the command can gate a submission script; ``nbgrader validate``
exits 0 either way.  The hidden tests are not in the student's copy: passing here is necessary,
not sufficient.
"""

from __future__ import annotations

import ast
import re
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


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")
SETUP_SOURCE = (Path(__file__).with_name("_check_kernel.py")).read_text()
SETUP_CELL = ("exec(compile(%r, '<lstm-course check>', 'exec'), "
              "{'__name__': '_lstm_course_check', 'get_ipython': get_ipython})" % SETUP_SOURCE)


def _is_answer(cell) -> bool:
    return cell.cell_type == "code" and bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _grade_id(nb, index: int) -> str:
    return nb.cells[index].get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"#{index}"


def _frames(error: dict, counts: dict[int, int]) -> list[tuple[int, int]]:
    """``(cell index, line)`` for every frame of the traceback that is a notebook cell."""
    text = ANSI.sub("", "\n".join(error.get("traceback", [])))
    frames = []
    for match in FRAME.finditer(text):
        index = counts.get(int(match.group(1)))
        if index is not None:
            frames.append((index, int(match.group(2))))
    return frames


def _line_of(nb, index: int, line: int) -> str:
    lines = nb.cells[index].source.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _where(nb, index: int, line: int) -> str:
    code = _line_of(nb, index, line)
    meta = nb.cells[index].get("metadata", {}).get("nbgrader", {})
    if _is_answer(nb.cells[index]):
        kind = f"your answer cell {_grade_id(nb, index)}"
    elif meta.get("grade"):
        kind = f"the test cell {_grade_id(nb, index)}"
    else:
        kind = f"cell {_grade_id(nb, index)}"
    return f"{kind}, line {line}" + (f": `{code}`" if code else "")


def _elapsed(cell, limit: int) -> int:
    """Seconds the cell ran, from nbclient's timing metadata (the limit if unrecorded)."""
    from datetime import datetime

    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
        return max(int(round((end - start).total_seconds())), limit)
    except (KeyError, ValueError, AttributeError, TypeError):
        return limit


def _defined_names(source: str) -> set[str]:
    """Top-level names a cell defines (def, class, assignment), even if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        found = re.findall(r"^(?:def|class)\s+(\w+)|^(\w+)\s*=", source, re.M)
        return {a or b for a, b in found}
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _describe(nb, index: int, error: dict, counts: dict[int, int], limit: int) -> str:
    """One sentence for an error output of cell ``index``, pointing at the learner's line."""
    ename, evalue = error.get("ename") or "Error", (error.get("evalue") or "").strip()
    frames = _frames(error, counts)
    answer_frames = [f for f in frames if _is_answer(nb.cells[f[0]])]
    if ename == "KeyboardInterrupt":
        text = f"interrupted after {_elapsed(nb.cells[index], limit)} s (limit {limit} s)"
        place = answer_frames[-1] if answer_frames else (frames[-1] if frames else None)
        return text + (f" while running {_where(nb, *place)}" if place else "")
    if ename == "NotImplementedError" and answer_frames:
        return f"not answered yet (NotImplementedError in {_where(nb, *answer_frames[-1])})"
    evalue = re.sub(r" \([\w.-]+\.py, line \d+\)$", "", evalue)    # the kernel's temporary file
    text = f"{ename}: {evalue}" if evalue else ename
    if ename in ("SyntaxError", "IndentationError", "TabError") and frames:
        return f"{text} in {_where(nb, *frames[-1])}"
    if answer_frames:
        return f"{text} (raised in {_where(nb, *answer_frames[-1])})"
    if not evalue and frames:
        return f"{text} at {_where(nb, *frames[-1])}"
    return text


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
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells.insert(0, nbformat.v4.new_code_cell(SETUP_CELL))
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
                            kernel_name="python3", resources={"metadata": {"path": str(path.parent.resolve())}})
    died = None
    # the kernel's own log lines (start-up notices, the warning that a local kernel talks over
    # TCP, debugger warnings) go to a file, not to the learner's terminal; they are shown only
    # if the kernel dies
    with tempfile.TemporaryFile("w+") as kernel_log:
        try:
            client.execute(stderr=kernel_log, stdout=kernel_log)
        except DeadKernelError as error:
            died = str(error) or "the kernel died"
        except Exception as error:   # e.g. a cell that timed out without an interrupt taking effect
            died = f"{type(error).__name__}: {error}"
        if died:
            kernel_log.seek(0)
            tail = kernel_log.read().strip().splitlines()[-5:]
            if tail:
                died += "\n  kernel log: " + "\n  kernel log: ".join(tail)
    nb.cells.pop(0)
    counts = {cell.execution_count: i for i, cell in enumerate(nb.cells)
              if cell.cell_type == "code" and cell.get("execution_count") is not None}

    # answer cells that raised: said once, where they are, and blamed for the NameErrors they cause
    broken: dict[str, str] = {}
    answer_ids = {_grade_id(nb, i) for i, cell in enumerate(nb.cells) if _is_answer(cell)}
    answer_lines = {}
    test_indices = {index for index, _ in tests}
    for index, cell in enumerate(nb.cells):
        error = _first_error(cell) if index not in test_indices else None
        if error is not None and error.get("ename") != "NotImplementedError":
            answer_lines[index] = _describe(nb, index, error, counts, timeout)
            for name in _defined_names(cell.source):
                broken.setdefault(name, _grade_id(nb, index))

    failed = 0
    total = earned = 0.0
    for index, cell in enumerate(nb.cells):
        if index in answer_lines:
            kind = "your answer cell" if _is_answer(cell) else "cell"
            print(f"ERROR in {kind} {_grade_id(nb, index)}: {answer_lines[index][:500]}", file=out)
        if index not in test_indices:
            continue
        meta = cell.metadata["nbgrader"]
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
            reason = _describe(nb, index, error, counts, timeout)
            missing = re.match(r"name '(\w+)' is not defined", error.get("evalue") or "")
            if error.get("ename") == "NameError" and missing and missing.group(1) in broken:
                culprit = broken[missing.group(1)]
                kind = "your answer cell" if culprit in answer_ids else "cell"
                reason = (f"`{missing.group(1)}` was never defined because {kind} {culprit} "
                          "raised an error (see above)")
        print(f"FAIL  {label}: {reason[:700]}", file=out)
    if died:
        print(f"The kernel stopped early: {died}", file=out)
    print(f"{len(tests) - failed}/{len(tests)} graded parts pass their visible tests "
          f"({earned:g}/{total:g} points); hidden tests run when your work is graded.", file=out)
    return 1 if failed or died else 0
