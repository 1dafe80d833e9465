"""The ``lstm-course`` command: ``release``, ``grade`` and ``check``.

Exit status: 0 on success; 1 when ``check`` finds a failing test; 2 for a usage or
configuration error (unknown assignment, missing folder).  ``grade`` never fails because a
submission is bad: that is reported per student in ``grades.csv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lstm_course.config import UsageError, find_course_root


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lstm-course", description="Release, grade and check the "
                                     "course's nbgrader assignments.")
    commands = parser.add_subparsers(dest="command", required=True)

    rel = commands.add_parser("release", help="regenerate exercises/ from solutions/ (nbgrader)")
    rel.add_argument("assignment", nargs="?", help="assignment id (default: all of them)")
    rel.add_argument("--course-root", help="the course folder (default: found from here)")

    gra = commands.add_parser("grade", help="auto-grade a folder or zip of submissions")
    gra.add_argument("assignment", help="assignment id, a folder of solutions/")
    gra.add_argument("submissions", type=Path, help="SUBMISSIONS/<student>/<notebook>.ipynb, or a zip of it")
    gra.add_argument("--out", type=Path, required=True, help="where grades.csv, feedback/ and report.png go")
    gra.add_argument("--timeout", type=int, default=None,
                     help="seconds a cell may run (default: Execute.timeout of nbgrader_config.py)")
    gra.add_argument("--jobs", type=int, default=1, help="students graded at once (default 1)")
    gra.add_argument("--course-root", help="the course folder (default: found from here)")
    gra.add_argument("--keep-scratch", action="store_true", help="keep the scratch courses (debugging)")

    chk = commands.add_parser("check", help="run a notebook's visible tests and say what passes")
    chk.add_argument("notebook", type=Path)
    chk.add_argument("--timeout", type=int, default=120, help="seconds a cell may run (default 120)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "release":
            from lstm_course.release import release
            release(find_course_root(args.course_root), [args.assignment] if args.assignment else None)
            return 0
        if args.command == "grade":
            from lstm_course.grade import grade
            grade(find_course_root(args.course_root), args.assignment, args.submissions, args.out,
                  timeout=args.timeout, jobs=args.jobs, keep_scratch=args.keep_scratch)
            return 0
        from lstm_course.check import check
        return check(args.notebook, timeout=args.timeout)
    except UsageError as error:
        print(f"lstm-course {args.command}: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"lstm-course {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
