"""The visible check predicts the grade: every typical mistake that loses points is flagged.

For each assignment, the mistakes in ``tests/mistakes/<assignment>/`` are put into the
solution one answer cell at a time, checked with ``lstm-course check`` (visible tests) and
graded with nbgrader's autograde (hidden tests); see :mod:`mistake_corpus`.  The full table
(``slow``, only with ``LSTM_COURSE_FULL_MISTAKES=1``: about 8 CPU minutes) runs every mistake;
the default run keeps one notebook of 01's mistakes, one per part, and
``tools/mistake_table.py`` prints the table.
"""

from __future__ import annotations

import os

import pytest

import mistake_corpus

ASSIGNMENTS = mistake_corpus.assignments()
# the default run: one notebook of mistakes in a fast assignment, one per part
DEFAULT = {"01_rnn_limits": {"input_first", "float64_backward", "eigenvalue_without_abs",
                      "norms_in_state_dtype"}}


def test_the_corpus_has_five_mistakes_per_assignment():
    from nbgrader_course import assignment_ids

    assert set(ASSIGNMENTS) == set(assignment_ids())
    for assignment in ASSIGNMENTS:
        mistakes = mistake_corpus.load(assignment)
        assert len(mistakes) >= 5, f"{assignment}: {len(mistakes)} mistakes, expected at least 5"


def _assert_predicted(rows, baseline):
    assert all(line.startswith("PASS") for line in baseline["check"][0].values()), baseline["check"][1]
    assert rows
    for row in rows:
        name = f"{row.mistake.assignment}/{row.mistake.name}"
        # each mistake in the corpus is a mistake: grading takes points off for it
        assert row.points_lost > 0, f"{name}: grading gives full marks, so it is no mistake"
        assert row.caught, (f"{name} loses {row.points_lost:g} points at grading but the check "
                            f"passes it: {row.check_line}")


def test_visible_check_flags_the_default_mistakes(tmp_path):
    (assignment, only), = DEFAULT.items()
    rows, baseline = mistake_corpus.measure(assignment, tmp_path, only=only)
    assert {row.mistake.name for row in rows} == only
    _assert_predicted(rows, baseline)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("LSTM_COURSE_FULL_MISTAKES"),
                    reason="the full table takes about 8 CPU minutes: set LSTM_COURSE_FULL_MISTAKES=1 "
                           "or run tools/mistake_table.py")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_visible_check_flags_every_mistake(assignment, tmp_path):
    rows, baseline = mistake_corpus.measure(assignment, tmp_path)
    print(mistake_corpus.table(rows))
    _assert_predicted(rows, baseline)
