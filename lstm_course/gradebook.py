"""The gradebook in ``OUT/``: one record per student, updated per student, never replaced.

``OUT/gradebook.json`` holds the assignment, its graded parts and one record per student
(parts, total, status, detail, SHA-256 of the submission, when it was submitted and graded).
Every run of ``lstm-course grade`` updates the records of the students it graded and nothing
else; ``grades.csv``, ``report.png`` and the exports are rewritten from the whole gradebook.

* ``--students A,B`` grades only those students (by id or folder name).
* A full run that no longer finds a student keeps their record and marks it ``absent`` (the
  score stays, the detail says since when); nothing is deleted silently.
* A regraded student's old feedback folder is removed before the new one is written.
* Every run appends to ``OUT/audit.log`` (JSON lines: time, student, SHA-256, score per part,
  status, lateness), and records the run itself.
* ``OUT`` holds one assignment: grading another one into it, or the same one with other parts
  or points, is refused.
* ``--shard K/N`` grades the students whose id hashes to ``K`` (``0 <= K < N``); ``merge``
  combines the shards' outputs into one (refusing overlaps and mixed assignments).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lstm_course import report
from lstm_course.config import UsageError
from lstm_course.deadlines import Deadline

GRADEBOOK = "gradebook.json"
AUDIT_LOG = "audit.log"
FORMAT = 1
LATE_COLUMNS = ["submitted_at", "late_days", "penalty", "final_score"]


@dataclass
class RunOptions:
    """What the instructor asked of this run besides grading."""

    students: list[str] | None = None        # --students (ids or folder names)
    shard: tuple[int, int] | None = None     # --shard K/N
    deadline: Deadline | None = None         # --deadline/--late-policy/--extensions
    command: list[str] = field(default_factory=list)   # for the audit log


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def parse_students(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--students needs at least one name (e.g. --students alice,bob)")
    return names


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``K/N`` with ``0 <= K < N`` (K is Kubernetes' ``$JOB_COMPLETION_INDEX``)."""
    if text is None:
        return None
    k, sep, n = text.partition("/")
    try:
        k_i, n_i = int(k), int(n)
    except ValueError:
        k_i, n_i = -1, 0
    if not sep or n_i < 1 or not 0 <= k_i < n_i:
        raise UsageError(f"--shard {text!r}: expected K/N with 0 <= K < N (e.g. --shard 0/4)")
    return k_i, n_i


def shard_of(student: str, count: int) -> int:
    """A stable shard for a student id: the same on every machine, Python version and run."""
    return int.from_bytes(hashlib.sha256(student.encode("utf-8")).digest()[:8], "big") % count


# ----------------------------------------------------------------------------- the file itself

def load(out: Path) -> dict | None:
    path = Path(out) / GRADEBOOK
    if not path.exists():
        return None
    try:
        book = json.loads(path.read_text())
    except ValueError as error:
        raise UsageError(f"{path} is not readable JSON ({error}); restore it or grade into a new --out") from None
    if book.get("format") != FORMAT or "assignment" not in book or "students" not in book:
        raise UsageError(f"{path} is not a gradebook written by this lstm-course (format {FORMAT})")
    return book


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save(out: Path, book: dict) -> None:
    _write_atomic(Path(out) / GRADEBOOK, json.dumps(book, indent=1, sort_keys=True) + "\n")


@contextlib.contextmanager
def locked(out: Path):
    """One writer at a time per OUT (two runs into one OUT would lose each other's records)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".gradebook.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(f"another lstm-course run is writing {out}; wait for it to finish") from None
        yield


def parts_json(parts) -> list[dict]:
    return [{"notebook": p.notebook, "grade_id": p.grade_id, "points": float(p.points)} for p in parts]


class _Part:
    def __init__(self, notebook: str, grade_id: str, points: float):
        self.notebook, self.grade_id, self.points = notebook, grade_id, points

    @property
    def key(self) -> str:
        return f"{self.notebook}:{self.grade_id}"


def parts_from_json(items: list[dict]) -> list[_Part]:
    return [_Part(p["notebook"], p["grade_id"], float(p["points"])) for p in items]


def source_parts(source: Path) -> list[dict]:
    """The graded parts of ``solutions/<assignment>`` (test cells with their points), as JSON."""
    import nbformat

    parts = []
    for path in sorted(Path(source).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                parts.append({"notebook": path.stem, "grade_id": meta["grade_id"],
                              "points": float(meta.get("points", 0))})
    return parts


def notebook_names(source: Path) -> list[str]:
    return sorted(p.stem for p in Path(source).glob("*.ipynb"))


def check_compatible(out: Path, assignment: str, parts: list[dict] | None) -> dict | None:
    """The gradebook in ``out`` if this assignment (and these parts) may be graded into it."""
    out = Path(out)
    book = load(out)
    if book is None:
        if (out / "grades.csv").exists():
            raise UsageError(f"{out} has a grades.csv but no {GRADEBOOK} (written by an older lstm-course): "
                             "grade into a new --out so that those grades are not lost")
        return None
    if book["assignment"] != assignment:
        raise UsageError(f"{out} holds grades of assignment {book['assignment']!r}, not {assignment!r}: "
                         "one --out per assignment (grades of different assignments are never mixed)")
    if parts is not None and _parts_key(book["parts"]) != _parts_key(parts):
        raise UsageError(f"{out} was graded with other parts or points for {assignment!r} "
                         f"({_describe(book['parts'])}; now {_describe(parts)}): grade into a new --out")
    return book


def _parts_key(parts: list[dict]) -> list[tuple]:
    return [(p["notebook"], p["grade_id"], float(p["points"])) for p in parts]


def _describe(parts: list[dict]) -> str:
    return ", ".join(f"{p['grade_id']} {p['points']:g}" for p in parts) or "no parts"


# ----------------------------------------------------------------------------- choosing students

def select(collection, out: Path, assignment: str, source: Path | None, options: RunOptions | None):
    """The students this run grades; refuses what cannot end well before anything is graded.

    Raises UsageError when ``OUT`` belongs to another assignment, when no student folder is
    found, or when a name given to ``--students`` matches nobody.
    """
    options = options or RunOptions()
    check_compatible(out, assignment, source_parts(source) if source is not None else None)
    subs = collection.submissions
    if not any(s.path is not None for s in subs):
        seen = "; ".join(collection.warnings[:5]) or "it is empty"
        raise UsageError(f"no student folder found in SUBMISSIONS (expected SUBMISSIONS/<student>/"
                         f"<notebook>.ipynb): {seen}")
    if options.students is not None:
        wanted = set(options.students)
        unknown = sorted(w for w in wanted if not any(w in (s.student, s.folder) for s in subs))
        if unknown:
            known = ", ".join(sorted(s.student for s in subs if s.path is not None)[:20])
            raise UsageError(f"--students: no submission for {', '.join(map(repr, unknown))} "
                             f"(students found: {known})")
        subs = [s for s in subs if s.student in wanted or s.folder in wanted]
    if options.shard is not None:
        k, n = options.shard
        subs = [s for s in subs if shard_of(s.student, n) == k]
    collection.submissions = subs
    return collection


# ----------------------------------------------------------------------------- recording a run

def _issues_of(result: dict, sub, template) -> list[tuple[str, str]]:
    issues = [tuple(i) for i in result["issues"]]
    if sub is not None and template is not None and getattr(sub, "path", None) is not None:
        from lstm_course.submissions import metadata_issues
        try:
            extra = metadata_issues(sub.path, list(template.notebooks), template.release_cells)
        except Exception as error:   # never lose a grade to this report
            extra = [("error", f"could not check the notebook's metadata: {error}")]
        issues = extra + [i for i in issues if i not in extra]
    seen: list[tuple[str, str]] = []
    for issue in issues:
        if issue not in seen:
            seen.append(issue)
    return seen


def make_record(assignment: str, parts, result: dict, sub, template, graded_at: str) -> dict:
    issues = _issues_of(result, sub, template)
    scores = {p.key: min(float(result["parts"].get(p.key, 0.0)), float(p.points)) for p in parts}
    return {
        "student": result["student"], "folder": result["folder"], "assignment": assignment,
        "parts": scores, "total": round(sum(scores.values()), 6),
        "status": report.status_of(issues),
        "detail": " ".join("; ".join(detail for _, detail in issues).split()),
        "issues": [list(i) for i in issues],
        "sha256": getattr(sub, "sha256", None), "submitted_at": getattr(sub, "submitted_at", None),
        "time_source": getattr(sub, "time_source", None), "graded_at": graded_at,
        "absent_since": None, "feedback": [],
    }


def rows(book: dict) -> list[dict]:
    """The rows of ``grades.csv``: one per record, sorted by student id."""
    parts = parts_from_json(book["parts"])
    columns = report.part_columns(parts)
    max_score = sum(p.points for p in parts)
    deadline = Deadline.from_json(book.get("deadline"))
    out = []
    for student in sorted(book["students"]):
        rec = book["students"][student]
        status, detail = rec["status"], rec["detail"]
        if rec.get("absent_since"):
            detail = (f"not among the submissions of the run at {rec['absent_since']}; "
                      f"grade kept from {rec['graded_at']} (status then: {status})"
                      + (f"; {detail}" if detail else ""))
            status = "absent"
        row = {"student": student, "assignment": book["assignment"], "score": report.fmt(rec["total"]),
               "max_score": report.fmt(max_score), "status": status, "detail": detail,
               "folder": rec["folder"]}
        for column, part in zip(columns, parts):
            row[column] = report.fmt(rec["parts"].get(part.key, 0.0))
        late = (deadline.lateness(student, rec["folder"], rec.get("submitted_at"), max_score)
                if deadline else {"late_days": None, "penalty": 0.0})
        row["submitted_at"] = rec.get("submitted_at") or ""
        row["late_days"] = "" if late["late_days"] is None else str(late["late_days"])
        row["penalty"] = report.fmt(late["penalty"])
        row["final_score"] = report.fmt(max(0.0, round(rec["total"] - late["penalty"], 6)))
        out.append(row)
    return out


def csv_text(book: dict) -> str:
    parts = parts_from_json(book["parts"])
    handle = io.StringIO()
    writer = csv.DictWriter(handle, fieldnames=report.BASE_COLUMNS + report.part_columns(parts) + LATE_COLUMNS,
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(book))
    return handle.getvalue()


def write_outputs(out: Path, book: dict) -> list[dict]:
    """``gradebook.json``, ``grades.csv`` and ``report.png`` from the whole gradebook."""
    save(out, book)
    _write_atomic(out / "grades.csv", csv_text(book))
    all_rows = rows(book)
    if all_rows:
        report.write_figure(out / "report.png", [r for r in all_rows if r["status"] != "absent"],
                            parts_from_json(book["parts"]), book["assignment"])
    return all_rows


def audit(out: Path, entries: list[dict]) -> None:
    with open(Path(out) / AUDIT_LOG, "a") as handle:
        for entry in entries:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _audit_entry(run_time: str, rec: dict, row: dict | None) -> dict:
    return {"event": "graded", "time": run_time, "student": rec["student"], "folder": rec["folder"],
            "assignment": rec["assignment"], "sha256": rec["sha256"], "submitted_at": rec["submitted_at"],
            "parts": rec["parts"], "score": rec["total"], "status": rec["status"],
            "late_days": row and row["late_days"], "penalty": row and row["penalty"]}


def new_book(assignment: str, parts: list[dict]) -> dict:
    return {"format": FORMAT, "assignment": assignment, "parts": parts, "deadline": None,
            "students": {}, "runs": []}


def record_run(out: Path, template, collection, results: list[dict], options: RunOptions | None = None, *,
               quiet: bool = False, seconds: float = 0.0) -> list[dict]:
    """Merge one run's per-student results into ``out``; returns the rows of this run's students.

    ``template`` gives the assignment, its parts (``.parts``, ``.notebooks``, ``.release_cells``);
    ``results`` are the per-student result dicts of the grader.
    """
    options = options or RunOptions()
    out = Path(out)
    assignment, parts = template.assignment, template.parts
    with locked(out):
        book = check_compatible(out, assignment, parts_json(parts)) or new_book(assignment, parts_json(parts))
        if options.deadline is not None:
            book["deadline"] = options.deadline.to_json()
        run_time = now_iso()
        subs = {s.student: s for s in collection.submissions}
        feedback_root = out / "feedback"
        feedback_root.mkdir(exist_ok=True)
        graded: list[dict] = []
        for result in sorted(results, key=lambda r: r["student"]):
            rec = make_record(assignment, parts, result, subs.get(result["student"]), template, run_time)
            book["students"][rec["student"]] = rec
            graded.append(rec)
        all_rows = {r["student"]: r for r in rows(book)}
        for rec in graded:
            folder = feedback_root / rec["student"]
            if folder.exists() or folder.is_symlink():
                if folder.is_symlink() or not folder.is_dir():
                    folder.unlink()
                else:
                    shutil.rmtree(folder)     # stale feedback of an earlier grading
            folder.mkdir(parents=True)
            result = next(r for r in results if r["student"] == rec["student"])
            copied = []
            for html in result.get("feedback", []):
                shutil.copy2(html, folder / Path(html).name)
                copied.append(str(folder / Path(html).name))
            rec["feedback"] = [Path(c).name for c in copied]
            report.write_summary_html(folder / "index.html", all_rows[rec["student"]], parts, copied)

        absent: list[str] = []
        if options.students is None:
            # a full run (of this shard): who was graded before but is not here any more
            present = {s.student for s in collection.submissions}
            for student, rec in book["students"].items():
                in_scope = options.shard is None or shard_of(student, options.shard[1]) == options.shard[0]
                if in_scope and student not in present and not rec.get("absent_since"):
                    rec["absent_since"] = run_time
                    absent.append(student)
        mode = ("students" if options.students is not None else "full") + (
            f" shard {options.shard[0]}/{options.shard[1]}" if options.shard else "")
        book["runs"].append({"time": run_time, "mode": mode, "graded": len(graded), "marked_absent": absent})
        if options.shard is not None and options.students is None:
            book["shard"] = f"{options.shard[0]}/{options.shard[1]}"
        final_rows = write_outputs(out, book)
        by_student = {r["student"]: r for r in final_rows}
        entries = [{"event": "run", "time": run_time, "assignment": assignment, "mode": mode,
                    "graded": len(graded), "command": options.command}]
        entries += [_audit_entry(run_time, rec, by_student.get(rec["student"])) for rec in graded]
        entries += [{"event": "absent", "time": run_time, "student": s, "assignment": assignment,
                     "kept_score": book["students"][s]["total"]} for s in absent]
        audit(out, entries)
        with open(out / "warnings.txt", "a") as handle:   # kept across runs, like the grades
            if collection.warnings:
                handle.write(f"# run at {run_time} ({mode})\n")
            for warning in collection.warnings:
                handle.write(f"{warning}\n")
    run_rows = [by_student[rec["student"]] for rec in graded]
    if not quiet:
        print(report.summary_text(run_rows, collection.warnings, out, seconds))
        print(f"gradebook: {len(final_rows)} student(s) in {out / GRADEBOOK}"
              + (f"; {len(absent)} no longer submitted, kept and marked absent: {', '.join(absent)}" if absent else ""))
    return run_rows


# ----------------------------------------------------------------------------- merging shards

def merge(outs: list[Path], target: Path, *, quiet: bool = False) -> list[dict]:
    """Combine the gradebooks of ``outs`` (e.g. shards) into a new ``target``."""
    target = Path(target)
    if not outs:
        raise UsageError("merge needs at least one OUT folder")
    if target.exists() and any(target.iterdir()):
        raise UsageError(f"--out {target} is not empty: merge writes a new output folder")
    books = []
    for out in outs:
        book = load(Path(out))
        if book is None:
            raise UsageError(f"{out} has no {GRADEBOOK}: not an lstm-course grade output")
        books.append((Path(out), book))
    first_out, first = books[0]
    owner: dict[str, Path] = {}
    for out, book in books:
        if book["assignment"] != first["assignment"]:
            raise UsageError(f"{out} holds assignment {book['assignment']!r}, {first_out} holds "
                             f"{first['assignment']!r}: outputs of different assignments are never merged")
        if _parts_key(book["parts"]) != _parts_key(first["parts"]):
            raise UsageError(f"{out} and {first_out} were graded with different parts or points")
        if book.get("deadline") != first.get("deadline"):
            raise UsageError(f"{out} and {first_out} have different deadlines or late policies")
        for student in book["students"]:
            if student in owner:
                raise UsageError(f"student {student!r} is in both {owner[student]} and {out}: "
                                 "overlapping outputs are not merged (which grade would count?)")
            owner[student] = out
    merged = new_book(first["assignment"], first["parts"])
    merged["deadline"] = first.get("deadline")
    for out, book in books:
        merged["students"].update(book["students"])
        merged["runs"].extend(dict(run, source=str(out)) for run in book["runs"])
    target.mkdir(parents=True, exist_ok=True)
    (target / "feedback").mkdir()
    for student, out in sorted(owner.items()):
        source = out / "feedback" / student
        if source.is_dir() and not source.is_symlink():
            shutil.copytree(source, target / "feedback" / student, symlinks=True)
    with open(target / AUDIT_LOG, "w") as log, open(target / "warnings.txt", "w") as warnings:
        for out, _ in books:
            if (out / AUDIT_LOG).exists():
                log.write((out / AUDIT_LOG).read_text())
            if (out / "warnings.txt").exists():
                warnings.write((out / "warnings.txt").read_text())
    audit(target, [{"event": "merge", "time": now_iso(), "assignment": merged["assignment"],
                    "sources": [str(o) for o, _ in books], "students": len(owner)}])
    all_rows = write_outputs(target, merged)
    if not quiet:
        print(f"merged {len(books)} output(s): {len(all_rows)} student(s) of {merged['assignment']!r} "
              f"into {target}")
    return all_rows
