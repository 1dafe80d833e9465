"""Collect submissions: one folder per student, given as a folder or a zip of one.

Nothing here trusts the input.  Zip entries that would land outside the extraction folder
(``../x``, absolute paths, drive letters) and symbolic links are refused, never written.
Student folder names become nbgrader student ids and folder names, so they are checked: a name
with spaces or shell metacharacters is rewritten to a safe one, and hidden folders (``.git``,
``__MACOSX``) are not students at all.  Every such decision is reported.
"""

from __future__ import annotations

import re
import shutil
import stat
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


@dataclass
class Collection:
    submissions: list[Submission]
    warnings: list[str]          # problems that belong to no student (e.g. a refused zip entry)


def safe_student_id(name: str) -> str:
    """A name nbgrader, the shell and every file system accept, made from ``name``."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")
    cleaned = re.sub(r"\.{2,}", "_", cleaned)
    return (cleaned or "student")[:64]


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


def extract_zip(archive: Path, target: Path) -> list[tuple[str, str]]:
    """Unpack ``archive`` into ``target``, refusing unsafe entries.

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
        for info in entries:
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


def collect(path: Path, workdir: Path) -> Collection:
    """Find every student's folder in ``path`` (a folder, or a zip unpacked into ``workdir``).

    Raises ValueError if ``path`` is neither a folder nor a readable zip.
    """
    path = Path(path)
    warnings: list[str] = []
    if path.is_dir():
        root = unzipped = path
        refused: list[tuple[str, str]] = []
    elif path.is_file() and zipfile.is_zipfile(path):
        unzipped = workdir / "unzipped"
        refused = extract_zip(path, unzipped)
        root = _class_folder(unzipped.resolve())
    else:
        raise ValueError(f"SUBMISSIONS must be a folder or a .zip of one, got {path}")

    submissions: list[Submission] = []
    taken: set[str] = set()
    refused_by_folder: dict[str, list[str]] = {}
    for entry, message in refused:
        owner = _owner_of(entry, unzipped.resolve(), root)
        if owner and (root / owner).is_dir():
            refused_by_folder.setdefault(owner, []).append(message)
        else:
            warnings.append(message)

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
        issues: list[tuple[str, str]] = []
        student = name
        if not SAFE_NAME.fullmatch(name) or ".." in name:
            student = safe_student_id(name)
            issues.append(("renamed", f"folder {name!r} is not a safe student id: graded as {student!r}"))
        if student in taken:
            base, n = student, 2
            while f"{base}_{n}" in taken:
                n += 1
            student = f"{base}_{n}"
            issues.append(("renamed", f"folder {name!r} clashes with another student's id: graded as {student!r}"))
        taken.add(student)
        for message in refused_by_folder.get(name, []):
            issues.append(("unsafe_entries", message))
        submissions.append(Submission(student, name, entry, issues))
    for sub in submissions:
        if sub.path is None:
            # a rejected entry keeps a distinct id too, so rows never collide
            while sub.student in taken:
                sub.student = sub.student + "_"
            taken.add(sub.student)
    return Collection(submissions, warnings)


def find_notebook(folder: Path, notebook: str, expected_all: set[str]) -> tuple[Path | None, str | None]:
    """The student's copy of ``<notebook>.ipynb`` in ``folder``, and a note if it was renamed.

    Looks at the top of the folder, then below it (a folder zipped one level too deep); if the
    notebook is absent but exactly one unknown notebook is there, that one is taken (students
    rename files: ``01_rnn (1).ipynb``).  Symbolic links are never followed.
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
