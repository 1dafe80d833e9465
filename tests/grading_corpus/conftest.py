# The fixture course and the corpus builder are data for tests/test_course_*.py, not tests:
# keep pytest (and nbval) from collecting the fixture's solution notebook on its own.
collect_ignore_glob = ["*"]
