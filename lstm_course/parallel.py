"""Run grading jobs in child processes, ``jobs`` at a time, each with a deadline.

A child that overruns its deadline is killed together with everything it started (the Jupyter
kernel runs in its own session, so it is found among the child's descendants, not its process
group).  Children are forked where the platform allows it: nbgrader is imported once, in the
parent, instead of once per student.
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


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (psutil if present, else Linux's /proc)."""
    try:
        import psutil
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except ImportError:
        pass
    except Exception:
        return []
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
    for victim in _descendants(pid) + [pid]:
        try:
            os.kill(victim, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def adopt_orphans() -> None:
    """Linux: become the 'subreaper' of everything started below this process.

    Processes a student's code leaves behind (a detached ``subprocess.Popen``) are then
    re-parented here when the kernel exits, instead of to init, so :func:`kill_descendants`
    finds them.  Elsewhere this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def kill_descendants() -> None:
    """SIGKILL every process below this one (what the grading of one student left running)."""
    for victim in _descendants(os.getpid()):
        try:
            os.kill(victim, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def run_jobs(target: Callable[..., None], jobs: list[Job], workers: int,
             on_done: Callable[[Job, str | None], Any]) -> None:
    """Call ``target(*job.args)`` in a child process per job, at most ``workers`` at once.

    ``on_done(job, problem)`` is called in the parent as each job ends; ``problem`` is None when
    the child exited normally, else a sentence (deadline passed, crashed with a signal).
    """
    context = _context()
    pending = list(jobs)
    running: dict[int, tuple[Any, Job, float]] = {}
    while pending or running:
        while pending and len(running) < max(1, workers):
            job = pending.pop(0)
            process = context.Process(target=target, args=job.args, daemon=False)
            process.start()
            running[process.sentinel] = (process, job, time.monotonic() + job.deadline_s)
        now = time.monotonic()
        wait_for = max(0.0, min(deadline for _, _, deadline in running.values()) - now)
        ready = multiprocessing.connection.wait(list(running), timeout=wait_for)
        now = time.monotonic()
        for sentinel in list(running):
            process, job, deadline = running[sentinel]
            if sentinel in ready:
                process.join()
                # a finished child may leave a kernel behind if it was killed mid-way
                problem = None if process.exitcode == 0 else f"the grading process ended with exit code {process.exitcode}"
            elif now >= deadline:
                kill_tree(process.pid)
                process.join()
                problem = f"grading took longer than {job.deadline_s:.0f} s and was stopped"
            else:
                continue
            del running[sentinel]
            on_done(job, problem)
