"""Helpers for the course's graded tests (used inside nbgrader test cells).

:func:`forbid_calls` makes sure an answer is the student's own work: while it is active, the
reference functions it names raise when called, however the student imported them.
"""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def forbid_calls(*functions: Callable) -> Iterator[None]:
    """Within the block, calling any of ``functions`` raises ``AssertionError``.

    The functions' code objects are swapped, so the block also catches references a student
    bound earlier (``from lstm_ref.numpy import lstm_step_forward``).  Free variables are not
    supported, which plain module-level functions never have.
    """
    saved = []
    try:
        for fn in functions:
            if not isinstance(fn, types.FunctionType) or fn.__code__.co_freevars:
                raise ValueError(f"forbid_calls expects plain module-level functions, got {fn!r}")
            saved.append((fn, fn.__code__))
            fn.__code__ = _raising_code(f"{fn.__module__}.{fn.__qualname__}")
        hook = _remote_hook
        if hook is not None:
            hook(functions, True)
        try:
            yield
        finally:
            if hook is not None:
                hook(functions, False)
    finally:
        for fn, code in saved:
            fn.__code__ = code
