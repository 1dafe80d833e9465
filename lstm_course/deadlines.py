"""Deadlines, late policies and extensions for ``lstm-course grade``.

A submission's time is its newest notebook's time stamp (the zip entry's, or the file's
modification time; see :mod:`.submissions`).  It is compared with the deadline (or the student's
extended deadline); every *started* day late costs ``per_day`` percent of the assignment's
maximum score, at most ``cap`` percent in all, and a score never goes below 0.  Times without a
time zone are read as UTC.

The settings are kept in the gradebook (``OUT/gradebook.json``), so a later regrade of a few
students uses them too and lateness is recomputed for everyone from the stored times.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

from lstm_course.config import UsageError

DAY = 86400.0


def parse_time(text: str, what: str) -> dt.datetime:
    """An ISO 8601 time (``2026-03-01T23:59:00+01:00``, ``2026-03-01``, ``...Z``); naive = UTC."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{what} {text!r} is not an ISO 8601 time (e.g. 2026-03-01T23:59:00+01:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class LatePolicy:
    """Percent of the maximum score taken off per started day late, and the most taken off."""

    per_day: float = 0.0
    cap: float = 100.0

    @classmethod
    def parse(cls, text: str | None) -> "LatePolicy":
        """``per_day=10,cap=50`` (percent of the maximum score; ``10%`` is accepted too)."""
        policy = cls()
        if not text:
            return policy
        for item in text.split(","):
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or key not in ("per_day", "cap"):
                raise UsageError(f"--late-policy: {item!r} is not per_day=PERCENT or cap=PERCENT "
                                 "(e.g. per_day=10,cap=50)")
            try:
                number = float(value.strip().rstrip("%"))
            except ValueError:
                raise UsageError(f"--late-policy: {item!r}: {value!r} is not a number") from None
            if not 0 <= number <= 100:
                raise UsageError(f"--late-policy: {item!r}: a percentage between 0 and 100 is expected")
            setattr(policy, key, number)
        return policy


@dataclass
class Deadline:
    """The assignment's deadline, its late policy and the per-student extensions."""

    deadline: dt.datetime
    policy: LatePolicy = field(default_factory=LatePolicy)
    extensions: dict[str, dt.datetime] = field(default_factory=dict)   # student or folder -> deadline

    def to_json(self) -> dict:
        return {"deadline": iso(self.deadline), "per_day": self.policy.per_day, "cap": self.policy.cap,
                "extensions": {k: iso(v) for k, v in sorted(self.extensions.items())}}

    @classmethod
    def from_json(cls, data: dict | None) -> "Deadline | None":
        if not data:
            return None
        return cls(parse_time(data["deadline"], "deadline"), LatePolicy(data["per_day"], data["cap"]),
                   {k: parse_time(v, "extension") for k, v in data.get("extensions", {}).items()})

    def due(self, student: str, folder: str | None = None) -> dt.datetime:
        return self.extensions.get(student) or self.extensions.get(folder or "") or self.deadline

    def lateness(self, student: str, folder: str | None, submitted_at: str | None,
                 max_score: float) -> dict:
        """``{"due", "late_days", "penalty"}`` for one submission (``late_days`` None if no time)."""
        due = self.due(student, folder)
        if submitted_at is None:
            return {"due": iso(due), "late_days": None, "penalty": 0.0}
        late_seconds = (parse_time(submitted_at, "submission time") - due).total_seconds()
        days = max(0, math.ceil(late_seconds / DAY))
        percent = min(self.policy.cap, self.policy.per_day * days)
        return {"due": iso(due), "late_days": days, "penalty": round(max_score * percent / 100.0, 6)}


def read_extensions(path: Path, deadline: dt.datetime) -> dict[str, dt.datetime]:
    """``student,deadline`` (an ISO time) or ``student,days`` (days added to the deadline)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--extensions {path} does not exist")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
        if "student" not in fields or not ({"deadline", "days"} & set(fields)):
            raise UsageError(f"--extensions {path}: expected a header 'student,deadline' or 'student,days', "
                             f"got {','.join(reader.fieldnames or [])!r}")
        extensions: dict[str, dt.datetime] = {}
        for number, row in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            student = row.get("student", "")
            if not student:
                raise UsageError(f"--extensions {path}, line {number}: no student")
            if student in extensions:
                raise UsageError(f"--extensions {path}, line {number}: {student!r} is listed twice")
            if row.get("deadline"):
                extensions[student] = parse_time(row["deadline"], f"--extensions line {number}:")
            else:
                try:
                    days = float(row.get("days", ""))
                except ValueError:
                    raise UsageError(f"--extensions {path}, line {number}: days {row.get('days')!r} "
                                     "is not a number") from None
                extensions[student] = deadline + dt.timedelta(days=days)
    return extensions


def from_options(deadline: str | None, late_policy: str | None, extensions: Path | None) -> Deadline | None:
    """The ``--deadline/--late-policy/--extensions`` options as a :class:`Deadline` (or None)."""
    if deadline is None:
        if late_policy or extensions:
            raise UsageError("--late-policy and --extensions need --deadline")
        return None
    moment = parse_time(deadline, "--deadline")
    return Deadline(moment, LatePolicy.parse(late_policy),
                    read_extensions(extensions, moment) if extensions else {})
