"""Pre-warmed grading workers: ``jobs`` processes, each grading one submission after another.

The parent imports what the tests need (NumPy, PyTorch, the course's package) once, then forks
the workers, so no submission pays for an interpreter start or those imports on the trusted
side; each submission gets its own fresh sandbox (:mod:`lstm_course.sandbox`).  A worker that
overruns a submission's deadline is killed together with everything below it and replaced.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class Job:
    key: str
    args: tuple
    deadline_s: float


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") and "fork" in methods
                                       else "spawn")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux's /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and its descendants."""
    for victim in descendants(pid) + [pid]:
        try:
            os.kill(victim, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _worker(target: Callable, connection) -> None:
    """Grade what the parent sends, one job at a time, until it sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            item = connection.recv()
        except EOFError:
            return
        if item is None:
            return
        index, args = item
        try:
            outcome = (index, target(*args), None)
        except Exception as error:   # reported as this job's problem, the worker goes on
            outcome = (index, None, f"{type(error).__name__}: {error}"[:500])
        connection.send(outcome)


def run_jobs(target: Callable[..., Any], jobs: list[Job], workers: int,
             on_done: Callable[[Job, Any, str | None], Any]) -> None:
    """Call ``target(*job.args)`` in ``workers`` forked worker processes.

    ``on_done(job, value, problem)`` is called in the parent as each job ends; ``problem`` is
    None when ``target`` returned, else a sentence (raised, deadline passed, worker died).
    """
    context = _context()
    pending = list(enumerate(jobs))
    idle: list = []
    busy: dict[Any, tuple] = {}          # connection -> (process, index, job, deadline)
    processes: dict[Any, Any] = {}

    def start_worker():
        parent_end, child_end = context.Pipe()
        process = context.Process(target=_worker, args=(target, child_end), daemon=True)
        process.start()
        child_end.close()
        processes[parent_end] = process
        idle.append(parent_end)

    for _ in range(max(1, min(workers, len(jobs)))):
        start_worker()
    try:
        while pending or busy:
            while pending and idle:
                connection = idle.pop()
                index, job = pending.pop(0)
                connection.send((index, job.args))
                busy[connection] = (index, job, time.monotonic() + job.deadline_s)
            wait_for = max(0.0, min(d for _, _, d in busy.values()) - time.monotonic())
            ready = multiprocessing.connection.wait(list(busy), timeout=min(wait_for, 5.0))
            now = time.monotonic()
            for connection in list(busy):
                index, job, deadline = busy[connection]
                problem, value, replace = None, None, False
                if connection in ready:
                    try:
                        _, value, problem = connection.recv()
                    except (EOFError, OSError):
                        problem, replace = "the grading worker died", True
                elif now >= deadline:
                    problem, replace = f"grading took longer than {job.deadline_s:.0f} s and was stopped", True
                else:
                    continue
                del busy[connection]
                if replace:
                    process = processes.pop(connection)
                    kill_tree(process.pid)
                    process.join()
                    connection.close()
                    if pending:
                        start_worker()
                else:
                    idle.append(connection)
                on_done(job, value, problem)
    finally:
        for connection, process in processes.items():
            try:
                connection.send(None)
            except (OSError, BrokenPipeError):
                pass
        for connection, process in processes.items():
            process.join(timeout=5)
            if process.is_alive():
                kill_tree(process.pid)
                process.join()
