"""What ``lstm-course grade`` hands back: ``grades.csv``, ``report.png``, summaries.

Statuses, most serious first (a row shows the most serious; ``detail`` lists everything):

=================  ====================================================================
``duplicate_grade_ids``  one nbgrader grade id on several cells (cells copied with their
                   metadata): named here, whatever it did to the grader
``metadata_changed``  nbgrader metadata edited: a grade id the release does not have, changed
                   points or flags (the released metadata is what counts)
``error``          the grader itself failed on this submission (see detail; regrade)
``absent``         (gradebook) graded by an earlier run, not among the submissions of the
                   latest full run: the grade is kept, the detail says since when
``rejected``       not a student's folder (hidden, a symbolic link): skipped
``invalid_notebook``  a notebook is not valid JSON / nbformat: it scores 0
``missing_notebook``  a notebook of the assignment is missing: it scores 0
``ambiguous_notebook``  the notebook is missing and several others are there: they are listed,
                   none is graded in its place
``tests_deleted``  graded test cells were deleted: those parts score 0
``kernel_died``    the kernel crashed or exited: parts not finished by then score 0
``timeout``        a cell hit the time limit and was interrupted
``unsafe_entries`` zip entries under this folder were refused (paths outside, links)
``name_collision`` two folders give the same safe id (``José Núñez``, ``Jose_Nunez``): both
                   rows say which folder got which id
``extra_notebooks``  notebooks beside the graded one(s), listed, not graded
``restored``       read-only cells were edited (nbgrader put the originals back) or set-up
                   cells deleted (the grader put them back)
``output_truncated``  very long output was cut in the feedback
``renamed``        the folder or notebook name was changed to a safe one
``ok``             nothing went wrong
=================  ====================================================================
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

STATUS_ORDER = ["duplicate_grade_ids", "metadata_changed", "error", "absent", "rejected",
                "invalid_notebook", "missing_notebook", "ambiguous_notebook",
                "tests_deleted", "kernel_died", "timeout", "unsafe_entries", "name_collision",
                "extra_notebooks", "restored", "output_truncated", "renamed", "ok"]
BASE_COLUMNS = ["student", "assignment", "score", "max_score", "status", "detail", "folder"]


def status_of(issues: list) -> str:
    kinds = {kind for kind, _ in issues}
    return next((s for s in STATUS_ORDER if s in kinds), "ok")


def fmt(value: float) -> str:
    return f"{value:g}"


def part_columns(parts) -> list[str]:
    """One column per graded part: the grade_id (prefixed by the notebook if there are several)."""
    several = len({p.notebook for p in parts}) > 1
    return [p.key if several else p.grade_id for p in parts]


def write_figure(path: Path, rows: list[dict], parts, assignment: str) -> None:
    """Histogram of total scores and mean score per graded part (rejected rows left out)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graded = [r for r in rows if r["status"] != "rejected"]
    max_score = sum(p.points for p in parts)
    columns = part_columns(parts)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    scores = [float(r["score"]) for r in graded]
    if max_score <= 40 and all(float(s).is_integer() for s in scores + [max_score]):
        bins = [k - 0.5 for k in range(int(max_score) + 2)]     # one bar per whole point
    else:
        bins = [max_score * k / 20 for k in range(21)] if max_score > 0 else 1
    left.hist(scores, bins=bins, color="#3b6ea5", edgecolor="white", label=f"{len(scores)} students")
    left.set_xlabel(f"total score (points, out of {fmt(max_score)})")
    left.set_ylabel("students")
    left.set_title(f"{assignment}: distribution of scores")
    left.legend()
    means = [sum(float(r[c]) for r in graded) / len(graded) if graded else 0.0 for c in columns]
    positions = range(len(columns))
    right.bar(positions, [p.points for p in parts], color="#d9d9d9", label="points available")
    right.bar(positions, means, color="#e07b39", label="mean score")
    right.set_xticks(list(positions), columns, rotation=30, ha="right")
    right.set_ylabel("points")
    right.set_title(f"{assignment}: mean score per graded part")
    right.legend()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_summary_html(path: Path, row: dict, parts, feedback_files: list[str]) -> None:
    """A one-page summary for the student: score, status, what happened, points per part."""
    columns = part_columns(parts)
    items = "".join(f"<tr><td>{html.escape(c)}</td><td>{html.escape(row[c])} / {fmt(p.points)}</td></tr>"
                    for c, p in zip(columns, parts))
    links = "".join(f'<li><a href="{html.escape(Path(f).name)}">{html.escape(Path(f).name)}</a></li>'
                    for f in feedback_files) or "<li>no notebook feedback (see what happened above)</li>"
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(row['assignment'])}: "
            f"{html.escape(row['student'])}</title></head><body>"
            f"<h1>{html.escape(row['assignment'])}: {html.escape(row['score'])} / {html.escape(row['max_score'])}</h1>"
            f"<p>Status: <b>{html.escape(row['status'])}</b></p>"
            f"<p>{html.escape(row['detail']) or 'Nothing went wrong while grading.'}</p>"
            f"<table border='1' cellpadding='4'><tr><th>part</th><th>score</th></tr>{items}</table>"
            f"<h2>Feedback on your notebooks</h2><ul>{links}</ul></body></html>")
    path.write_text(page)


def summary_text(rows: list[dict], warnings: list[str], out: Path, seconds: float) -> str:
    graded = [r for r in rows if r["status"] != "rejected"]
    counts = Counter(r["status"] for r in rows)
    lines = [f"graded {len(graded)} submission(s) in {seconds:.1f} s"]
    if graded:
        mean = sum(float(r["score"]) for r in graded) / len(graded)
        lines.append(f"mean score {mean:.2f} / {graded[0]['max_score']}")
    lines.append("statuses: " + ", ".join(f"{s} {counts[s]}" for s in STATUS_ORDER if counts[s]))
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"  {r['student']}: {r['status']} ({r['score']}/{r['max_score']}): {r['detail']}")
    for w in warnings:
        lines.append(f"  warning: {w}")
    lines.append(f"grades: {out / 'grades.csv'}  feedback: {out / 'feedback'}  figure: {out / 'report.png'}")
    return "\n".join(lines)
