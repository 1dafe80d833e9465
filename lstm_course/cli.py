"""The ``lstm-course`` command: ``release``, ``grade``, ``check``, ``export`` and ``merge``.

Exit status: 0 on success; 1 when ``check`` finds a failing test; 2 for a usage or
configuration error (unknown assignment, missing folder, no student found, an OUT of another
assignment).  ``grade`` never fails because a submission is bad: that is reported per student
in ``grades.csv``.
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
    gra.add_argument("--students", help="grade only these students (ids or folder names, comma-separated); "
                     "the others' records in OUT are kept")
    gra.add_argument("--shard", help="K/N: grade only the students whose id hashes to K (0 <= K < N), "
                     "for one of N machines; combine the outputs with `lstm-course merge`")
    gra.add_argument("--deadline", help="ISO 8601 time (e.g. 2026-03-01T23:59:00+01:00; no zone = UTC)")
    gra.add_argument("--late-policy", help="per_day=PERCENT,cap=PERCENT of the maximum score taken off per "
                     "started day late (e.g. per_day=10,cap=50)")
    gra.add_argument("--extensions", type=Path, help="CSV with 'student,deadline' or 'student,days' rows")

    exp = commands.add_parser("export", help="write OUT's gradebook in Canvas, Moodle or plain CSV format")
    exp.add_argument("out", type=Path, help="an output folder of `lstm-course grade`")
    exp.add_argument("--format", required=True, choices=["canvas", "moodle", "csv"])
    exp.add_argument("--roster", type=Path, help="CSV mapping each folder to LMS ids (folder, name, id, "
                     "sis_user_id, sis_login_id, section, email, username, idnumber)")
    exp.add_argument("--out", dest="target", type=Path, help="file to write (default OUT/export-FORMAT.csv)")
    exp.add_argument("--column", help="the grade column's header (default: the assignment id; for Canvas "
                     "use the assignment's name there)")
    exp.add_argument("--moodle-id", choices=["email", "username", "idnumber"],
                     help="Moodle identifier column (default: the first the roster has)")

    mer = commands.add_parser("merge", help="combine outputs of `grade --shard` into one")
    mer.add_argument("outs", type=Path, nargs="+", help="output folders of the shards")
    mer.add_argument("--out", dest="target", type=Path, required=True, help="a new folder for the merged output")

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
            from lstm_course import deadlines, gradebook
            from lstm_course.grade import grade
            options = gradebook.RunOptions(
                students=gradebook.parse_students(args.students), shard=gradebook.parse_shard(args.shard),
                deadline=deadlines.from_options(args.deadline, args.late_policy, args.extensions),
                command=list(argv if argv is not None else sys.argv[1:]))
            grade(find_course_root(args.course_root), args.assignment, args.submissions, args.out,
                  timeout=args.timeout, jobs=args.jobs, keep_scratch=args.keep_scratch, options=options)
            return 0
        if args.command == "export":
            from lstm_course.export import export
            export(args.out, args.format, args.roster, args.target, column=args.column, moodle_id=args.moodle_id)
            return 0
        if args.command == "merge":
            from lstm_course.gradebook import merge
            merge(args.outs, args.target)
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
