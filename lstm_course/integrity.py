"""What the grader adds to a submission so that its scores can be trusted.

Three things go wrong with student notebooks that nbgrader alone does not catch:

* **Tampering.**  Student code runs in the same kernel as the tests, so it can replace what the
  tests rely on (``numpy.allclose = lambda *a, **k: True``, ``torch.allclose``,
  ``numpy.testing.assert_allclose``, ``lstm_ref.grading.forbid_calls``, the shell's traceback
  display) and a wrong answer passes.  Before any student code runs, a setup cell added at the
  top of the submission takes copies of those objects and installs a *guard* under a name
  chosen at random for the run.  Every graded test cell ends (in its hidden part, which nbgrader
  restores from the gradebook whatever the student did to the cell) with a call to the guard
  carrying a secret nonce for that part.  The guard compares everything it copied with what is
  there now and appends one line to a record file: the part, the nonce, what was replaced.
  A part earns points only if nbgrader scored it *and* its record is there, clean, with the
  right nonce: silencing the test's error does not help, because the guard never ran.
* **Deleted tests.**  nbgrader restores edited test cells but not deleted ones; the grade ids of
  a submission are compared with the source's.
* **Huge outputs.**  The setup cell caps what each cell can print, and outputs left too large
  are cut before feedback is written.

The guard raises the bar; it is not a sandbox.  Code in the same process that studies the
grader could still defeat it, so unusually high scores deserve a look at the notebook.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
from pathlib import Path

SETUP_MARKER = "# lstm-course grader setup"
TRUNCATION_MARKER = "[lstm-course: output cut here"
STREAM_LIMIT = 100_000          # characters a cell may print, per stream
OUTPUT_LIMIT = 1_000_000        # characters any one output may keep in the feedback

# Objects the tests rely on: for each module, every function and class it holds is copied.
WATCHED_MODULES = [
    "numpy", "numpy.testing", "numpy.testing._private.utils", "numpy._core.numeric",
    "numpy._core.fromnumeric", "math", "operator", "lstm_ref", "lstm_ref.grading", "lstm_ref.numpy",
]
WATCHED_TORCH_MODULES = ["torch", "torch.testing", "torch.testing._comparison", "torch.functional"]
WATCHED_BUILTINS = [
    "AssertionError", "BaseException", "Exception", "NotImplementedError", "abs", "all", "any",
    "bool", "callable", "float", "getattr", "hasattr", "int", "isinstance", "issubclass", "len",
    "list", "max", "min", "print", "range", "repr", "round", "str", "sum", "tuple", "type", "zip",
]
SHELL_METHODS = ["showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_cell_async",
                 "run_ast_nodes", "run_code", "transform_cell"]


END_OF_NOTEBOOK = "__end__"   # the guard's last call, in a cell added after the student's


class RunSecrets:
    """The random names of one grading run: the guard's name and one nonce per graded part."""

    def __init__(self, part_ids: list[str]):
        self.guard_name = "_lstm_course_guard_" + secrets.token_hex(8)
        self.nonces = {part: secrets.token_hex(12) for part in [*part_ids, END_OF_NOTEBOOK]}
        self.record_name = "guard-" + secrets.token_hex(8) + ".jsonl"

    def to_json(self) -> dict:
        return {"guard_name": self.guard_name, "nonces": self.nonces, "record_name": self.record_name}

    @classmethod
    def from_json(cls, data: dict) -> "RunSecrets":
        obj = cls.__new__(cls)
        obj.guard_name, obj.nonces, obj.record_name = data["guard_name"], data["nonces"], data["record_name"]
        return obj


def guard_call(run: RunSecrets, part: str) -> str:
    """The hidden lines appended to the graded test cell ``part`` in the scratch source."""
    return ("\n### BEGIN HIDDEN TESTS\n"
            f"{run.guard_name}({part!r}, {run.nonces[part]!r})\n"
            "### END HIDDEN TESTS")


_SETUP_TEMPLATE = '''{marker}: added when grading, not part of the assignment.
def _lstm_course_install(record_path, guard_name, watch_torch):
    import builtins, importlib, json, os, sys
    _open, _write, _close = os.open, os.write, os.close
    _flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    _dumps, _getattr, _vars, _type, _isinstance = json.dumps, getattr, vars, type, isinstance
    _AssertionError, _sorted, _len = AssertionError, sorted, len
    watched = []
    def watch(module_name):
        try:
            module = importlib.import_module(module_name)
        except Exception:
            return
        for key, value in list(vars(module).items()):
            try:
                if callable(value):
                    watched.append((module_name, module, key, value, getattr(value, "__code__", None)))
            except Exception:
                pass
    for name in {modules!r}:
        watch(name)
    if watch_torch:
        for name in {torch_modules!r} + ["lstm_ref.torch"]:
            watch(name)
        try:
            import torch
            for key, value in list(vars(torch.Tensor).items()):
                if callable(value) and not key.startswith("__") or key in ("__eq__", "__bool__", "__float__"):
                    watched.append(("torch.Tensor", torch.Tensor, key, value, getattr(value, "__code__", None)))
        except Exception:
            pass
    # the course's package (reference functions the tests compute expected values with) and
    # the assignment's own helper modules beside the notebook (nbgrader copies the instructor's)
    for name in sorted(sys.modules):
        if name.startswith("lstm_ref.") and (watch_torch or not name.startswith("lstm_ref.torch")):
            watch(name)
    for file_name in sorted(os.listdir(".")):
        if file_name.endswith(".py") and file_name[:-3].isidentifier():
            watch(file_name[:-3])
    for key in {builtins_names!r}:
        value = getattr(builtins, key)
        watched.append(("builtins", builtins, key, value, getattr(value, "__code__", None)))
    shell = get_ipython()
    shell_class = type(shell)
    _missing = object()
    methods = [(key, getattr(shell_class, key, None), vars(shell).get(key, _missing))
               for key in {shell_methods!r}]

    def problems():
        found = []
        for module_name, owner, key, value, code in watched:
            now = _vars(owner).get(key)
            if now is not value:
                found.append(module_name + "." + key)
            elif code is not None and _getattr(value, "__code__", None) is not code:
                found.append(module_name + "." + key + ".__code__")
        for key, value, own in methods:
            if _vars(shell).get(key, _missing) is not own or _getattr(shell_class, key, None) is not value:
                found.append("IPython shell ." + key)
        for name, value in bound.items():
            if user_ns.get(name, _missing) is not value:
                found.append("the name '" + name + "' set by a read-only cell")
        if shell.custom_exceptions:
            found.append("IPython shell custom exception handler")
        if _type(shell) is not shell_class:
            found.append("IPython shell class")
        return found

    def guard(part, nonce):
        found = problems()
        line = _dumps({{"part": part, "nonce": nonce, "problems": found}}) + "\\n"
        fd = _open(record_path, _flags, 0o600)
        try:
            _write(fd, line.encode())
        finally:
            _close(fd)
        if found:
            raise _AssertionError("the grader found that code this test relies on was replaced "
                                  "(" + ", ".join(found[:5]) + "), so this part earns no points")

    class CappedStream:
        """Passes writes through until a cell has printed `limit` characters."""
        def __init__(self, stream, limit):
            self._stream, self._limit, self._left = stream, limit, limit
        def _reset(self, *args, **kwargs):
            self._left = self._limit
        def write(self, text):
            if not _isinstance(text, str):
                return self._stream.write(text)
            if self._left <= 0:
                return _len(text)
            if _len(text) > self._left:
                self._stream.write(text[:self._left])
                self._stream.write("\\n{truncation} ({limit} characters per cell)]\\n")
                self._left = 0
                return _len(text)
            self._left -= _len(text)
            return self._stream.write(text)
        def __getattr__(self, name):
            return _getattr(self._stream, name)

    for stream_name in ("stdout", "stderr"):
        capped = CappedStream(getattr(sys, stream_name), {limit})
        setattr(sys, stream_name, capped)
        shell.events.register("pre_run_cell", capped._reset)
    # names that read-only cells bind (np, torch, forbid_calls, ...): a cell added after each
    # read-only cell records them, and the guard checks they still point where they did
    user_ns = shell.user_ns
    bound = {{}}
    def snapshot(names):
        for name in names:
            if name in user_ns:
                bound[name] = user_ns[name]
    guard.snapshot = snapshot
    guard.bound = bound
    guard.user_ns = user_ns
    shell.user_ns[guard_name] = guard

_lstm_course_install({record_path!r}, {guard_name!r}, {watch_torch!r})
del _lstm_course_install
'''


def setup_source(run: RunSecrets, record_path: Path, watch_torch: bool) -> str:
    """The setup cell's code for one student (the record file is theirs alone)."""
    return _SETUP_TEMPLATE.format(
        marker=SETUP_MARKER, modules=WATCHED_MODULES, torch_modules=WATCHED_TORCH_MODULES,
        builtins_names=WATCHED_BUILTINS, shell_methods=SHELL_METHODS, truncation=TRUNCATION_MARKER,
        limit=STREAM_LIMIT, record_path=str(record_path), guard_name=run.guard_name,
        watch_torch=bool(watch_torch))


def final_check_source(run: RunSecrets) -> str:
    """The cell added after the student's last cell: one more look for tampering."""
    return (f"{SETUP_MARKER}: a last check, added when grading.\n"
            f"{run.guard_name}({END_OF_NOTEBOOK!r}, {run.nonces[END_OF_NOTEBOOK]!r})")


def snapshot_source(run: RunSecrets, names: list[str]) -> str:
    """The cell added after a read-only cell: remember the names it bound."""
    return f"{SETUP_MARKER}: names bound above, added when grading.\n{run.guard_name}.snapshot({names!r})"


def bound_names(source: str) -> list[str]:
    """Names a cell binds by ``import`` or ``def``/``class`` at its top level.

    Plain assignments are left out: a learner may well reuse a name like ``rng`` for their own
    experiments, while rebinding ``np`` or ``forbid_calls`` has no honest purpose.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:          # IPython magics and the like
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
    return names


def uses_torch(sources: list[str]) -> bool:
    """Whether an assignment's code mentions torch (then the guard watches torch as well)."""
    return any(re.search(r"\btorch\b", s) for s in sources)


def read_records(record_path: Path, run: RunSecrets) -> dict[str, dict]:
    """Guard records by part: ``{"clean": bool, "problems": [...]}``; forged lines are ignored.

    A part whose guard ran twice (a test cell that ran again) keeps its worst record.
    """
    records: dict[str, dict] = {}
    if not record_path.exists():
        return records
    for line in record_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
            part, nonce, problems = entry["part"], entry["nonce"], list(entry["problems"])
        except (ValueError, KeyError, TypeError):
            continue
        if run.nonces.get(part) != nonce:
            continue
        previous = records.get(part)
        if previous is None or problems:
            records[part] = {"clean": not problems, "problems": [str(p) for p in problems]}
    return records


def _normalise(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def compare_cells(submitted_nb, release_cells: dict[str, dict]) -> dict[str, list[str]]:
    """How the submission's nbgrader cells differ from the release.

    ``release_cells`` maps grade_id to ``{"source", "grade", "locked"}``.  Returns the lists
    ``deleted_tests`` (graded test cells missing), ``edited_tests`` (graded test cells whose
    code changed) and ``edited_locked`` (other read-only cells whose content changed).
    """
    present: dict[str, str] = {}
    for cell in submitted_nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
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


def strip_setup_and_cap(nb) -> dict[str, bool]:
    """Remove the grader's setup cell and cut oversized outputs (in place).

    Returns ``{"timeout": ..., "truncated": ...}``: whether a cell hit the time limit and
    whether any output was cut (by the setup cell or here).
    """
    timeout = truncated = False
    nb.cells = [c for c in nb.cells
                if not (c.cell_type == "code" and c.source.startswith(SETUP_MARKER))]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error" and output.get("ename") == "CellTimeoutError":
                timeout = True
            if kind == "stream":
                text = output.get("text", "")
                if TRUNCATION_MARKER in text:
                    truncated = True
                if len(text) > OUTPUT_LIMIT:
                    output["text"] = text[:OUTPUT_LIMIT] + f"\n{TRUNCATION_MARKER} by the grader]\n"
                    truncated = True
            elif kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                for mime in list(data):
                    value = data[mime]
                    size = len(value) if isinstance(value, str) else len(json.dumps(value))
                    if size > OUTPUT_LIMIT:
                        data[mime] = (f"{TRUNCATION_MARKER}: {size} characters of {mime} removed]"
                                      if mime.startswith("text/") else "")
                        truncated = True
                if any(v == "" for v in data.values()):
                    output["data"] = {k: v for k, v in data.items() if v != ""} or {
                        "text/plain": f"{TRUNCATION_MARKER}: a large output was removed]"}
            elif kind == "error":
                tb = output.get("traceback", [])
                if sum(len(t) for t in tb) > OUTPUT_LIMIT:
                    output["traceback"] = [t[:2000] for t in tb[:20]] + [f"{TRUNCATION_MARKER}]"]
                    truncated = True
    return {"timeout": timeout, "truncated": truncated}
