"""The program that runs a student's notebook inside the sandbox, and the wire both sides speak.

This file is executed *inside* the bubblewrap sandbox (``python -I -S runner.py``) with only
the standard library, the environment's site-packages and the course's ``lstm_ref`` package
visible; it never imports :mod:`lstm_course`.  The trusted grader imports it too, for the
codec (:func:`send`, :func:`receive`, :func:`encode_plain`, :func:`decode_plain`).

What the runner does:

1. receives the student's code cells and runs them one by one in one namespace, each under a
   timer (``SIGALRM``), with what they print captured and capped, and reports each cell's
   outputs (the sandbox's own traceback frames only show the student's cells);
2. then serves the trusted grader: look a name up, call a function, get an attribute or item,
   iterate, forbid reference functions for the length of a graded call.  Results go back as
   plain data (numbers, strings, containers of them, arrays and tensors as dtype + shape +
   bytes); any other object stays here and the grader gets a numbered handle to it.

Messages: 4-byte big-endian length + JSON header; a header may name ``buffers`` (their
lengths), sent raw right after it.
"""

from __future__ import annotations

import builtins
import importlib
import io
import json
import math
import os
import signal
import struct
import sys
import traceback
import types

MAX_MESSAGE = 512 * 1024 * 1024       # bytes one message (header + buffers) may have
MAX_DEPTH = 32
MAX_ITEMS = 1_000_000
STREAM_LIMIT = 20_000                 # characters a cell's output keeps (per cell, all streams)
TRUNCATION = "\n[output cut here: more than {} characters]\n"
PLAIN_DTYPE_KINDS = "biufcU"          # bool, int, uint, float, complex, unicode
TORCH_DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
                "uint8", "bool", "complex64", "complex128")


class WireError(Exception):
    """A message that breaks the protocol (too large, malformed, the other side gone)."""


# ----------------------------------------------------------------------------- framing

def _read_exactly(fd: int, count: int) -> bytes:
    chunks, left = [], count
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise WireError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def send(fd: int, header: dict, buffers: list[bytes] = ()) -> None:
    header = dict(header, buffers=[len(b) for b in buffers])
    text = json.dumps(header, allow_nan=False).encode()
    _write_all(fd, struct.pack(">I", len(text)) + text)
    for buffer in buffers:
        _write_all(fd, bytes(buffer))


def receive(fd: int, reader=None) -> tuple[dict, list[bytes]]:
    """One message; ``reader(fd, n)`` reads exactly n bytes (the grader passes one with a deadline)."""
    read = reader or _read_exactly
    (size,) = struct.unpack(">I", read(fd, 4))
    if size > MAX_MESSAGE:
        raise WireError(f"message header of {size} bytes")
    try:
        header = json.loads(read(fd, size))
        lengths = [int(n) for n in header.get("buffers", [])]
    except (ValueError, TypeError, AttributeError) as error:
        raise WireError(f"malformed message: {error}") from None
    if not isinstance(header, dict) or any(n < 0 for n in lengths) or sum(lengths) > MAX_MESSAGE:
        raise WireError("malformed or oversized message")
    return header, [read(fd, n) for n in lengths]


# ----------------------------------------------------------------------------- plain data

def _loaded(name: str):
    """A module if it is imported for real (not a lazy placeholder), else None."""
    module = sys.modules.get(name)
    if module is None or type(module).__name__ == "_LazyModule":
        return None
    return module


def encode_plain(value, buffers: list, other=None, depth: int = 0):
    """``value`` as JSON-able data (+ raw buffers); ``other(value)`` encodes anything else."""
    if depth > MAX_DEPTH:
        raise ValueError("data nested too deeply")
    if value is None or isinstance(value, (bool, str)) and type(value) in (bool, str):
        return value
    kind = type(value)
    if kind is int:
        return value if abs(value) < 2 ** 53 else {"int": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if kind is complex:
        return {"complex": [repr(value.real), repr(value.imag)]}
    if kind is bytes:
        buffers.append(value)
        return {"bytes": len(buffers) - 1}
    if kind in (list, tuple, set, frozenset):
        if len(value) > MAX_ITEMS:
            raise ValueError("container too large")
        items = [encode_plain(v, buffers, other, depth + 1) for v in value]
        return items if kind is list else {kind.__name__: items}
    if kind is dict:
        if len(value) > MAX_ITEMS:
            raise ValueError("container too large")
        return {"dict": [[encode_plain(k, buffers, other, depth + 1),
                          encode_plain(v, buffers, other, depth + 1)] for k, v in value.items()]}
    if kind is slice:
        return {"slice": [encode_plain(v, buffers, other, depth + 1)
                          for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"ellipsis": True}
    numpy = _loaded("numpy")
    if numpy is not None:
        if isinstance(value, numpy.ndarray) and value.dtype.kind in PLAIN_DTYPE_KINDS:
            array = numpy.ascontiguousarray(numpy.ndarray.view(value, numpy.ndarray))
            buffers.append(numpy.ndarray.tobytes(array))
            return {"ndarray": array.dtype.str, "shape": list(array.shape), "buffer": len(buffers) - 1}
        if isinstance(value, numpy.generic) and value.dtype.kind in PLAIN_DTYPE_KINDS:
            buffers.append(numpy.ndarray.tobytes(numpy.asarray(value)))
            return {"npscalar": value.dtype.str, "buffer": len(buffers) - 1}
        if isinstance(value, numpy.dtype) and value.kind in PLAIN_DTYPE_KINDS:
            return {"dtype": value.str}
        if isinstance(value, type) and issubclass(value, numpy.generic) and value is not numpy.generic:
            try:
                return {"dtype_type": numpy.dtype(value).str}
            except TypeError:
                pass
    torch = _loaded("torch")
    if torch is not None:
        if isinstance(value, torch.Tensor):
            name = str(value.dtype).replace("torch.", "")
            if name in TORCH_DTYPES and value.layout == torch.strided:
                tensor = torch.Tensor.detach(value).to("cpu").contiguous()
                data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
                buffers.append(data)
                return {"tensor": name, "shape": list(tensor.shape), "buffer": len(buffers) - 1,
                        "requires_grad": bool(value.requires_grad)}
        if isinstance(value, torch.dtype):
            return {"torch_dtype": str(value).replace("torch.", "")}
        if isinstance(value, torch.Size):
            return {"torch_size": [int(v) for v in value]}
    if other is None:
        raise TypeError(f"{kind.__name__} is not plain data")
    return other(value)


def decode_plain(data, buffers: list[bytes], other=None):
    """The inverse of :func:`encode_plain`: only base types, base ``ndarray`` and ``Tensor``."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode_plain(v, buffers, other) for v in data]
    if not isinstance(data, dict) or len(data) == 0:
        raise WireError("malformed value")
    if "int" in data:
        return int(data["int"])
    if "float" in data:
        return float(data["float"])
    if "complex" in data:
        return complex(float(data["complex"][0]), float(data["complex"][1]))
    if "bytes" in data:
        return bytes(buffers[data["bytes"]])
    for name, kind in (("tuple", tuple), ("set", set), ("frozenset", frozenset)):
        if name in data:
            return kind(decode_plain(v, buffers, other) for v in data[name])
    if "dict" in data:
        return {decode_plain(k, buffers, other): decode_plain(v, buffers, other) for k, v in data["dict"]}
    if "slice" in data:
        return slice(*(decode_plain(v, buffers, other) for v in data["slice"]))
    if "ellipsis" in data:
        return Ellipsis
    if "ndarray" in data or "npscalar" in data or "dtype" in data or "dtype_type" in data:
        import numpy
        if "dtype" in data:
            return numpy.dtype(str(data["dtype"]))
        if "dtype_type" in data:
            return numpy.dtype(str(data["dtype_type"])).type
        dtype = numpy.dtype(str(data.get("ndarray") or data.get("npscalar")))
        if dtype.kind not in PLAIN_DTYPE_KINDS:
            raise WireError(f"dtype {dtype} is not plain data")
        raw = buffers[data["buffer"]]
        if "npscalar" in data:
            if len(raw) != dtype.itemsize:
                raise WireError("scalar of the wrong size")
            return numpy.frombuffer(raw, dtype=dtype)[0]
        shape = tuple(int(n) for n in data["shape"])
        if any(n < 0 for n in shape) or math.prod(shape) * dtype.itemsize != len(raw):
            raise WireError("array bytes do not match its shape and dtype")
        return numpy.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if "tensor" in data or "torch_dtype" in data or "torch_size" in data:
        import torch
        if "torch_size" in data:
            return torch.Size([int(v) for v in data["torch_size"]])
        name = str(data.get("tensor") or data.get("torch_dtype"))
        if name not in TORCH_DTYPES:
            raise WireError(f"torch dtype {name} is not plain data")
        dtype = getattr(torch, name)
        if "torch_dtype" in data:
            return dtype
        shape = [int(n) for n in data["shape"]]
        raw = buffers[data["buffer"]]
        itemsize = torch.empty((), dtype=dtype).element_size()
        if any(n < 0 for n in shape) or math.prod(shape) * itemsize != len(raw):
            raise WireError("tensor bytes do not match its shape and dtype")
        flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        tensor = flat.view(dtype).reshape(shape).clone() if raw else torch.empty(shape, dtype=dtype)
        if data.get("requires_grad") and tensor.is_floating_point():
            tensor.requires_grad_(True)
        return tensor
    if other is not None:
        return other(data)
    raise WireError("malformed value")


# ----------------------------------------------------------------------------- the runner

class _Capped(io.TextIOBase):
    """Collects what a cell prints, up to ``STREAM_LIMIT`` characters."""

    def __init__(self, sink: list, name: str, budget: list):
        self._sink, self._name, self._budget = sink, name, budget

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        if self._budget[0] <= 0:
            return len(text)
        if len(text) > self._budget[0]:
            kept = text[:self._budget[0]] + TRUNCATION.format(STREAM_LIMIT)
            self._budget[0] = 0
            self._sink.append((self._name, kept, True))
            return len(text)
        self._budget[0] -= len(text)
        self._sink.append((self._name, text, False))
        return len(text)

    def writable(self):
        return True

    def flush(self):
        pass


class CellTimeout(BaseException):
    """Raised in the student's code when a cell or a call runs past its time."""


def _on_alarm(signum, frame):
    raise CellTimeout("ran longer than the time limit")


def _student_traceback(error: BaseException) -> str:
    """The traceback with only the student's own frames (cells), never the runner's."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<cell ")]
    lines = traceback.format_list(frames)
    lines += traceback.format_exception_only(type(error), error)
    return "".join(lines)[-4000:]


def _strip_magics(source: str) -> str:
    """IPython's ``%magic`` and ``!shell`` lines become ``pass`` (a plain interpreter runs here)."""
    out = []
    for line in source.splitlines():
        stripped = line.lstrip()
        out.append(line[:len(line) - len(stripped)] + "pass" if stripped[:1] in ("%", "!") else line)
    return "\n".join(out)


class _LazyFinder:
    """Import ``torch`` and ``lstm_ref`` lazily: a notebook that imports them but never uses
    them (most of assignment 1's answers) does not pay for loading PyTorch."""

    LAZY = ("torch", "lstm_ref")

    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top not in self.LAZY or name in sys.modules or (top == "torch" and name != "torch"):
            return None
        import importlib.machinery
        import importlib.util
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


class _RemoteGenerator:
    """Stands for a ``numpy.random.Generator`` of the grader: each method is a call to it."""

    def __init__(self, methods: dict):
        self.__dict__.update(methods)

    def __repr__(self):
        return "Generator(PCG64)"


TORCH_MARKER = "lstm_ref.grading:torch_operations"    # forbid it: no PyTorch during the call


def _refuse_torch(torch):
    """A ``TorchFunctionMode`` under which every PyTorch operation raises AssertionError (the
    sandbox's copy of ``lstm_ref.grading._refuse_torch``: this file imports nothing of ours)."""

    class NoTorch(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", None) or repr(func)
            raise AssertionError(f"PyTorch ({name}) may not be used in this answer: write the "
                                 "arithmetic with NumPy yourself")

    return NoTorch()


class Runner:
    def __init__(self, fd_in: int, fd_out: int):
        self.fd_in, self.fd_out = fd_in, fd_out
        self.namespace = {"__name__": "__main__", "__builtins__": builtins,
                          "display": lambda *objects, **kwargs: print(*objects)}
        self.objects: dict[int, object] = {}
        self.forbidden: list[tuple] = []
        self.modes: list = []                # PyTorch refused (lstm_ref.grading.torch_operations)
        self.watching: set[str] = set()      # modules of forbidden functions not loaded yet
        self.timeout = 60.0

    # -- values
    def _handle(self, value):
        key = len(self.objects) + 1
        self.objects[key] = value
        kind = type(value)
        mro = []
        for base in kind.__mro__:
            mro.append(f"{getattr(base, '__module__', '?')}:{getattr(base, '__qualname__', '?')}")
        return {"handle": key, "mro": mro[:40], "callable": callable(value),
                "type": getattr(kind, "__qualname__", "?")[:200]}

    def encode(self, value, buffers):
        return encode_plain(value, buffers, self._handle)

    def decode(self, data, buffers):
        def other(item):
            if "ref" in item:
                return self.objects[int(item["ref"])]
            if "callback" in item:
                return self._callback(int(item["callback"]))
            if "generator" in item and isinstance(item["generator"], dict):
                return _RemoteGenerator({str(name): self._callback(int(spec["callback"]))
                                         for name, spec in item["generator"].items()})
            raise WireError("malformed value")
        return decode_plain(data, buffers, other)

    def _callback(self, key: int):
        runner = self

        def callback(*args, **kwargs):
            buffers: list = []
            header = {"event": "callback", "callback": key,
                      "args": [runner.encode(a, buffers) for a in args],
                      "kwargs": {str(k): runner.encode(v, buffers) for k, v in kwargs.items()}}
            send(runner.fd_out, header, buffers)
            reply, reply_buffers = receive(runner.fd_in)
            if "error" in reply:
                kind = getattr(builtins, str(reply["error"].get("type")), None)
                if not (isinstance(kind, type) and issubclass(kind, Exception)):
                    kind = RuntimeError
                raise kind(str(reply["error"].get("message", "")))
            return runner.decode(reply.get("value"), reply_buffers)
        return callback

    # -- running cells
    def run_cells(self, cells: list[dict]) -> None:
        for index, cell in enumerate(cells):
            send(self.fd_out, {"event": "cell_start", "index": index})
            outputs: list = []
            budget = [STREAM_LIMIT]
            sys.stdout, sys.stderr = _Capped(outputs, "stdout", budget), _Capped(outputs, "stderr", budget)
            error = None
            try:
                code = compile(_strip_magics(cell["source"]), f"<cell {cell.get('label', index)}>", "exec")
                signal.setitimer(signal.ITIMER_REAL, self.timeout)
                try:
                    exec(code, self.namespace)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            except CellTimeout:
                error = {"ename": "CellTimeoutError",
                         "evalue": f"the cell ran longer than {self.timeout:g} s and was stopped",
                         "traceback": ""}
            except BaseException as exc:   # the student's error, whatever it is
                error = {"ename": type(exc).__name__, "evalue": str(exc)[:2000],
                         "traceback": _student_traceback(exc)}
            finally:
                sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
            merged: dict[str, list] = {}
            truncated = False
            for name, text, cut in outputs:
                merged.setdefault(name, []).append(text)
                truncated = truncated or cut
            send(self.fd_out, {"event": "cell_done", "index": index, "error": error,
                               "truncated": truncated,
                               "streams": {k: "".join(v) for k, v in merged.items()}})

    # -- forbidding reference functions during a graded call
    def forbid(self, names: list[str]) -> None:
        message_code = {}
        for entry in names:
            module_name, _, qualname = str(entry).partition(":")
            if entry == TORCH_MARKER:
                torch = _loaded("torch")
                if torch is None:
                    self.watching.add("torch")    # importing it during the call is using it
                else:
                    mode = _refuse_torch(torch)
                    mode.__enter__()
                    self.modes.append(mode)
                continue
            if _loaded(module_name) is None:
                # not loaded (lazily imported, or never): loading it now would cost seconds
                # (PyTorch); if the graded call loads it, the call used it, and fails
                self.watching.add(module_name)
                continue
            try:
                target = importlib.import_module(module_name)
                for part in qualname.split("."):
                    target = getattr(target, part)
            except Exception:
                continue
            # a decorated function (torch's clip_grad_norm_ under @_no_grad) is a closure around
            # the original, which functools.wraps names in __wrapped__: disable the original
            while (isinstance(target, types.FunctionType) and target.__code__.co_freevars
                   and isinstance(getattr(target, "__wrapped__", None), types.FunctionType)):
                target = target.__wrapped__
            if not isinstance(target, types.FunctionType) or target.__code__.co_freevars:
                continue
            text = (f"{module_name}.{qualname} is the course's reference implementation: "
                    "write your own instead of calling it")
            if text not in message_code:
                scope: dict = {}
                exec(compile(f"def stub(*args, **kwargs):\n    raise AssertionError({text!r})\n",
                             "<forbidden>", "exec"), scope)
                message_code[text] = scope["stub"].__code__
            self.forbidden.append((target, target.__code__))
            target.__code__ = message_code[text]

    def allow(self) -> list[str]:
        """Undo :meth:`forbid`; the watched modules the block loaded (it reached for them)."""
        while self.modes:
            self.modes.pop().__exit__(None, None, None)
        while self.forbidden:
            target, code = self.forbidden.pop()
            target.__code__ = code
        loaded = sorted(m for m in self.watching if _loaded(m) is not None)
        self.watching.clear()
        return loaded

    # -- serving the grader
    def serve(self) -> None:
        while True:
            request, buffers = receive(self.fd_in)
            op = request.get("op")
            if op == "quit":
                return
            reply_buffers: list = []
            try:
                signal.setitimer(signal.ITIMER_REAL, float(request.get("timeout", self.timeout)))
                try:
                    value = self._dispatch(op, request, buffers)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                reply = {"value": self.encode(value, reply_buffers)}
            except CellTimeout:
                reply_buffers = []
                reply = {"error": {"type": "TimeoutError", "module": "builtins",
                                   "message": "your code ran longer than the time limit"}}
            except _Missing:
                reply_buffers = []
                reply = {"missing": True}
            except BaseException as exc:
                reply_buffers = []
                kind = type(exc)
                reply = {"error": {"type": kind.__name__, "module": getattr(kind, "__module__", "?"),
                                   "message": str(exc)[:2000], "traceback": _student_traceback(exc)}}
            send(self.fd_out, reply, reply_buffers)

    def _dispatch(self, op, request, buffers):
        if op == "lookup":
            name = str(request["name"])
            if name not in self.namespace or name.startswith("__"):
                raise _Missing()
            return self.namespace[name]
        if op == "forbid":
            self.forbid(list(request["names"]))
            return None
        if op == "allow":
            return self.allow()
        target = self.objects[int(request["ref"])]
        if op == "call":
            args = [self.decode(a, buffers) for a in request.get("args", [])]
            kwargs = {str(k): self.decode(v, buffers) for k, v in request.get("kwargs", {}).items()}
            return target(*args, **kwargs)
        if op == "getattr":
            return getattr(target, str(request["name"]))
        if op == "getitem":
            return target[self.decode(request["key"], buffers)]
        if op == "len":
            return len(target)
        if op == "bool":
            return bool(target)
        if op == "iter":
            return iter(target)
        if op == "next":
            return next(target)
        if op == "contains":
            return self.decode(request["item"], buffers) in target
        if op == "str":
            return str(target)[:10_000]
        raise WireError(f"unknown request {op!r}")


class _Missing(Exception):
    pass


def main() -> int:
    # the protocol keeps its own descriptors; the student's fds 0-2 go nowhere useful
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open("stdio.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(os.fdopen(1, "wb", buffering=0), write_through=True)
    sys.stderr = sys.__stderr__ = sys.stdout
    sys.meta_path.insert(0, _LazyFinder())
    signal.signal(signal.SIGALRM, _on_alarm)
    runner = Runner(fd_in, fd_out)
    setup, _ = receive(fd_in)
    runner.timeout = float(setup.get("timeout", 60))
    runner.run_cells(list(setup.get("cells", [])))
    send(fd_out, {"event": "ready"})
    runner.serve()
    return 0


if __name__ == "__main__":
    os._exit(main())
