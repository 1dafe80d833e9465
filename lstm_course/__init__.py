"""Instructor and learner tools behind the ``lstm-course`` command.

One module per job:

* :mod:`.config` -- find the course, read its nbgrader settings, build a scratch course's settings;
* :mod:`.release` -- ``lstm-course release``: regenerate ``exercises/`` from ``solutions/``;
* :mod:`.submissions` -- collect a folder or zip of submissions safely (names, zip entries);
* :mod:`.scratch` -- a throw-away nbgrader course per grading run (the release, the tests);
* :mod:`.sandbox` -- one bubblewrap sandbox per submission, and the channel to it;
* :mod:`.runner` -- what runs inside the sandbox: the student's cells, then calls from the grader;
* :mod:`.grade_one` -- grade one student: code in the sandbox, tests in the trusted grader;
* :mod:`.parallel` -- pre-warmed workers, several at a time, each job with a deadline;
* :mod:`.grade` -- ``lstm-course grade``: everything above, merged into ``grades.csv``;
* :mod:`.report` -- the CSV, the figure, per-student summaries and the printed summary;
* :mod:`.check` -- ``lstm-course check``: a learner runs a notebook's visible tests;
* :mod:`.cli` -- the command line.
"""
