"""Reference answers for the fixture assignment ``tiny`` (used by its graded tests)."""

import numpy as np


def sigmoid(x):
    """The logistic function, element-wise, in float64."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))
