"""Real data that loads with no network, for chapter 5's applications.

Every loader reads files that are already on disk: shipped inside a PyPI package that
``make install`` puts in the environment (read as files, never imported), or committed under
``lstm_ref/data/files/``.  ``lstm_ref/data/README.md`` gives each source and its licence.
"""

from .text import CharVocab, shakespeare_plays, shakespeare_text
from .reviews import WordVocab, movie_reviews, tokenize
from .series import co2_weekly, seattle_weather, sunspots, sliding_windows
from .anomaly import synthetic_anomaly_series
from .dates import date_pairs
from .splits import train_val_test_split
from .speech import log_mel_features, spoken_digits

__all__ = [
    "CharVocab", "shakespeare_plays", "shakespeare_text",
    "WordVocab", "movie_reviews", "tokenize",
    "co2_weekly", "seattle_weather", "sunspots", "sliding_windows",
    "synthetic_anomaly_series", "date_pairs", "train_val_test_split",
    "log_mel_features", "spoken_digits",
]
