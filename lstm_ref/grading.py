"""Helpers for the course's graded tests (used inside nbgrader test cells).

:func:`forbid_calls` makes sure an answer is the student's own work: while it is active, the
reference functions it names raise when called, however the student imported them.  Named
with the marker :func:`torch_operations`, it also refuses every PyTorch operation, for answers
that are to be written in NumPy (``torch.topk``, ``torch.logsumexp``, ``F.cross_entropy``...).
"""

from __future__ import annotations

import contextlib
import sys
import types
from typing import Callable, Iterator

# Set by the course's grader (``lstm-course grade``): called as ``hook(functions, True)`` when a
# block starts and ``hook(functions, False)`` when it ends, so that the sandbox running the
# student's code disables the same functions there (the tests run in another process).
_remote_hook: Callable | None = None


def _raising_code(name: str) -> types.CodeType:
    """A code object that raises AssertionError naming ``name``.

    The message is baked in as a constant (no closure, no globals but builtins), so the code
    can replace the ``__code__`` of any plain function.
    """
    message = (f"{name} is the course's reference implementation: "
               "write your own instead of calling it")
    namespace: dict = {}
    exec(compile(f"def stub(*args, **kwargs):\n    raise AssertionError({message!r})\n",
                 "<forbid_calls>", "exec"), namespace)
    return namespace["stub"].__code__


def torch_operations(*args, **kwargs):
    """Marker for :func:`forbid_calls`: every PyTorch function, tensor method and factory.

    It is never called; named among the functions of a block, it makes any PyTorch operation
    raise ``AssertionError`` there (a ``TorchFunctionMode``; if PyTorch is not imported yet,
    importing it during the block counts as using it).
    """
    raise AssertionError("torch_operations is a marker for forbid_calls, not a function")


def _refuse_torch(torch):
    """A ``TorchFunctionMode`` under which every PyTorch operation raises AssertionError."""

    class NoTorch(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", None) or repr(func)
            raise AssertionError(f"PyTorch ({name}) may not be used in this answer: write the "
                                 "arithmetic with NumPy yourself")

    return NoTorch()


@contextlib.contextmanager
def _torch_refused(remote: bool) -> Iterator[None]:
    torch = sys.modules.get("torch")
    if remote:               # the student's code runs in the sandbox, which refuses it there
        yield
    elif torch is None:
        yield
        if "torch" in sys.modules:
            raise AssertionError("your code imported PyTorch during a graded call, where it may "
                                 "not be used: write the arithmetic with NumPy yourself")
    else:
        with _refuse_torch(torch):
            yield


@contextlib.contextmanager
def forbid_calls(*functions: Callable) -> Iterator[None]:
    """Within the block, calling any of ``functions`` raises ``AssertionError``.

    The functions' code objects are swapped, so the block also catches references a student
    bound earlier (``from lstm_ref.numpy import lstm_step_forward``).  Free variables are not
    supported, which plain module-level functions never have.  :func:`torch_operations` among
    them refuses all of PyTorch for the block's length.
    """
    saved = []
    try:
        for fn in functions:
            if fn is torch_operations:
                continue
            if not isinstance(fn, types.FunctionType) or fn.__code__.co_freevars:
                raise ValueError(f"forbid_calls expects plain module-level functions, got {fn!r}")
            saved.append((fn, fn.__code__))
            fn.__code__ = _raising_code(f"{fn.__module__}.{fn.__qualname__}")
        hook = _remote_hook
        if hook is not None:
            hook(functions, True)
        try:
            if torch_operations in functions:
                with _torch_refused(remote=hook is not None):
                    yield
            else:
                yield
        finally:
            if hook is not None:
                hook(functions, False)
    finally:
        for fn, code in saved:
            fn.__code__ = code
