"""Run inside the learner's kernel by ``lstm-course check`` before the notebook's first cell.

It installs an IPython handler for ``ValueError``: when NumPy refuses to combine arrays of
incompatible shapes in a line of the learner's own code, the message is replaced by a sentence
that names the expression, the shapes of its operands and the line, e.g.

    line 3 of rnn_step_forward: `x_t @ W_ih` multiplies shapes (2, 3) and (4, 3): for A @ B
    the last size of A (3) must equal the second-to-last size of B (4)

Only operands that are names, attributes (``W.T``), subscripts or constants are evaluated, in
the failing frame, so the diagnosis has no side effects.  Nothing is changed for grading: the
handler exists only in the checker's kernel.
"""

from __future__ import annotations

import ast

SHAPE_WORDS = ("matmul", "could not be broadcast", "not aligned", "gufunc signature",
               "mismatch in its core dimension", "shapes")
OPS = {ast.MatMult: "@", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
VERBS = {"@": "multiplies", "+": "adds", "-": "subtracts", "*": "multiplies element-wise",
         "/": "divides element-wise", "**": "raises element-wise"}


def _safe(node) -> bool:
    """Whether evaluating ``node`` has no side effects worth fearing (no calls, no lambdas)."""
    allowed = (ast.Name, ast.Attribute, ast.Subscript, ast.Constant, ast.Slice, ast.Tuple,
               ast.Load, ast.UnaryOp, ast.USub, ast.BinOp, ast.operator)
    return all(isinstance(n, allowed) for n in ast.walk(node))


def _shape(node, frame):
    if not _safe(node):
        return None
    try:
        value = eval(compile(ast.Expression(node), "<check>", "eval"),  # noqa: S307
                     frame.f_globals, dict(frame.f_locals))
    except Exception:
        return None
    shape = getattr(value, "shape", None)
    return tuple(int(s) for s in shape) if shape is not None else None


def _matmul_problem(a, b):
    if len(a) == 0 or len(b) == 0:
        return "a 0-d operand cannot be used with @"
    inner_a = a[-1]
    inner_b = b[-2] if len(b) > 1 else b[0]
    if inner_a != inner_b:
        where = "second-to-last" if len(b) > 1 else "only"
        return (f"for A @ B the last size of A ({inner_a}) must equal the {where} size of B "
                f"({inner_b})")
    return None


def _broadcast_problem(a, b):
    import numpy as np
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return "they do not broadcast (sizes must match from the right, or be 1)"
    return None


def _explain(line: str, frame) -> str | None:
    try:
        tree = ast.parse(line.strip())
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        calls = []
        if isinstance(node, ast.BinOp) and type(node.op) in OPS:
            calls.append((OPS[type(node.op)], node.left, node.right))
        elif (isinstance(node, ast.Call) and len(node.args) == 2
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("dot", "matmul")):
            calls.append(("@", node.args[0], node.args[1]))
        for op, left, right in calls:
            a, b = _shape(left, frame), _shape(right, frame)
            if a is None or b is None:
                continue
            problem = _matmul_problem(a, b) if op == "@" else _broadcast_problem(a, b)
            if problem:
                text = ast.unparse(node)
                return f"`{text}` {VERBS[op]} shapes {a} and {b}: {problem}"
    return None


def _learner_frame(tb, cell_files):
    """The deepest frame of the traceback that runs code from a notebook cell."""
    found = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in cell_files:
            found = tb
        tb = tb.tb_next
    return found


def install(shell) -> None:
    import linecache

    def handler(self, etype, value, tb, tb_offset=None):
        try:
            message = str(value)
            if any(word in message for word in SHAPE_WORDS):
                cell_files = set(getattr(self.compile, "_filename_map", {}))
                found = _learner_frame(tb, cell_files)
                if found is not None:
                    frame = found.tb_frame
                    line = linecache.getline(frame.f_code.co_filename, found.tb_lineno)
                    sentence = _explain(line, frame) or f"`{line.strip()}` failed"
                    where = frame.f_code.co_name
                    where = "the cell" if where == "<module>" else where
                    value.args = (f"line {found.tb_lineno} of {where}: {sentence} "
                                  f"(NumPy said: {message.strip()})",)
        except Exception:
            pass
        stb = self.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        self._showtraceback(etype, value, stb)     # IPython 8 leaves showing it to the handler
        return stb

    shell.set_custom_exc((ValueError,), handler)


if __name__ == "_lstm_course_check":      # exec'd by the checker in the learner's kernel
    install(get_ipython())  # noqa: F821
