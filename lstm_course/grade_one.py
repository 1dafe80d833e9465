"""Grade one student in their own scratch course (this runs in a child process).

Steps: check and prepare the student's notebooks (JSON, grade ids, the grader's setup cell),
run nbgrader's autograde, read the scores from the scratch gradebook, keep only the points the
guard vouches for (:mod:`.integrity`), write them back to the gradebook, then let nbgrader
write the feedback.  The outcome goes to ``result.json`` in the student's scratch folder.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from pathlib import Path

import nbformat

from lstm_course import integrity
from lstm_course.config import load_course_config, scratch_config
from lstm_course.parallel import adopt_orphans, kill_descendants
from lstm_course.scratch import Template, make_api, student_course
from lstm_course.submissions import Submission, find_notebook

RESULT_FILE = "result.json"


def _notebook_problem(path: Path) -> str | None:
    """Why ``path`` cannot be graded as a notebook, in one short sentence, or None."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8 text: {error.reason} at byte {error.start}"
    try:
        json.loads(text)
    except ValueError as error:
        return f"broken JSON: {getattr(error, 'msg', error)} at line {getattr(error, 'lineno', '?')}"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as error:   # any other way the file can fail to be a notebook
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return f"not in nbformat: {first[:160]}"
    return None


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _put_back_read_only_cells(nb, release_cells: dict[str, dict]) -> list[str]:
    """Re-insert deleted read-only code cells (imports, set-up) where they were; returns their ids.

    nbgrader restores edited read-only cells but not deleted ones; without its set-up cell a
    notebook would run the tests against whatever the student chose to import.
    """
    present = {_grade_id(c) for c in nb.cells}
    restored = []
    order = list(release_cells)
    for position, grade_id in enumerate(order):
        info = release_cells[grade_id]
        if grade_id in present or "binds" not in info:
            continue
        before = [g for g in order[:position] if g in present]
        index = 0
        if before:
            index = 1 + max(i for i, c in enumerate(nb.cells) if _grade_id(c) == before[-1])
        nb.cells.insert(index, nbformat.from_dict(info["cell"]))
        present.add(grade_id)
        restored.append(grade_id)
    return restored


def _add_snapshots(nb, release_cells: dict[str, dict], run) -> None:
    """After each read-only code cell, a cell that records the names it bound."""
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        names = release_cells.get(_grade_id(cell) or "", {}).get("binds")
        if names:
            cells.append(nbformat.v4.new_code_cell(integrity.snapshot_source(run, names)))
    nb.cells = cells


def _prepare_notebooks(template: Template, sub: Submission, course: Path, record: Path,
                       issues: list, notes: dict) -> list[str]:
    """Copy the student's notebooks into ``submitted/``; returns the notebooks that can run."""
    target = course / "submitted" / sub.student / template.assignment
    target.mkdir(parents=True)
    ready = []
    setup = integrity.setup_source(template.secrets, record, template.watch_torch)
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
        diff = integrity.compare_cells(nb, template.release_cells[name])
        notes[name] = diff
        if diff["deleted_tests"]:
            issues.append(("tests_deleted", f"{name}.ipynb: test cell(s) {', '.join(diff['deleted_tests'])} "
                                            "deleted; those parts score 0"))
        edited = diff["edited_tests"] + diff["edited_locked"]
        if edited:
            issues.append(("restored", f"{name}.ipynb: read-only cell(s) {', '.join(edited)} edited; "
                                       "nbgrader restored the originals before grading"))
        put_back = _put_back_read_only_cells(nb, template.release_cells[name])
        if put_back:
            issues.append(("restored", f"{name}.ipynb: read-only cell(s) {', '.join(put_back)} deleted; "
                                       "the grader put them back"))
        _add_snapshots(nb, template.release_cells[name], template.secrets)
        nb.cells.insert(0, nbformat.v4.new_code_cell(setup))
        nb.cells.append(nbformat.v4.new_code_cell(integrity.final_check_source(template.secrets)))
        nbformat.write(nb, target / f"{name}.ipynb")
        ready.append(name)
    return ready


def _hide_hidden_tests_in_feedback(config) -> None:
    """Feedback shows the graded cells without their hidden tests (nbgrader shows them)."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    config.GenerateFeedback.preprocessors = [ClearHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
    # a student's own cell that mentions hidden tests must not stop their feedback
    config.ClearHiddenTests.enforce_metadata = False


def _kernel_died(log: str) -> bool:
    lowered = log.lower()
    return "deadkernelerror" in lowered or "kernel died" in lowered


def grade_student(template: Template, sub: Submission, course_root: Path, workdir: Path) -> dict:
    """Grade ``sub``; everything is written under ``workdir``.  Returns the result dict."""
    issues: list[tuple[str, str]] = list(sub.issues)
    parts = {p.key: 0.0 for p in template.parts}
    result = {"student": sub.student, "folder": sub.folder, "parts": parts,
              "issues": issues, "feedback": []}
    if sub.path is None:
        return result
    course = student_course(template, workdir / "course")
    record = workdir / template.secrets.record_name
    notes: dict = {}
    ready = _prepare_notebooks(template, sub, course, record, issues, notes)
    if not ready:
        return result

    config = scratch_config(load_course_config(course_root), course, template.timeout)
    _hide_hidden_tests_in_feedback(config)
    api = make_api(config)
    started = time.monotonic()
    outcome = api.autograde(template.assignment, sub.student, force=True, create=True)
    log = (outcome.get("log") or "") + (outcome.get("error") or "")
    result["seconds"] = {"autograde": round(time.monotonic() - started, 2)}
    (workdir / "autograde.log").write_text(log)
    died = not outcome["success"] and _kernel_died(log)
    if not outcome["success"] and not died:
        issues.append(("error", "nbgrader could not autograde this submission: "
                       + (log.strip().splitlines() or ["no log"])[-1][:300]))

    # what nbgrader recorded, notebook by notebook
    from nbgrader.api import Gradebook, MissingEntry
    nbgrader_scores: dict[str, float] = {}
    with Gradebook(config.CourseDirectory.db_url) as gb:
        for name in ready:
            try:
                submitted = gb.find_submission_notebook(name, template.assignment, sub.student)
            except MissingEntry:
                continue
            for grade in submitted.grades:
                nbgrader_scores[f"{name}:{grade.name}"] = float(grade.score or 0.0)

    records = integrity.read_records(record, template.secrets)
    tampered: dict[str, list[str]] = {}
    suppressed: list[str] = []
    for part in template.parts:
        name, key = part.notebook, part.key
        if name not in ready or part.grade_id in notes[name]["deleted_tests"]:
            continue
        rec = records.get(key)
        if rec is not None and not rec["clean"]:
            tampered[key] = rec["problems"]
            continue
        if died:
            # the kernel died before grading finished: a part counts only if its test ran to
            # the end (the guard's clean record says so)
            parts[key] = part.points if rec is not None else 0.0
            continue
        score = nbgrader_scores.get(key, 0.0)
        if score > 0 and rec is None:
            suppressed.append(key)   # a test "passed" without reaching its last line
            continue
        parts[key] = score
    late = records.get(integrity.END_OF_NOTEBOOK)
    if late is not None and not late["clean"] and not tampered:
        issues.append(("tampered", "by the end of the notebook, code the tests rely on had been replaced "
                       f"({', '.join(late['problems'][:6])}); no part passed because of it"))
    if died:
        issues.append(("kernel_died", "the Python kernel died while the notebook ran (e.g. os._exit "
                       "or a crash); parts whose tests had not finished score 0"))
    if tampered:
        what = sorted({p for probs in tampered.values() for p in probs})
        issues.append(("tampered", f"part(s) {', '.join(k.split(':', 1)[1] for k in tampered)} ran after "
                       f"code the tests rely on was replaced ({', '.join(what[:6])}); they score 0"))
    if suppressed:
        issues.append(("tampered", f"part(s) {', '.join(k.split(':', 1)[1] for k in suppressed)} reported "
                       "success without their tests running to the end; they score 0"))

    if outcome["success"]:
        _finish_feedback(template, sub, course, config, api, parts, nbgrader_scores, issues, result, workdir)
    return result


def _finish_feedback(template, sub, course, config, api, parts, nbgrader_scores, issues, result, workdir):
    """Cap outputs, store the final scores in the gradebook, and let nbgrader write feedback."""
    from nbgrader.api import Gradebook

    flags = {"timeout": False, "truncated": False}
    autograded = course / "autograded" / sub.student / template.assignment
    for path in sorted(autograded.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found = integrity.strip_setup_and_cap(nb)
        flags = {k: flags[k] or found[k] for k in flags}
        nbformat.write(nb, path)
    if flags["timeout"]:
        issues.append(("timeout", f"a cell ran longer than the {template.timeout} s limit and was interrupted"))
    if flags["truncated"]:
        issues.append(("output_truncated", "very long output was cut in the feedback"))

    with Gradebook(config.CourseDirectory.db_url) as gb:
        for part in template.parts:
            if nbgrader_scores.get(part.key) is None or parts[part.key] == nbgrader_scores[part.key]:
                continue
            grade = gb.find_grade(part.grade_id, part.notebook, template.assignment, sub.student)
            grade.manual_score = parts[part.key]
        gb.db.commit()

    started = time.monotonic()
    outcome = api.generate_feedback(template.assignment, sub.student, force=True)
    result.setdefault("seconds", {})["feedback"] = round(time.monotonic() - started, 2)
    if not outcome["success"]:
        issues.append(("error", "nbgrader could not write feedback: "
                       + ((outcome.get("log") or "").strip().splitlines() or ["no log"])[-1][:300]))
        return
    feedback = course / "feedback" / sub.student / template.assignment
    out = workdir / "feedback"
    out.mkdir(exist_ok=True)
    for html in sorted(feedback.glob("*.html")):
        shutil.copy2(html, out / html.name)
        result["feedback"].append(str(out / html.name))


def run_child(template: Template, sub: Submission, course_root: str, workdir: str) -> None:
    """Entry point of the child process: grade, then write ``result.json`` whatever happens."""
    workdir_path = Path(workdir)
    workdir_path.mkdir(parents=True, exist_ok=True)
    # The kernel inherits these descriptors: whatever it writes to the real stdout/stderr
    # (not the notebook) goes to a file instead of the instructor's terminal.
    adopt_orphans()
    log_fd = os.open(workdir_path / "child.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    try:
        result = grade_student(template, sub, Path(course_root), workdir_path)
    except Exception:
        result = {"student": sub.student, "folder": sub.folder,
                  "parts": {p.key: 0.0 for p in template.parts},
                  "issues": list(sub.issues) + [("error", "the grader failed on this submission: "
                                                 + traceback.format_exc().strip().splitlines()[-1][:300])],
                  "feedback": []}
        traceback.print_exc()
    kill_descendants()
    tmp = workdir_path / (RESULT_FILE + ".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(workdir_path / RESULT_FILE)
