"""``lstm-course export OUT --format canvas|moodle|csv``: the gradebook in an LMS's import format.

* ``canvas``: Canvas's gradebook import CSV: ``Student, ID, SIS User ID, SIS Login ID,
  Section`` then one column for the assignment (its header must be the Canvas assignment's
  name; ``--column`` sets it).  Canvas matches a row by ID, SIS User ID or SIS Login ID.
* ``moodle``: Moodle's "Import grades from CSV": an identifier column (``Email address``,
  ``Username`` or ``ID number``: what the roster has, or ``--moodle-id``), the grade column and
  a ``Feedback`` column (lateness), to be mapped on Moodle's import page.
* ``csv``: every column of ``grades.csv`` (per-part scores, status, lateness) plus the
  roster's columns.

The grade written is ``final_score`` (the score less any late penalty).  A roster CSV maps
folder names (or student ids) to LMS identities: a ``folder`` column and any of ``name``,
``id``, ``sis_user_id``, ``sis_login_id``, ``section``, ``email``, ``username``, ``idnumber``
(Canvas's own headers such as ``SIS User ID`` work too).  Students of the gradebook without a
roster row, and roster rows without a grade, are reported, never guessed.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

from lstm_course import gradebook
from lstm_course.config import UsageError

ROSTER_FIELDS = ["name", "id", "sis_user_id", "sis_login_id", "section", "email", "username", "idnumber"]
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_IDS = {"email": "Email address", "username": "Username", "idnumber": "ID number"}
_ALIASES = {"student": "name", "student_name": "name", "canvas_id": "id", "user_id": "id",
            "email_address": "email", "id_number": "idnumber", "login": "sis_login_id"}


def _key(header: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")
    return _ALIASES.get(key, key)


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """folder name (or student id) -> {roster field: value}."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--roster {path} does not exist")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise UsageError(f"--roster {path} is empty")
        keys = [_key(h) for h in header]
        if "folder" not in keys:
            raise UsageError(f"--roster {path}: no 'folder' column (the submission folder name or student "
                             f"id of each row); columns found: {', '.join(header)}")
        roster: dict[str, dict[str, str]] = {}
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            row = {k: v.strip() for k, v in zip(keys, values) if k in ROSTER_FIELDS or k == "folder"}
            folder = row.get("folder", "")
            if not folder:
                raise UsageError(f"--roster {path}, line {number}: no folder")
            if folder in roster:
                raise UsageError(f"--roster {path}, line {number}: folder {folder!r} is listed twice")
            roster[folder] = row
    return roster


def _match(row: dict, roster: dict[str, dict[str, str]]) -> dict[str, str] | None:
    return roster.get(row["folder"]) or roster.get(row["student"])


def export(out: Path, fmt: str, roster_path: Path | None = None, target: Path | None = None, *,
           column: str | None = None, moodle_id: str | None = None, quiet: bool = False) -> dict:
    """Write the export; returns {"path", "rows", "unmatched", "not_graded"}."""
    out = Path(out)
    book = gradebook.load(out)
    if book is None:
        raise UsageError(f"{out} has no {gradebook.GRADEBOOK}: grade into it first (lstm-course grade ... --out {out})")
    if fmt not in ("canvas", "moodle", "csv"):
        raise UsageError(f"--format {fmt!r}: expected canvas, moodle or csv")
    roster = read_roster(roster_path) if roster_path else None
    rows = [r for r in gradebook.rows(book) if r["status"] != "rejected"]
    column = column or book["assignment"]
    unmatched: list[str] = []
    matched: dict[str, dict[str, str]] = {}
    for row in rows:
        entry = _match(row, roster) if roster is not None else None
        if roster is not None and entry is None:
            unmatched.append(row["folder"])
        elif entry is not None:
            matched[row["student"]] = entry
    used = {e["folder"] for e in matched.values()}
    not_graded = sorted(f for f in (roster or {}) if f not in used)

    handle = io.StringIO()
    writer = csv.writer(handle, lineterminator="\n")
    written = 0
    if fmt == "canvas":
        writer.writerow(CANVAS_COLUMNS + [column])
        for row in rows:
            entry = matched.get(row["student"])
            if roster is not None and entry is None:
                continue
            entry = entry or {}
            writer.writerow([entry.get("name") or row["folder"], entry.get("id", ""), entry.get("sis_user_id", ""),
                             entry.get("sis_login_id", ""), entry.get("section", ""), row["final_score"]])
            written += 1
    elif fmt == "moodle":
        if moodle_id is None:
            have = {k for e in (roster or {}).values() for k, v in e.items() if v}
            moodle_id = next((k for k in MOODLE_IDS if k in have), "username")
        if moodle_id not in MOODLE_IDS:
            raise UsageError(f"--moodle-id {moodle_id!r}: expected one of {', '.join(MOODLE_IDS)}")
        writer.writerow([MOODLE_IDS[moodle_id], column, "Feedback"])
        for row in rows:
            entry = matched.get(row["student"])
            if roster is not None and (entry is None or not entry.get(moodle_id)):
                if entry is not None:
                    unmatched.append(row["folder"])
                continue
            ident = entry[moodle_id] if entry is not None else row["student"]
            writer.writerow([ident, row["final_score"], _feedback(row)])
            written += 1
    else:
        fields = list(rows[0]) if rows else gradebook.csv_text(book).splitlines()[0].split(",")
        extra = ROSTER_FIELDS if roster is not None else []
        writer.writerow(fields + extra)
        for row in rows:
            entry = matched.get(row["student"], {})
            writer.writerow([row[f] for f in fields] + [entry.get(f, "") for f in extra])
            written += 1
    target = Path(target) if target else out / f"export-{fmt}.csv"
    target.write_text(handle.getvalue(), encoding="utf-8")
    if not quiet:
        print(f"{fmt}: {written} grade(s) of {book['assignment']!r} written to {target}")
        if roster is None and fmt != "csv":
            print("  no --roster: rows carry folder names only; the LMS may not match them", file=sys.stderr)
        if unmatched:
            print(f"  not in the roster (left out): {', '.join(sorted(set(unmatched)))}", file=sys.stderr)
        if not_graded:
            print(f"  in the roster but not graded: {', '.join(not_graded)}", file=sys.stderr)
    return {"path": target, "rows": written, "unmatched": sorted(set(unmatched)), "not_graded": not_graded}


def _feedback(row: dict) -> str:
    if row["late_days"] not in ("", "0"):
        return (f"submitted {row['late_days']} day(s) late: -{row['penalty']} point(s) "
                f"(score {row['score']}, final {row['final_score']})")
    return ""
