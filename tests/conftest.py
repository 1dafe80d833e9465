import sys
from pathlib import Path

# the tests' own helper modules (e.g. nbgrader_course) import by name
sys.path.insert(0, str(Path(__file__).resolve().parent))
