"""Instructor and learner tools behind the ``lstm-course`` command.

One module per job:

* :mod:`.config` -- find the course, read its nbgrader settings, build a scratch course's settings;
* :mod:`.release` -- ``lstm-course release``: regenerate ``exercises/`` from ``solutions/``;
* :mod:`.submissions` -- collect a folder or zip of submissions safely (names, zip entries);
* :mod:`.integrity` -- what the grader adds to each submission to catch tampering and huge outputs;
* :mod:`.scratch` -- a throw-away nbgrader course per grading run and per student;
* :mod:`.grade_one` -- grade one student inside their own scratch course (runs in a child process);
* :mod:`.parallel` -- run those children, several at a time, each with a deadline;
* :mod:`.grade` -- ``lstm-course grade``: everything above, merged into ``grades.csv``;
* :mod:`.report` -- the CSV, the figure, per-student summaries and the printed summary;
* :mod:`.check` -- ``lstm-course check``: a learner runs a notebook's visible tests;
* :mod:`.cli` -- the command line.
"""
