"""Grade one student: their code runs in a sandbox, the tests run here, in the trusted grader.

Steps: check the student's notebooks (JSON, grade ids), build the list of cells the sandbox
runs (the student's own cells; read-only cells as the release has them, put back where
deleted; test cells left out), run them in a fresh :class:`~lstm_course.sandbox.Sandbox`,
then execute the *source* notebook's set-up and test cells (visible and hidden tests) in a
namespace of this process where each name the student defined is fetched from the sandbox:
plain data comes back as plain data, functions and objects as :class:`~.sandbox.Remote`
handles whose calls return plain data.  A test cell that runs to its end earns its points
(never more); the expected values are computed here, with this process's NumPy and PyTorch,
which the student's code never touches.  Feedback (the student's cells and outputs, and per
part the score and the message of a failed check) is written from what is known here; hidden
test code is never in it.
"""

from __future__ import annotations

import html
import json
import shutil
import time
from pathlib import Path

import nbformat

from lstm_course import sandbox as sbx
from lstm_course.scratch import Template
from lstm_course.submissions import Submission, find_notebook

MAX_CODE_CELLS = 1000          # a notebook with more code cells is not run
MAX_CELL_CHARS = 200_000       # characters of one cell's source
MESSAGE_CHARS = 400            # characters of a failed check's message in the feedback


def _notebook_problem(path: Path) -> str | None:
    """Why ``path`` cannot be graded as a notebook, in one short sentence, or None."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8 text: {error.reason} at byte {error.start}"
    try:
        data = json.loads(text)
    except ValueError as error:
        return f"broken JSON: {getattr(error, 'msg', error)} at line {getattr(error, 'lineno', '?')}"
    cells = data.get("cells") if isinstance(data, dict) else None
    if isinstance(cells, list) and len(cells) > MAX_CODE_CELLS * 5:
        return f"{len(cells)} cells, more than the {MAX_CODE_CELLS * 5} a notebook of this course may have"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as error:   # any other way the file can fail to be a notebook
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return f"not in nbformat: {first[:160]}"
    return None


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _normalise(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def compare_cells(submitted_nb, release_cells: dict[str, dict]) -> dict[str, list[str]]:
    """How the submission's nbgrader cells differ from the release: ``deleted_tests``,
    ``edited_tests`` (graded test cells whose code changed), ``edited_locked`` (other
    read-only cells whose content changed)."""
    present: dict[str, str] = {}
    for cell in submitted_nb.cells:
        grade_id = _grade_id(cell)
        if grade_id is not None and grade_id not in present:
            present[grade_id] = cell.get("source", "")
    result = {"deleted_tests": [], "edited_tests": [], "edited_locked": []}
    for grade_id, info in release_cells.items():
        is_test = info["grade"] and not info.get("solution", False)
        if grade_id not in present:
            if is_test:
                result["deleted_tests"].append(grade_id)
            continue
        if info["locked"] and _normalise(present[grade_id]) != _normalise(info["source"]):
            result["edited_tests" if is_test else "edited_locked"].append(grade_id)
    return result


def _is_provided(info: dict) -> bool:
    """A read-only code cell the student runs but does not write (imports, given code)."""
    return info["cell_type"] == "code" and info["locked"] and not info["grade"] and not info["solution"]


def _is_test(info: dict) -> bool:
    return info["cell_type"] == "code" and info["grade"] and not info["solution"]


def sandbox_cells(nb, release_cells: dict[str, dict]) -> tuple[list[dict], list[str]]:
    """The cells the sandbox runs, in order, and the read-only cells put back.

    Each is ``{"source", "label", "position", "grade_id"}``: the student's own code cells as
    written; read-only code cells as the release has them (edits undone; deleted ones put back
    after the read-only cell that preceded them); test cells left out (they run in the grader).
    """
    order = list(release_cells)
    cells: list[dict] = []
    seen: set[str] = set()
    for position, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        grade_id = _grade_id(cell)
        info = release_cells.get(grade_id or "")
        if grade_id in seen:
            info = None               # a pasted copy of a graded cell: plain student code
        if info is not None:
            seen.add(grade_id)
            if _is_test(info):
                continue
            if _is_provided(info):
                cells.append({"source": info["source"], "label": grade_id, "position": position,
                              "grade_id": grade_id})
                continue
        cells.append({"source": cell.source, "label": f"{position}", "position": position,
                      "grade_id": grade_id if info is not None else None})
    restored = []
    for index, grade_id in enumerate(order):
        info = release_cells[grade_id]
        if grade_id in seen or not _is_provided(info):
            continue
        before = [g for g in order[:index] if g in seen]
        at = 0
        if before:
            at = 1 + max(i for i, c in enumerate(cells) if c["grade_id"] in before)
        position = cells[at - 1]["position"] if at else -1
        cells.insert(at, {"source": info["source"], "label": grade_id, "position": position,
                          "grade_id": grade_id})
        seen.add(grade_id)
        restored.append(grade_id)
    return cells, restored


class StudentNamespace(dict):
    """Globals of the trusted test code: a name it does not define is looked up in the sandbox
    (Python's own builtins first, so a student cannot redefine ``len`` or ``isinstance`` for the
    tests)."""

    def __init__(self, sandbox: sbx.Sandbox):
        super().__init__(__name__="__grader__", __builtins__=__builtins__)
        self._sandbox = sandbox

    def __missing__(self, key):
        import builtins
        if hasattr(builtins, key) or key.startswith("__"):
            raise KeyError(key)
        try:
            value = self._sandbox.request({"op": "lookup", "name": key}, [], self._sandbox.call_timeout)
        except sbx.SandboxGone:
            raise KeyError(key) from None
        self[key] = value
        return value


def _forbid_hook(sandbox: sbx.Sandbox):
    """Tell the sandbox which reference functions to disable while a test's block runs."""
    def hook(functions, entering: bool) -> None:
        if entering:
            names = [f"{f.__module__}:{f.__qualname__}" for f in functions]
            sandbox.request({"op": "forbid", "names": names}, [], sandbox.call_timeout)
        else:
            reached = sandbox.request({"op": "allow"}, [], sandbox.call_timeout)
            if reached:
                raise AssertionError(
                    f"your code loaded {', '.join(map(str, reached))} during a graded call, where the "
                    "course's reference implementations may not be used: write your own")
    return hook


def _message(error: BaseException) -> str:
    """What the student sees of a failed check: its type and message, never its code."""
    if isinstance(error, sbx.SandboxGone):
        return f"your code was stopped: {error}"
    text = " ".join(str(error).split())
    kind = type(error).__name__ if not isinstance(error, sbx.StudentError) else "Error"
    if not text:
        return f"a check failed ({kind})"
    return f"{kind}: {text}"[:MESSAGE_CHARS]


def _copy_helpers(template: Template, home: Path) -> None:
    """The files nbgrader releases beside the notebook (helper modules, data), as copies."""
    release = template.root / "release" / template.assignment
    for path in sorted(release.rglob("*")):
        relative = path.relative_to(release)
        if path.suffix == ".ipynb" or any(p.startswith(".") for p in relative.parts):
            continue
        target = home / relative
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _run_notebook(template, name, cells, home, limits, outputs) -> tuple[sbx.Sandbox, int | None]:
    """Start a sandbox and run ``cells``; returns it and the index of the cell it died in."""
    box = sbx.Sandbox(home, template.course_package, limits)
    box.call_timeout = float(template.timeout)

    def on_cell(index: int, message: dict) -> None:
        outputs[index] = message

    try:
        box.run_cells([{"source": c["source"], "label": c["label"]} for c in cells],
                      float(template.timeout), template.budget_s, on_cell)
        return box, None
    except sbx.SandboxGone:
        died_at = next((i for i in range(len(cells)) if i not in outputs), len(cells))
        outputs[died_at] = {"error": {"ename": "SandboxStopped", "evalue": box.stopped, "traceback": ""}}
        return box, died_at


def grade_notebook(template: Template, name: str, nb, home: Path, issues: list, parts: dict,
                   deleted: list[str], limits: sbx.Limits) -> dict:
    """Run one notebook of the student and grade its parts; returns what the feedback needs."""
    cells, restored = sandbox_cells(nb, template.release_cells[name])
    if restored:
        issues.append(("restored", f"{name}.ipynb: read-only cell(s) {', '.join(restored)} deleted; "
                                   "the grader put them back"))
    outputs: dict[int, dict] = {}
    box, died_at = _run_notebook(template, name, cells, home, limits, outputs)
    cutoff = None            # parts whose test cell comes after this notebook position score 0
    if died_at is not None:
        cutoff = cells[died_at]["position"] if died_at < len(cells) else None
        timed_out = "time" in (box.stopped or "")
        issues.append(("timeout" if timed_out else "kernel_died",
                       f"{name}.ipynb: the sandbox was stopped in cell {cells[died_at]['label'] if died_at < len(cells) else '?'}"
                       f" ({box.stopped}); parts tested after that cell score 0"))
        box.kill()
        # run again the cells before the one that stopped it, to grade the parts tested before
        first = {}
        box, again = _run_notebook(template, name, cells[:died_at], home, limits, first)
        if again is not None:
            box.kill()
            box = None
    if any((o.get("error") or {}).get("ename") == "CellTimeoutError" for o in outputs.values()):
        issues.append(("timeout", f"a cell ran longer than the {template.timeout} s limit and was stopped"))
    if any(o.get("truncated") for o in outputs.values()):
        issues.append(("output_truncated", "very long output was cut in the feedback"))

    positions = {_grade_id(c): i for i, c in enumerate(nb.cells) if _grade_id(c)}
    verdicts: dict[str, dict] = {}
    namespace = StudentNamespace(box) if box is not None else None
    import lstm_ref.grading as grading
    grading._remote_hook = _forbid_hook(box) if box is not None else None
    try:
        for cell in template.source_cells[name]:
            grade_id, kind = cell["grade_id"], cell["kind"]
            if kind == "provided":
                if namespace is not None:
                    # the grader's own set-up (imports, given code): it ran once at start-up,
                    # so an error here is the grader's, not the student's
                    exec(compile(cell["source"], f"<grader {grade_id}>", "exec"), namespace)
                continue
            if kind != "test":
                continue
            key = f"{name}:{grade_id}"
            points = float(cell["points"])
            if grade_id in deleted:
                verdicts[grade_id] = {"score": 0.0, "points": points, "message": "test cell deleted"}
                continue
            if namespace is None or (cutoff is not None and positions.get(grade_id, 10 ** 9) > cutoff):
                verdicts[grade_id] = {"score": 0.0, "points": points,
                                      "message": "not graded: your notebook stopped before this test"}
                continue
            try:
                exec(compile(cell["source"], f"<test {grade_id}>", "exec"), namespace)
            except sbx.SandboxGone as error:
                verdicts[grade_id] = {"score": 0.0, "points": points, "message": _message(error)}
                if "time" in str(error):
                    issues.append(("timeout", f"part {grade_id}: your code ran past its time limit "
                                              "and the sandbox was stopped"))
                else:
                    issues.append(("kernel_died", f"part {grade_id}: the sandbox stopped ({error})"))
                namespace = None
                continue
            except Exception as error:   # the test failed, in its own code or the student's
                verdicts[grade_id] = {"score": 0.0, "points": points, "message": _message(error)}
                continue
            parts[key] = points          # a part earns its points, never more
            verdicts[grade_id] = {"score": parts[key], "points": points, "message": ""}
    finally:
        grading._remote_hook = None
        if box is not None:
            box.close()
    return {"cells": cells, "outputs": outputs, "verdicts": verdicts}


def grade_student(template: Template, sub: Submission, workdir: Path,
                  limits: sbx.Limits | None = None) -> dict:
    """Grade ``sub``; the sandbox's folder and the feedback go under ``workdir``."""
    limits = limits or sbx.Limits.from_env()
    issues: list[tuple[str, str]] = list(sub.issues)
    parts = {p.key: 0.0 for p in template.parts}
    result = {"student": sub.student, "folder": sub.folder, "parts": parts,
              "issues": issues, "feedback": []}
    if sub.path is None:
        return result
    started = time.monotonic()
    for name in template.notebooks:
        path, renamed = find_notebook(sub.path, name, set(template.notebooks))
        if path is None:
            issues.append(("missing_notebook", f"{name}.ipynb is missing from the submission"))
            continue
        if renamed:
            issues.append(("renamed", renamed))
        problem = _notebook_problem(path)
        if problem is not None:
            issues.append(("invalid_notebook", f"{name}.ipynb is not a valid notebook ({problem}); it scores 0"))
            continue
        nb = nbformat.read(path, as_version=4)
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        if len(code_cells) > MAX_CODE_CELLS or any(len(c.source) > MAX_CELL_CHARS for c in code_cells):
            issues.append(("invalid_notebook", f"{name}.ipynb has {len(code_cells)} code cells or a cell "
                           f"over {MAX_CELL_CHARS} characters (at most {MAX_CODE_CELLS} cells are run); "
                           "it scores 0"))
            continue
        diff = compare_cells(nb, template.release_cells[name])
        if diff["deleted_tests"]:
            issues.append(("tests_deleted", f"{name}.ipynb: test cell(s) {', '.join(diff['deleted_tests'])} "
                                            "deleted; those parts score 0"))
        edited = diff["edited_tests"] + diff["edited_locked"]
        if edited:
            issues.append(("restored", f"{name}.ipynb: read-only cell(s) {', '.join(edited)} edited; "
                                       "the grader used the originals"))
        home = workdir / f"home-{name}"
        home.mkdir(parents=True, mode=0o700)
        _copy_helpers(template, home)
        sbx.prepare_home(home)
        graded = grade_notebook(template, name, nb, home, issues, parts, diff["deleted_tests"], limits)
        page = workdir / "feedback" / f"{name}.html"
        page.parent.mkdir(exist_ok=True)
        page.write_text(feedback_page(template, name, nb, graded))
        result["feedback"].append(str(page))
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


# ----------------------------------------------------------------------------- feedback

_STYLE = ("body{font-family:sans-serif;max-width:60em;margin:auto}pre{background:#f6f6f6;padding:.5em;"
          "white-space:pre-wrap}.out{background:#fff;border-left:3px solid #ccc}.err{color:#a00}"
          ".ok{color:#070}.part{border:1px solid #999;padding:.3em;margin:.5em 0}")


def feedback_page(template: Template, name: str, nb, graded: dict) -> str:
    """The student's notebook as they wrote it, with the outputs of its run in the sandbox and,
    at each test cell, the part's score and the message of its failed check."""
    by_position = {}
    for index, cell in enumerate(graded["cells"]):
        if index in graded["outputs"]:
            by_position.setdefault(cell["position"], []).append(graded["outputs"][index])
    release = template.release_cells[name]
    body = [f"<h1>{html.escape(template.assignment)}: {html.escape(name)}.ipynb</h1>"]
    total = sum(v["score"] for v in graded["verdicts"].values())
    body.append(f"<p>Score: <b>{total:g} / {sum(v['points'] for v in graded['verdicts'].values()):g}</b></p>")
    shown_tests = set()
    for position, cell in enumerate(nb.cells):
        grade_id = _grade_id(cell)
        info = release.get(grade_id or "")
        if info is not None and _is_test(info) and grade_id not in shown_tests:
            shown_tests.add(grade_id)
            body.append(_part_html(grade_id, info["source"], graded["verdicts"].get(grade_id)))
            continue
        if cell.cell_type == "markdown":
            body.append(f"<pre class='md'>{html.escape(cell.source[:20_000])}</pre>")
            continue
        if cell.cell_type != "code":
            continue
        body.append(f"<pre>{html.escape(cell.source[:20_000])}</pre>")
        for output in by_position.get(position, []):
            for stream, text in (output.get("streams") or {}).items():
                body.append(f"<pre class='out'>{html.escape(str(text)[:20_000])}</pre>")
            error = output.get("error")
            if error:
                text = f"{error.get('traceback') or ''}\n{error.get('ename')}: {error.get('evalue')}"
                body.append(f"<pre class='out err'>{html.escape(text.strip()[:5000])}</pre>")
    for grade_id, verdict in graded["verdicts"].items():
        if grade_id not in shown_tests:
            body.append(_part_html(grade_id, release.get(grade_id, {}).get("source", ""), verdict))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(name)}</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>")


def _part_html(grade_id: str, visible_source: str, verdict: dict | None) -> str:
    """A graded part: the visible test (as the release has it), the score and why it failed."""
    verdict = verdict or {"score": 0.0, "points": 0.0, "message": "not graded"}
    status = (f"<span class='ok'>passed</span>" if not verdict["message"]
              else f"<span class='err'>{html.escape(verdict['message'])}</span>")
    return (f"<div class='part'><b>{html.escape(grade_id)}: {verdict['score']:g} / {verdict['points']:g}</b> "
            f"{status}<pre>{html.escape(visible_source)}</pre></div>")
