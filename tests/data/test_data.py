"""The offline data loaders return real data of the documented shapes, and reject bad input."""

import numpy as np
import pytest

from lstm_ref import data


def test_shakespeare_text_and_char_vocab_round_trip():
    text = data.shakespeare_text(["hamlet"])
    assert len(text) > 150_000 and "To be, or not to be" in text
    vocab = data.CharVocab(text)
    ids = vocab.encode(text[:500])
    assert ids.dtype == np.int64 and vocab.decode(ids) == text[:500]
    with pytest.raises(ValueError, match="expected play names"):
        data.shakespeare_text(["no_such_play"])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("\u4e2d")


def test_movie_reviews_are_balanced_enough_and_encode():
    texts, labels = data.movie_reviews()
    assert len(texts) == len(labels) > 10_000
    assert len(set(texts)) == len(texts)
    assert 0.4 < labels.mean() < 0.7 and set(np.unique(labels)) == {0, 1}
    vocab = data.WordVocab(texts[:3000], min_count=2)
    ids, lengths = vocab.encode(["A great, great film!", ""], max_len=4)
    assert ids.shape == (2, 4) and list(lengths) == [4, 1]
    assert ids[0, 1] == ids[0, 2] != 1  # "great" twice, a known word
    assert data.tokenize("It's not good!") == ["it's", "not", "good", "!"]


def test_series_loaders():
    years, spots = data.sunspots()
    assert years[0] == 1700 and years[-1] == 2008 and spots.shape == (309,)
    dates, co2 = data.co2_weekly()
    assert not np.isnan(co2).any() and 310 < co2.min() < co2.max() < 380
    assert dates.dtype == np.dtype("datetime64[D]") and np.all(np.diff(dates) > np.timedelta64(0))
    weather = data.seattle_weather()
    assert weather["temp_max"].shape == (1461,) and weather["date"][0] == np.datetime64("2012-01-01")


def test_sliding_windows_align_inputs_and_targets():
    series = np.arange(10.0)
    x, y = data.sliding_windows(series, input_len=3, horizon=2)
    assert x.shape == (6, 3, 1) and y.shape == (6, 2)
    np.testing.assert_array_equal(x[2, :, 0], [2, 3, 4])
    np.testing.assert_array_equal(y[2], [5, 6])
    with pytest.raises(ValueError, match="too short"):
        data.sliding_windows(series, input_len=9, horizon=2)


def test_anomaly_series_labels_match_anomalies():
    values, labels, anomalies = data.synthetic_anomaly_series(4000, np.random.default_rng(1))
    assert values.shape == labels.shape == (4000,)
    assert labels[: int(0.4 * 4000)].sum() == 0
    assert labels.sum() == sum(a["stop"] - a["start"] for a in anomalies)
    assert {a["kind"] for a in anomalies} == {"spike", "level_shift", "noise_burst", "flatline"}


def test_date_pairs_are_iso_targets_of_their_sources():
    from datetime import date

    sources, targets = data.date_pairs(200, np.random.default_rng(0))
    assert len(sources) == len(targets) == 200 and len(set(sources)) > 150
    for target in targets:
        assert date.fromisoformat(target).year in range(1950, 2050)
    assert len({s.split(" ")[0][:1].isdigit() for s in sources}) == 2  # numeric and worded styles


def test_split_covers_every_index_once():
    train, val, test = data.train_val_test_split(100, np.random.default_rng(0), 0.2, 0.1)
    assert (len(train), len(val), len(test)) == (70, 20, 10)
    assert sorted(np.concatenate([train, val, test])) == list(range(100))
