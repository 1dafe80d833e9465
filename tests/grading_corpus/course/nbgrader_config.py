"""nbgrader configuration of the fixture course used by tests/test_course_*.py.

The same settings as the course's own nbgrader_config.py, for a course whose root is this folder.
"""

import os

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
STATE_DIR = os.path.join(COURSE_ROOT, ".nbgrader")

c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = os.path.join(STATE_DIR, "submitted")
c.CourseDirectory.autograded_directory = os.path.join(STATE_DIR, "autograded")
c.CourseDirectory.feedback_directory = os.path.join(STATE_DIR, "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(STATE_DIR, "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".pytest_cache"]

c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
