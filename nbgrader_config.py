"""nbgrader configuration for the course.

Layout (see README.md): the instructor's source notebooks, with solutions and hidden tests,
live in ``solutions/<assignment>/``; ``nbgrader generate_assignment`` writes the student
versions to ``exercises/<assignment>/``.  Everything nbgrader keeps while grading (the
gradebook, submissions, autograded copies, feedback) lives under ``.nbgrader/``, which git
ignores.

nbgrader calls ``alembic`` from PATH to set up the gradebook: run it from the course's
virtual environment (``make`` does), or put ``.venv/bin`` on PATH.
"""

import os

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
STATE_DIR = os.path.join(COURSE_ROOT, ".nbgrader")
os.makedirs(STATE_DIR, exist_ok=True)  # sqlite creates the file, not its folder

c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = os.path.join(STATE_DIR, "submitted")
c.CourseDirectory.autograded_directory = os.path.join(STATE_DIR, "autograded")
c.CourseDirectory.feedback_directory = os.path.join(STATE_DIR, "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(STATE_DIR, "gradebook.db")
# Data files beside a notebook are released with it; these never are.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".pytest_cache"]

# Student code runs with a per-cell time limit, so an infinite loop costs one cell, not the run.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# What a student sees where a solution was removed.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
