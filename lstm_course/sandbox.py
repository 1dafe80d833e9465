"""One bubblewrap sandbox per submission, and the trusted side of the channel to it.

The sandbox (Debian's ``bwrap``) has no network and its own PID, IPC and UTS namespaces, a
private ``/tmp``, and sees read-only only what Python needs: ``/usr``, the interpreter, the
environment's site-packages (without ``.pth`` processing, so no editable install leads back to
the repository), the course's ``lstm_ref`` package and the assignment's helper files.  Its one
writable folder is the submission's own scratch folder.  It runs as an unprivileged user
(uid/gid 65534 inside; when the grader runs as root, outside it is a uid of its own per worker,
60000-64999, that the grader drops to before starting ``bwrap``), with resource limits set before ``bwrap`` starts (address space, file size,
CPU time, open files, core dumps), a watchdog on its process count and memory, and a
wall-clock deadline on every request; killing it kills its PID namespace, so nothing the
submission started outlives it.

:class:`Sandbox` speaks :mod:`lstm_course.runner`'s protocol: run the cells, then look names
up and call functions, with plain data coming back (see :class:`Remote`).
"""

from __future__ import annotations

import builtins
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lstm_course import runner as wire
from lstm_course.parallel import descendants

RUNNER = Path(wire.__file__).resolve()
SANDBOX_HOME = "/home/student"
COURSE_MOUNT = "/opt/lstm-course"
UNPRIVILEGED = 65534
GRACE_S = 3.0          # seconds past a limit before the whole sandbox is killed


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


class SandboxGone(Exception):
    """The sandbox was stopped (time, memory or process limit) or died; the call failed."""


@dataclass
class Limits:
    memory_bytes: int = 4 * 1024 ** 3       # address space of each process (RLIMIT_AS)
    memory_total_bytes: int = 6 * 1024 ** 3  # resident memory of the whole sandbox (watchdog)
    processes: int = 32                     # processes in the sandbox (watchdog; RLIMIT_NPROC too
                                            # where the sandbox's user is not root outside)
    file_bytes: int = 64 * 1024 ** 2        # largest file it may write (RLIMIT_FSIZE)
    tmp_bytes: int = 64 * 1024 ** 2         # size of its private /tmp
    open_files: int = 256
    cpu_s: int = 600                        # CPU seconds (RLIMIT_CPU), a backstop to the wall limit

    @classmethod
    def from_env(cls) -> "Limits":
        """Defaults, with ``LSTM_COURSE_SANDBOX_MEMORY_MB`` (per process; the whole sandbox may
        use 1.5 times that) and ``LSTM_COURSE_SANDBOX_PROCESSES`` where set."""
        limits = cls()
        memory = os.environ.get("LSTM_COURSE_SANDBOX_MEMORY_MB")
        if memory:
            limits.memory_bytes = int(memory) * 1024 ** 2
            limits.memory_total_bytes = int(limits.memory_bytes * 1.5)
        processes = os.environ.get("LSTM_COURSE_SANDBOX_PROCESSES")
        if processes:
            limits.processes = int(processes)
        return limits


def find_bwrap() -> str | None:
    """``bwrap`` on PATH or in /usr/bin; ``LSTM_COURSE_BWRAP`` names another (tests set it to a
    missing file to check that grading refuses to run without it)."""
    override = os.environ.get("LSTM_COURSE_BWRAP")
    if override is not None:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("bwrap") or next((p for p in ("/usr/bin/bwrap", "/bin/bwrap") if os.access(p, os.X_OK)),
                                         None)


_CHECKED: dict[str, str] = {}


def require_bwrap() -> str:
    """The path of a working ``bwrap``, or :class:`SandboxUnavailable` saying what to do."""
    if "ok" in _CHECKED:
        return _CHECKED["ok"]
    path = find_bwrap()
    hint = ("Grading runs every submission in a bubblewrap sandbox. Install it with "
            "`tools/ensure_bubblewrap.sh` (apt-get install bubblewrap, as root or with sudo)")
    if path is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed. {hint}.")
    probe = subprocess.run([path, *_base_args(), "--", "/usr/bin/true"], capture_output=True, text=True,
                           preexec_fn=_limit_resources(Limits()))
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap cannot create a sandbox here ({probe.stderr.strip()[:300]}). User namespaces "
            "must be allowed (sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces > 0; "
            "in a container, run it with --security-opt seccomp=unconfined or as root with "
            "CAP_SYS_ADMIN).")
    _CHECKED["ok"] = path
    return path


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    for name in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf"):
        if os.path.exists(name):
            args += ["--ro-bind", name, name]
    return args


def _base_args() -> list[str]:
    return ["--unshare-all", "--unshare-user", "--uid", str(UNPRIVILEGED), "--gid", str(UNPRIVILEGED),
            "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox",
            *_system_binds(), "--proc", "/proc", "--dev", "/dev"]


def _readable_by_others(path: str) -> bool:
    """Whether a user with no rights of its own can read ``path`` (every parent searchable)."""
    import stat
    current = Path(path).resolve()
    try:
        if not current.stat().st_mode & stat.S_IROTH:
            return False
        return all(p.stat().st_mode & stat.S_IXOTH for p in current.parents)
    except OSError:
        return False


_PYTHON: dict[str, tuple] = {}


def python_paths() -> tuple[str, list[str]]:
    """The interpreter to run in the sandbox, and the folders its ``sys.path`` needs.

    This environment's base interpreter if an unprivileged user can read it; otherwise (e.g. a
    pyenv Python under ``/root``) the system's ``python3.X`` of the same version, which the
    environment's compiled packages fit.
    """
    if "paths" in _PYTHON:
        return _PYTHON["paths"]
    executable = str(Path(getattr(sys, "_base_executable", sys.executable)).resolve())
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if os.getuid() == 0 and not _readable_by_others(executable):
        system = shutil.which(version, path="/usr/bin:/usr/local/bin:/bin")
        if system is None or not _readable_by_others(system):
            raise SandboxUnavailable(
                f"the interpreter {executable} is not readable by an unprivileged user and no "
                f"system {version} exists: install {version} (apt-get install {version}) or make "
                "the environment's Python world-readable")
        executable = str(Path(system).resolve())
    found = subprocess.run([executable, "-I", "-S", "-c", "import sys; print('\\n'.join(sys.path))"],
                           capture_output=True, text=True, check=True).stdout.split()
    stdlib = [p for p in found if p and os.path.isdir(p)]
    site = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    paths = []
    for p in stdlib + site:
        if p not in paths and os.path.isdir(p):
            paths.append(p)
    _PYTHON["paths"] = (executable, paths)
    return executable, paths


class _Reachable:
    """Makes bind sources reachable by the sandbox's uid, for root only.

    Root hands the sandbox to an unprivileged uid before bwrap starts, and bwrap then opens
    every bind source as that uid, which may not walk to it (a checkout under a 0700 folder:
    ``/root``, a ``mktemp -d`` clone).  For such a source the child, still root, makes a
    private mount namespace and bind-mounts the source on an empty folder under a
    world-searchable staging folder; bwrap binds that.  The host's mounts never change.
    """

    def __init__(self):
        self.staging: Path | None = None
        self.mounts: list[tuple[str, str]] = []

    def __call__(self, source: str) -> str:
        if os.getuid() != 0 or _searchable_by_others(source):
            return source
        if self.staging is None:
            self.staging = Path(tempfile.mkdtemp(prefix="lstm-course-binds-"))
            self.staging.chmod(0o711)
        target = self.staging / str(len(self.mounts))
        if os.path.isdir(source):
            target.mkdir(mode=0o755)
        else:
            target.touch(mode=0o644)
        self.mounts.append((source, str(target)))
        return str(target)

    def mount_in_child(self) -> None:
        """In the child, as root: a private mount namespace with the staged binds."""
        if not self.mounts:
            return
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 4096, 16384, 1 << 18
        if libc.unshare(CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
        if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
        for source, target in self.mounts:
            if libc.mount(source.encode(), target.encode(), None, MS_BIND | MS_REC, None) != 0:
                raise OSError(ctypes.get_errno(), f"mount --bind {source}")

    def cleanup(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def _searchable_by_others(path: str) -> bool:
    """Whether a user with no rights of its own can reach ``path`` (every parent searchable)."""
    current = Path(path).resolve().parent
    while True:
        try:
            if not current.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
        if current.parent == current:
            return True
        current = current.parent


def command(scratch: Path, course_package: Path, limits: Limits,
            reachable=None) -> list[str]:
    """The ``bwrap`` command line that runs the runner with ``scratch`` as its home.

    ``reachable(source)`` may map a bind source to a path the sandbox's uid can reach
    (:class:`_Reachable`); by default every source is bound where it is.
    """
    reach = reachable or (lambda source: source)
    executable, sys_path = python_paths()
    args = [require_bwrap(), *_base_args(), "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    bound: list[str] = []
    for path in [str(Path(executable).parent.parent), *sys_path]:
        if path.startswith("/usr/") or any(path == b or path.startswith(b.rstrip("/") + "/") for b in bound):
            continue
        args += ["--ro-bind", reach(path), path]
        bound.append(path)
    args += ["--ro-bind", reach(str(RUNNER)), f"{COURSE_MOUNT}/runner.py",
             "--ro-bind", reach(str(course_package)), f"{COURSE_MOUNT}/lstm_ref",
             "--bind", str(scratch), SANDBOX_HOME, "--chdir", SANDBOX_HOME,
             "--clearenv", "--setenv", "HOME", SANDBOX_HOME, "--setenv", "TMPDIR", "/tmp",
             "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "MPLBACKEND", "Agg",
             "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "MKL_NUM_THREADS", "1",
             "--setenv", "PYTHONHASHSEED", "0",
             "--", executable, "-I", "-S", "-c",
             "import sys; sys.path[:] = sys.argv[1:]; sys.argv = ['runner']; "
             f"exec(compile(open('{COURSE_MOUNT}/runner.py').read(), 'runner', 'exec'), "
             "{'__name__': '__main__'})",
             *sys_path, SANDBOX_HOME, COURSE_MOUNT]
    return args


def sandbox_uid() -> int:
    """The user a sandbox runs as outside, when the grader runs as root: one per worker
    process (uids 60000-64999, owning nothing), so one submission's processes never count
    against another's process limit."""
    return 60000 + os.getpid() % 5000 if os.getuid() == 0 else os.getuid()


def prepare_home(home: Path) -> None:
    """Let the sandbox's user own its home (root runs the sandbox as that user outside too) and
    reach it (its parents searchable, not listable)."""
    if os.getuid() != 0:
        return
    uid = sandbox_uid()
    for path in [home, *home.rglob("*")]:
        os.chown(path, uid, uid, follow_symlinks=False)
    for parent in home.parents:
        if str(parent) in ("/", tempfile.gettempdir()):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, (mode & 0o7777) | 0o711)


def _limit_resources(limits: Limits):
    target = sandbox_uid()

    def apply() -> None:
        os.setsid()
        uid = target
        for kind, value in ((resource.RLIMIT_AS, limits.memory_bytes),
                            (resource.RLIMIT_FSIZE, limits.file_bytes),
                            (resource.RLIMIT_NOFILE, limits.open_files),
                            (resource.RLIMIT_CORE, 0),
                            (resource.RLIMIT_CPU, limits.cpu_s)):
            resource.setrlimit(kind, (value, value))
        # counted per real user outside: that user's processes now plus the sandbox's share
        mine = sum(1 for p in os.listdir("/proc") if p.isdigit() and _owner(p) == uid)
        resource.setrlimit(resource.RLIMIT_NPROC, (mine + limits.processes,) * 2)
        if os.getuid() == 0:
            os.setgroups([])
            os.setresgid(uid, uid, uid)      # root hands the sandbox to an unprivileged user
            os.setresuid(uid, uid, uid)
    return apply


def _owner(pid: str) -> int:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return -1


def _rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            pass
    return total


class Sandbox:
    """A running sandbox with the runner in it; every wait has a deadline."""

    def __init__(self, scratch: Path, course_package: Path, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.scratch = scratch
        self.stopped: str | None = None
        self.callbacks: dict[int, object] = {}
        self.remotes = 0
        reachable = _Reachable()
        limit = _limit_resources(self.limits)

        def prepare_child() -> None:
            reachable.mount_in_child()
            limit()
        try:
            self.process = subprocess.Popen(
                command(scratch, course_package, self.limits, reachable), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True,
                preexec_fn=prepare_child)
        finally:
            self._reachable = reachable
        self.fd_out = self.process.stdin.fileno()
        self.fd_in = self.process.stdout.fileno()
        self.deadline = float("inf")
        self.end = float("inf")          # the submission's whole time budget
        self.call_timeout = 60.0
        self._next_check = 0.0

    # -- life and death
    def kill(self, why: str | None = None) -> None:
        if self.stopped is None:
            self.stopped = why or "stopped"
        if self.process.poll() is None or descendants(self.process.pid):
            for victim in reversed(descendants(self.process.pid)):
                try:
                    os.kill(victim, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.process.poll() is not None:
            self._reachable.cleanup()

    def close(self) -> None:
        if self.stopped is None:
            try:
                wire.send(self.fd_out, {"op": "quit"})
            except OSError:
                pass
        self.kill("finished")

    def _watch(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + 0.25
        pids = descendants(self.process.pid)
        if len(pids) > self.limits.processes:
            self.kill(f"it started more than {self.limits.processes} processes")
        elif _rss(pids) > self.limits.memory_total_bytes:
            self.kill(f"it used more than {self.limits.memory_total_bytes / 1024 ** 3:.1f} GB of memory")
        if self.stopped:
            raise SandboxGone(self.stopped)

    def _read(self, fd: int, count: int) -> bytes:
        chunks, left = [], count
        while left:
            if self.stopped:
                raise SandboxGone(self.stopped)
            wait = min(0.25, min(self.deadline, self.end) - time.monotonic())
            if wait <= 0:
                self.kill("it ran past its time limit" if self.deadline <= self.end
                          else "the submission ran past its total time budget")
                raise SandboxGone(self.stopped)
            ready, _, _ = select.select([fd], [], [], wait)
            self._watch()
            if not ready:
                continue
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                self.kill("it ended unexpectedly (crashed, exited or was killed)")
                raise SandboxGone(self.stopped)
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def receive(self, deadline: float) -> tuple[dict, list[bytes]]:
        if self.stopped:
            raise SandboxGone(self.stopped)
        self.deadline = deadline
        try:
            return wire.receive(self.fd_in, self._read)
        except wire.WireError as error:
            self.kill(f"it broke the grading protocol ({error})")
            raise SandboxGone(self.stopped) from None

    def send(self, header: dict, buffers: list | None = None) -> None:
        if self.stopped:
            raise SandboxGone(self.stopped)
        try:
            wire.send(self.fd_out, header, buffers or [])
        except OSError:
            self.kill("it ended unexpectedly")
            raise SandboxGone(self.stopped) from None

    # -- running the notebook
    def run_cells(self, cells: list[dict], timeout: float, budget_s: float, on_cell) -> None:
        """Run ``cells`` (``{"source", "label"}``); ``on_cell(index, result)`` per finished cell.

        A cell that ignores its timer is stopped with the whole sandbox ``GRACE_S`` later;
        ``budget_s`` bounds all the cells together.
        """
        self.end = time.monotonic() + budget_s
        end = self.end
        self.send({"op": "setup", "cells": cells, "timeout": timeout})
        while True:
            message, _ = self.receive(min(end, time.monotonic() + timeout + GRACE_S))
            event = message.get("event")
            if event == "ready":
                return
            if event == "cell_done":
                on_cell(int(message.get("index", -1)), message)

    # -- requests once the notebook has run
    def request(self, header: dict, buffers: list, timeout: float):
        """Send one request; serve the callbacks it triggers; the decoded value it returns."""
        header = dict(header, timeout=timeout)
        self.send(header, buffers)
        deadline = time.monotonic() + timeout + GRACE_S
        while True:
            reply, reply_buffers = self.receive(deadline)
            if reply.get("event") == "callback":
                self._serve_callback(reply, reply_buffers)
                continue
            if reply.get("missing"):
                raise KeyError(header.get("name"))
            if "error" in reply:
                raise _student_exception(reply["error"])
            return self.decode(reply.get("value"), reply_buffers)

    def _serve_callback(self, message: dict, buffers: list) -> None:
        function = self.callbacks.get(int(message.get("callback", -1)))
        reply_buffers: list = []
        try:
            if function is None:
                raise RuntimeError("unknown callback")
            args = [self.decode(a, buffers) for a in message.get("args", [])]
            kwargs = {str(k): self.decode(v, buffers) for k, v in message.get("kwargs", {}).items()}
            reply = {"value": self.encode(function(*args, **kwargs), reply_buffers)}
        except Exception as error:   # the grader's own callable failed: the student sees why
            reply_buffers = []
            reply = {"error": {"type": type(error).__name__ if type(error).__module__ == "builtins"
                               else "RuntimeError", "message": str(error)[:500]}}
        self.send(reply, reply_buffers)

    def encode(self, value, buffers: list):
        def other(item):
            if isinstance(item, Remote):
                if object.__getattribute__(item, "_sandbox") is not self:
                    raise TypeError("an object of another submission")
                return {"ref": object.__getattribute__(item, "_ref")}
            if isinstance(item, dict):
                return wire.encode_plain(dict(item), buffers, other)
            if isinstance(item, tuple):
                return wire.encode_plain(tuple(item), buffers, other)
            if isinstance(item, list):
                return wire.encode_plain(list(item), buffers, other)
            numpy = sys.modules.get("numpy")
            if numpy is not None and isinstance(item, numpy.random.Generator):
                return {"generator": {name: {"callback": self._register(call)}
                                      for name, call in _generator_methods(item).items()}}
            if callable(item):
                key = len(self.callbacks) + 1
                self.callbacks[key] = item
                return {"callback": key}
            raise TypeError(f"the grader cannot pass a {type(item).__name__} to student code")
        return wire.encode_plain(value, buffers, other)

    def _register(self, function) -> int:
        key = len(self.callbacks) + 1
        self.callbacks[key] = function
        return key

    def decode(self, data, buffers: list):
        def other(item):
            if "handle" in item:
                return Remote(self, int(item["handle"]), item)
            raise wire.WireError("malformed value")
        return wire.decode_plain(data, buffers, other)


# A NumPy Generator the tests hand to student code stays in the grader: the student gets an
# object whose methods call back to it, so its state advances exactly as if it were local.
# Position of ``size`` among each method's arguments; sizes are capped so that a student
# cannot make the grader allocate without bound.
GENERATOR_SIZE_ARG = {"random": 0, "standard_normal": 0, "integers": 2, "normal": 2,
                      "uniform": 2, "choice": 1, "exponential": 1, "binomial": 2,
                      "poisson": 1, "multinomial": 2, "gamma": 2, "beta": 2, "dirichlet": 1}
MAX_GENERATED = 10_000_000


def _generator_methods(generator) -> dict:
    def capped(name: str, position: int):
        method = getattr(generator, name)

        def call(*args, **kwargs):
            size = kwargs.get("size", args[position] if len(args) > position else None)
            count = 1
            for n in ((size,) if isinstance(size, int) else size or ()):
                count *= max(int(n), 0)
            if count > MAX_GENERATED:
                raise ValueError(f"at most {MAX_GENERATED} random numbers per call")
            return method(*args, **kwargs)
        return call
    return {name: capped(name, position) for name, position in GENERATOR_SIZE_ARG.items()}


class StudentError(Exception):
    """An exception raised by the student's code that is not one of Python's own."""


def _student_exception(error: dict) -> BaseException:
    name = str(error.get("type", "Exception"))
    message = str(error.get("message", ""))[:2000]
    kind = getattr(builtins, name, None) if error.get("module") == "builtins" else None
    if isinstance(kind, type) and issubclass(kind, Exception) and kind is not StopIteration:
        try:
            return kind(message)
        except Exception:
            pass
    return StudentError(f"{name}: {message}" if message else name)


# Modules whose classes a student object may claim as its type in the grader's isinstance
# checks: only ones the grader imported itself.
TRUSTED_CLASS_ROOTS = ("builtins", "collections", "numpy", "torch", "lstm_ref", "types")


def _resolve_class(mro: list[str]):
    for entry in mro:
        module_name, _, qualname = str(entry).partition(":")
        if module_name.split(".")[0] not in TRUSTED_CLASS_ROOTS:
            continue
        module = sys.modules.get(module_name)
        target = module
        try:
            for part in qualname.split("."):
                target = getattr(target, part)
        except AttributeError:
            continue
        if isinstance(target, type) and target is not object:
            return target
    return Remote


class Remote:
    """A student object that stays in the sandbox; every use is a request to it.

    ``isinstance`` sees the nearest class of a trusted module in the object's declared type
    (the object's own claim: it can pass structural checks, never a value check, since values
    come back as plain data).
    """

    __slots__ = ("_sandbox", "_ref", "_info")

    def __init__(self, sandbox: Sandbox, ref: int, info: dict):
        object.__setattr__(self, "_sandbox", sandbox)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_info", info)

    def _request(self, op: str, **fields):
        sandbox = object.__getattribute__(self, "_sandbox")
        buffers: list = []
        header = {"op": op, "ref": object.__getattribute__(self, "_ref")}
        for key, value in fields.items():
            header[key] = sandbox.encode(value, buffers) if key in ("key", "item") else value
        return sandbox.request(header, buffers, sandbox.call_timeout)

    @property
    def __class__(self):
        return _resolve_class(object.__getattribute__(self, "_info").get("mro", []))

    def __call__(self, *args, **kwargs):
        sandbox = object.__getattribute__(self, "_sandbox")
        buffers: list = []
        header = {"op": "call", "ref": object.__getattribute__(self, "_ref"),
                  "args": [sandbox.encode(a, buffers) for a in args],
                  "kwargs": {str(k): sandbox.encode(v, buffers) for k, v in kwargs.items()}}
        return sandbox.request(header, buffers, sandbox.call_timeout)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._request("getattr", name=name)

    def __getitem__(self, key):
        return self._request("getitem", key=key)

    def __len__(self):
        value = self._request("len")
        if not isinstance(value, int) or value < 0:
            raise TypeError("len() of the student's object is not a length")
        return value

    def __bool__(self):
        return self._request("bool") is True

    def __contains__(self, item):
        return self._request("contains", item=item) is True

    def __iter__(self):
        iterator = self._request("iter")
        if not isinstance(iterator, Remote):
            return iter(iterator)
        return _RemoteIterator(iterator)

    def __repr__(self):
        return f"<{object.__getattribute__(self, '_info').get('type', 'object')} object>"

    __str__ = __repr__


class _RemoteIterator:
    def __init__(self, remote: Remote):
        self.remote = remote

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return self.remote._request("next")
        except StudentError as error:
            if str(error).startswith("StopIteration"):
                raise StopIteration from None
            raise
