"""Collect submissions: one folder per student, given as a folder or a zip of one.

Nothing here trusts the input.  Zip entries that would land outside the extraction folder
(``../x``, absolute paths, drive letters) and symbolic links are refused, never written.
Student folder names become nbgrader student ids and folder names, so they are checked: a name
with spaces or shell metacharacters is rewritten to a safe one (accented letters transliterated:
``José Núñez`` -> ``Jose_Nunez``; two folders that end up with one id are both told), and hidden
folders (``.git``, ``__MACOSX``) are not students at all.  Zip entry names are decoded as the
archive says (UTF-8 flag) or, without the flag, as UTF-8 when they are valid UTF-8 (what most
tools write) and as cp437 otherwise.  Every such decision is reported.

Nothing ambiguous is guessed either: notebooks beside the expected one are listed
(``extra_notebooks``), the candidates are listed when the expected one is missing
(``ambiguous_notebook``), and nbgrader metadata changed by the student is named
(``duplicate_grade_ids``, ``metadata_changed``) rather than left to fail as a generic error.

Each submission also carries its SHA-256 (over every file of the folder, names and bytes) and
its time: the newest notebook's time stamp in the zip (the extended UTC time stamp when the
zip has it, else the entry's date read as UTC) or the file's modification time.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import stat
import struct
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# a zip of a whole class should stay far below this once unpacked
MAX_UNPACKED_BYTES = 2 * 1024**3
MAX_ENTRIES = 100_000


@dataclass
class Submission:
    """One student's folder, ready to grade."""

    student: str                 # safe id used by nbgrader and in grades.csv
    folder: str                  # the folder name as submitted
    path: Path | None            # the folder (None for a rejected entry)
    issues: list[tuple[str, str]] = field(default_factory=list)   # (status, detail)
    sha256: str | None = None    # of the folder's files (names and bytes); None when rejected
    submitted_at: str | None = None   # ISO 8601 (UTC) time of the newest notebook (or file)
    time_source: str | None = None    # "zip entry", "zip entry (no time zone, read as UTC)", "file mtime"


@dataclass
class Collection:
    submissions: list[Submission]
    warnings: list[str]          # problems that belong to no student (e.g. a refused zip entry)


# letters NFKD does not take apart into an ASCII letter and accents
_TRANSLITERATE = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "ł": "l",
                                "Ł": "L", "đ": "d", "Đ": "D", "œ": "oe", "Œ": "OE", "þ": "th",
                                "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i"})


def transliterate(name: str) -> str:
    """``name`` in ASCII: accents dropped (Unicode NFKD), a few letters spelled out (ß -> ss)."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_TRANSLITERATE))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).encode("ascii", "ignore").decode()


def safe_student_id(name: str) -> str:
    """A name nbgrader, the shell and every file system accept, made from ``name``.

    Accented letters are transliterated (``José Núñez`` -> ``Jose_Nunez``); a name with no
    Latin letter at all gets ``student_`` and a short hash of the name, so two such names
    still differ.
    """
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", transliterate(name)).strip("._-")
    cleaned = re.sub(r"\.{2,}", "_", cleaned)
    if not cleaned:
        cleaned = "student_" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return cleaned[:64]


def decode_zip_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its author meant it.

    With the UTF-8 flag (bit 11) Python already decoded it as UTF-8.  Without it Python used
    cp437, but most tools (macOS, Linux ``zip``, 7-Zip, LMS downloads) write UTF-8 without
    setting the flag: a name whose bytes are valid UTF-8 is read as UTF-8, any other as cp437.
    """
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return info.filename


def zip_entry_time(info: zipfile.ZipInfo) -> tuple[float, str]:
    """(POSIX time, source) of a zip entry: the extended time stamp (UTC) if present, else the
    DOS date (no time zone: read as UTC)."""
    extra = info.extra
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[i:i + 4])
        body = extra[i + 4:i + 4 + size]
        if tag == 0x5455 and len(body) >= 5 and body[0] & 1:
            return float(struct.unpack("<i", body[1:5])[0]), "zip entry"
        i += 4 + size
    try:
        moment = _dt.datetime(*info.date_time, tzinfo=_dt.timezone.utc)
    except ValueError:
        moment = _dt.datetime(1980, 1, 1, tzinfo=_dt.timezone.utc)
    return moment.timestamp(), "zip entry (no time zone, read as UTC)"


def iso_utc(posix: float) -> str:
    return _dt.datetime.fromtimestamp(posix, _dt.timezone.utc).isoformat(timespec="seconds")


def folder_sha256(folder: Path) -> str:
    """SHA-256 over every regular file under ``folder`` (relative name and content), sorted."""
    total = hashlib.sha256()
    files = sorted((p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()),
                   key=lambda p: p.relative_to(folder).as_posix())
    for path in files:
        content = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                content.update(block)
        name = path.relative_to(folder).as_posix().encode("utf-8", "surrogateescape")
        total.update(name + b"\0" + content.hexdigest().encode() + b"\n")
    return total.hexdigest()


def _notebooks_under(folder: Path) -> list[Path]:
    """Every notebook under ``folder``, hidden folders (``.ipynb_checkpoints``) and links left out."""
    return sorted((p for p in folder.rglob("*.ipynb")
                   if p.is_file() and not p.is_symlink()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts)),
                  key=lambda p: p.relative_to(folder).as_posix())


def submission_time(folder: Path, zipped: bool) -> tuple[str | None, str | None]:
    """When the submission was made: its newest notebook's time (or newest file's if none)."""
    files = _notebooks_under(folder) or [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    if not files:
        return None, None
    newest = max(p.stat().st_mtime for p in files)
    return iso_utc(newest), ("zip entry" if zipped else "file mtime")


def _zip_entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why this zip entry must not be written, or None if it is safe."""
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if "\x00" in name:
        return "has a NUL character in its name"
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
        return "is an absolute path"
    if ".." in PurePosixPath(posix).parts:
        return "climbs out of the folder with '..'"
    return None


def extract_zip(archive: Path, target: Path, time_sources: dict | None = None) -> list[tuple[str, str]]:
    """Unpack ``archive`` into ``target``, refusing unsafe entries.

    Names are decoded with :func:`decode_zip_name`; each file gets its entry's time as its
    modification time (``time_sources``, if given, maps each written file to where that time
    came from).

    Returns ``(entry name, why it was refused)`` for every refused entry.
    """
    refused: list[tuple[str, str]] = []
    target = target.resolve()
    target.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{archive} is not a readable zip file ({error})") from None
    with zf:
        entries = zf.infolist()
        if len(entries) > MAX_ENTRIES:
            raise ValueError(f"{archive} has {len(entries)} entries, expected at most {MAX_ENTRIES}")
        total = 0
        times: dict[Path, tuple[float, str]] = {}
        for info in entries:
            info.filename = decode_zip_name(info)
            problem = _zip_entry_problem(info)
            destination = (target / info.filename.replace("\\", "/")).resolve()
            if problem is None and destination != target and target not in destination.parents:
                problem = "would be written outside the extraction folder"
            if problem is not None:
                refused.append((info.filename, f"zip entry {info.filename!r} refused: it {problem}"))
                inside = destination.parent == target or target in destination.parent.parents
                if problem == "is a symbolic link" and inside:
                    destination.parent.mkdir(parents=True, exist_ok=True)   # the student still shows up
                continue
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            total += info.file_size
            if total > MAX_UNPACKED_BYTES:
                raise ValueError(f"{archive} unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, open(destination, "wb") as sink:
                shutil.copyfileobj(source, sink)
            times[destination] = zip_entry_time(info)
        for destination, (posix, _) in times.items():
            os.utime(destination, (posix, posix))   # the file's time is the entry's time
        if time_sources is not None:
            time_sources.update({d: kind for d, (_, kind) in times.items()})
    return refused


def _class_folder(root: Path) -> Path:
    """Step into a zip's single wrapping folder (``submissions/alice/...``) if there is one."""
    entries = [p for p in root.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        inner = [p for p in entries[0].iterdir() if not p.name.startswith(".")]
        if inner and all(p.is_dir() for p in inner):
            return entries[0]
    return root


def _owner_of(entry: str, unzipped: Path, root: Path) -> str | None:
    """The student folder (under ``root``) a refused zip entry was meant for, if any."""
    if _zip_entry_problem(zipfile.ZipInfo(entry)) not in (None, "is a symbolic link"):
        return None
    destination = (unzipped / entry.replace("\\", "/")).resolve()
    try:
        relative = destination.relative_to(root.resolve())
    except ValueError:
        return None
    return relative.parts[0] if len(relative.parts) > 1 else None


def collect(path: Path, workdir: Path, notebooks: list[str] | None = None) -> Collection:
    """Find every student's folder in ``path`` (a folder, or a zip unpacked into ``workdir``).

    ``notebooks`` (the assignment's notebook names, without ``.ipynb``), when given, lets each
    submission be checked for extra notebooks and for candidates of a missing one.
    Raises ValueError if ``path`` is neither a folder nor a readable zip.
    """
    path = Path(path)
    warnings: list[str] = []
    time_sources: dict[Path, str] = {}
    zipped = False
    if path.is_dir():
        root = unzipped = path
        refused: list[tuple[str, str]] = []
    elif path.is_file() and zipfile.is_zipfile(path):
        unzipped = workdir / "unzipped"
        refused = extract_zip(path, unzipped, time_sources)
        root = _class_folder(unzipped.resolve())
        zipped = True
    else:
        raise ValueError(f"SUBMISSIONS must be a folder or a .zip of one, got {path}")

    submissions: list[Submission] = []
    refused_by_folder: dict[str, list[str]] = {}
    for entry, message in refused:
        owner = _owner_of(entry, unzipped.resolve(), root)
        if owner and (root / owner).is_dir():
            refused_by_folder.setdefault(owner, []).append(message)
        else:
            warnings.append(message)

    students: list[Submission] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        name = entry.name
        if entry.is_symlink():
            submissions.append(Submission(safe_student_id(name), name, None,
                                          [("rejected", f"{name!r} is a symbolic link, not a student's folder: skipped")]))
            continue
        if not entry.is_dir():
            warnings.append(f"{name!r} is a file at the top level, not a student's folder: skipped")
            continue
        if name.startswith(".") or name == "__MACOSX":
            submissions.append(Submission(safe_student_id(name), name, None,
                                          [("rejected", f"hidden folder {name!r} is not a student's folder: skipped")]))
            continue
        sub = Submission(name, name, entry, [])
        if not SAFE_NAME.fullmatch(name) or ".." in name:
            sub.student = safe_student_id(name)
            sub.issues.append(("renamed", f"folder {name!r} is not a safe student id: graded as {sub.student!r}"))
        for message in refused_by_folder.get(name, []):
            sub.issues.append(("unsafe_entries", message))
        sub.sha256 = folder_sha256(entry)
        sub.submitted_at, sub.time_source = submission_time(entry, zipped)
        if zipped and sub.submitted_at is not None:
            kinds = {k for p, k in time_sources.items() if entry.resolve() in p.parents}
            sub.time_source = "zip entry" if kinds == {"zip entry"} else "zip entry (no time zone, read as UTC)"
        if notebooks is not None:
            sub.issues.extend(notebook_issues(entry, notebooks))
        students.append(sub)
        submissions.append(sub)

    # ids: folders already named safely keep their name; renamed ones yield on a clash
    taken: dict[str, Submission] = {}
    for sub in sorted(students, key=lambda s: (bool(s.issues and s.issues[0][0] == "renamed"), s.folder)):
        wanted = sub.student
        if wanted in taken:
            base, n = wanted, 2
            while f"{base}_{n}" in taken:
                n += 1
            sub.student = f"{base}_{n}"
            other = taken[wanted]
            sub.issues.append(("name_collision", f"folders {other.folder!r} and {sub.folder!r} both give the "
                                                 f"id {wanted!r}: this one is graded as {sub.student!r}"))
            other.issues.append(("name_collision", f"folders {other.folder!r} and {sub.folder!r} both give the "
                                                   f"id {wanted!r}: this one keeps {wanted!r}, the other is "
                                                   f"graded as {sub.student!r}"))
        taken[sub.student] = sub
    for sub in submissions:
        if sub.path is None:
            # a rejected entry keeps a distinct id too, so rows never collide
            while sub.student in taken:
                sub.student = sub.student + "_"
            taken[sub.student] = sub
    return Collection(submissions, warnings)


def notebook_issues(folder: Path, notebooks: list[str]) -> list[tuple[str, str]]:
    """Notebooks found beside the expected ones, and candidates for a missing one.

    Nothing here changes what is graded (:func:`find_notebook` decides that); it only says
    what else was there, so an instructor can see a submission that may be the wrong file.
    """
    issues: list[tuple[str, str]] = []
    found = _notebooks_under(folder)
    used: set[Path] = set()
    for name in notebooks:
        path, _ = find_notebook(folder, name, set(notebooks))
        if path is not None:
            used.add(path)
        else:
            candidates = [p for p in found if p.stem not in notebooks]
            if candidates:
                listed = ", ".join(repr(p.relative_to(folder).as_posix()) for p in candidates)
                issues.append(("ambiguous_notebook", f"{name}.ipynb is missing; notebook(s) found instead: "
                                                     f"{listed}; none was graded in its place (rename the right "
                                                     "one and regrade this student with --students)"))
    extra = [p for p in found if p not in used]
    if extra and used:
        listed = ", ".join(repr(p.relative_to(folder).as_posix()) for p in extra)
        issues.append(("extra_notebooks", f"notebook(s) beside the graded one(s), not graded: {listed}"))
    return issues


def metadata_issues(folder: Path | None, notebooks: list[str],
                    release_cells: dict[str, dict[str, dict]]) -> list[tuple[str, str]]:
    """nbgrader metadata the student changed, named for what it is.

    ``release_cells`` maps notebook -> grade_id -> what the release has (``cell`` holds the
    released cell with its metadata).  Reports grade ids used on several cells
    (``duplicate_grade_ids``), and grade ids the release does not have, changed points,
    changed flags (grade, solution, locked) or cell types (``metadata_changed``).
    """
    issues: list[tuple[str, str]] = []
    if folder is None:
        return issues
    for name in notebooks:
        path, _ = find_notebook(folder, name, set(notebooks))
        if path is None:
            continue
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
        except (ValueError, OSError, AttributeError):
            continue   # not a notebook: reported as invalid_notebook by the grader
        release = release_cells.get(name, {})
        seen: dict[str, int] = {}
        changes: list[str] = []
        unknown: list[str] = []
        for cell in cells:
            meta = cell.get("metadata", {}) if isinstance(cell.get("metadata"), dict) else {}
            nbg = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else None
            if not nbg or "grade_id" not in nbg:
                continue
            grade_id = str(nbg["grade_id"])
            seen[grade_id] = seen.get(grade_id, 0) + 1
            if seen[grade_id] > 1:
                continue
            info = release.get(grade_id)
            if info is None:
                unknown.append(grade_id)
                continue
            released = (info.get("cell") or {}).get("metadata", {}).get("nbgrader", {})
            for flag in ("grade", "solution", "locked"):
                if flag in info and bool(nbg.get(flag)) != bool(info[flag]):
                    changes.append(f"{grade_id!r}: {flag} {bool(info[flag])} -> {bool(nbg.get(flag))}")
            if info.get("grade") and "points" in released:
                try:
                    changed = float(nbg.get("points", 0)) != float(released["points"])
                except (TypeError, ValueError):
                    changed = True
                if changed:
                    changes.append(f"{grade_id!r}: points {released['points']} -> {nbg.get('points')!r}")
            if info.get("cell_type") and cell.get("cell_type") != info["cell_type"]:
                changes.append(f"{grade_id!r}: cell type {info['cell_type']} -> {cell.get('cell_type')}")
        duplicated = sorted(g for g, n in seen.items() if n > 1)
        if duplicated:
            issues.append(("duplicate_grade_ids", f"{name}.ipynb: grade id(s) "
                           + ", ".join(f"{g!r} on {seen[g]} cells" for g in duplicated)
                           + " (cells copied with their nbgrader metadata)"))
        if unknown:
            missing = [g for g in release if g not in seen]
            hint = f"; the release's {', '.join(map(repr, missing))} not found" if missing else ""
            issues.append(("metadata_changed", f"{name}.ipynb: grade id(s) {', '.join(map(repr, unknown))} "
                           f"are not in the release (changed or invented){hint}"))
        if changes:
            issues.append(("metadata_changed", f"{name}.ipynb: nbgrader metadata changed ({'; '.join(changes)}); "
                           "the released metadata is what counts"))
    return issues


def find_notebook(folder: Path, notebook: str, expected_all: set[str]) -> tuple[Path | None, str | None]:
    """The student's copy of ``<notebook>.ipynb`` in ``folder``, and a note if it was renamed.

    Looks at the top of the folder, then below it (a folder zipped one level too deep); if the
    notebook is absent but exactly one unknown notebook is there, that one is taken (students
    rename files: ``01_rnn_limits (1).ipynb``).  Symbolic links are never followed.
    """
    wanted = notebook + ".ipynb"
    direct = folder / wanted
    if direct.is_file() and not direct.is_symlink():
        return direct, None
    candidates = [p for p in folder.rglob("*.ipynb")
                  if p.is_file() and not p.is_symlink()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    nested = [p for p in candidates if p.name == wanted]
    if len(nested) == 1:
        return nested[0], None
    unknown = [p for p in candidates if p.stem not in expected_all]
    if len(expected_all) == 1 and len(unknown) == 1:
        rel = unknown[0].relative_to(folder)
        return unknown[0], f"notebook {str(rel)!r} graded as {wanted!r}"
    return None, None
