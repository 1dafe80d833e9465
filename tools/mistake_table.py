"""Print the mistake-corpus table: assignment, mistake, caught by check, points lost at grading.

    .venv/bin/python tools/mistake_table.py [ASSIGNMENT ...]

Every mistake in tests/mistakes/ is put into the solution, checked with ``lstm-course check``
and graded with nbgrader in a scratch course (see tests/mistake_corpus.py).  Exit status 1 when
a mistake that loses points is not flagged by the check.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import mistake_corpus  # noqa: E402


def main(argv: list[str]) -> int:
    chosen = argv or mistake_corpus.assignments()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mistake-table-") as tmp:
        for assignment in chosen:
            found, baseline = mistake_corpus.measure(assignment, Path(tmp) / assignment)
            rows.extend(found)
            failing = [line for line in baseline["check"][0].values() if not line.startswith("PASS")]
            print(f"{assignment}: the solution scores {sum(baseline['scores'].values()):g} "
                  f"({baseline['scores']}); check: {failing or 'all PASS'}", file=sys.stderr)
            print(f"{assignment}: {len(found)} mistakes measured", file=sys.stderr, flush=True)
    print(mistake_corpus.table(rows))
    missed = [r for r in rows if r.points_lost > 0 and not r.caught]
    print(f"\n{sum(r.caught for r in rows)}/{len(rows)} mistakes flagged by the check; "
          f"{len(missed)} lose points at grading without being flagged.")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
