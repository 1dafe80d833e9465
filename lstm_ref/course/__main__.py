"""``python -m lstm_ref.course`` is the same as the ``lstm-course`` command."""

from lstm_ref.course.cli import main

raise SystemExit(main())
