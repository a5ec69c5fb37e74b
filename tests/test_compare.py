"""compare_candidates: paired, Nadeau-Bengio corrected comparisons of a
search's candidates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RepeatedStratifiedKFold,
    ShuffleSplit,
)

from skrobust import NoisyMLPClassifier
from skrobust.model_selection import compare_candidates


def _results(scores, metric="score", params=None):
    scores = np.asarray(scores, dtype=float)
    out = {
        "params": params or [{"c": i} for i in range(scores.shape[0])],
        "mean_test_" + metric: scores.mean(axis=1),
    }
    for s in range(scores.shape[1]):
        out[f"split{s}_test_{metric}"] = scores[:, s]
    return out


SCORES = np.array(
    [
        [0.80, 0.86, 0.79, 0.85, 0.81, 0.83],
        [0.84, 0.83, 0.85, 0.84, 0.86, 0.85],
        [0.70, 0.72, 0.69, 0.71, 0.73, 0.70],
        [0.86, 0.84, 0.85, 0.86, 0.87, 0.84],
    ]
)


def test_statistics_match_a_hand_computation_with_scipy():
    ratio = 0.25
    table = compare_candidates(_results(SCORES), baseline=1, test_train_ratio=ratio)
    k = SCORES.shape[1]
    for c in (0, 2, 3):
        d = SCORES[c] - SCORES[1]
        se = np.sqrt(np.var(d, ddof=1) * (1 / k + ratio))
        t = d.mean() / se
        # scipy's paired t-test is the uncorrected one: its statistic times
        # sqrt((1/k) / (1/k + ratio)) is the corrected statistic.
        plain = stats.ttest_rel(SCORES[c], SCORES[1]).statistic
        assert t == pytest.approx(plain * np.sqrt((1 / k) / (1 / k + ratio)))
        row = table.loc[c]
        assert row["difference"] == pytest.approx(d.mean())
        assert row["std_corrected"] == pytest.approx(se)
        assert row["t"] == pytest.approx(t)
        assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(t), k - 1))
        lo, hi = stats.t.interval(0.95, k - 1, loc=d.mean(), scale=se)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
        assert row["mean_test"] == pytest.approx(SCORES[c].mean())
    assert table.loc[1, "verdict"] == "baseline"
    assert np.isnan(table.loc[1, "p_value"])
    assert table.loc[2, "verdict"] == "worse"
    assert table.loc[0, "verdict"] == "within noise"
    assert table.attrs == {
        "baseline": 1,
        "metric": "score",
        "n_splits": k,
        "test_train_ratio": ratio,
        "alpha": 0.05,
    }


def test_the_correction_widens_the_interval_with_the_test_train_ratio():
    narrow = compare_candidates(_results(SCORES), baseline=1, test_train_ratio=0.01)
    wide = compare_candidates(_results(SCORES), baseline=1, test_train_ratio=1.0)
    assert (wide.loc[0, "p_value"] > narrow.loc[0, "p_value"]) and (
        wide.loc[0, "ci_high"] - wide.loc[0, "ci_low"]
        > narrow.loc[0, "ci_high"] - narrow.loc[0, "ci_low"]
    )


def test_better_worse_and_alpha():
    table = compare_candidates(_results(SCORES), baseline=2, test_train_ratio=0.25)
    assert set(table.loc[[0, 1, 3], "verdict"]) == {"better"}
    p = table.loc[0, "p_value"]
    loose = compare_candidates(
        _results(SCORES), baseline=2, test_train_ratio=0.25, alpha=min(1, 2 * p)
    )
    strict = compare_candidates(
        _results(SCORES), baseline=2, test_train_ratio=0.25, alpha=p / 2
    )
    assert loose.loc[0, "verdict"] == "better"
    assert strict.loc[0, "verdict"] == "within noise"


def test_default_baseline_is_the_best_mean_and_rows_are_ranked():
    table = compare_candidates(_results(SCORES), test_train_ratio=0.25)
    assert table.attrs["baseline"] == 3
    assert list(table.index) == [3, 1, 0, 2]
    assert table.loc[3, "verdict"] == "baseline"
    assert (table.loc[[0, 1, 2], "difference"] < 0).all()


def test_baseline_by_negative_index_and_by_params():
    params = [{"noise_std": v} for v in (0.0, 0.1, 0.3, 1.0)]
    res = _results(SCORES, params=params)
    by_params = compare_candidates(
        res, baseline={"noise_std": 0.3}, test_train_ratio=0.2
    )
    by_index = compare_candidates(res, baseline=-2, test_train_ratio=0.2)
    assert by_params.attrs["baseline"] == by_index.attrs["baseline"] == 2
    assert by_params.loc[2, "params"] == {"noise_std": 0.3}


def test_identical_candidates_are_within_noise():
    scores = np.vstack([SCORES[0], SCORES[0]])
    table = compare_candidates(_results(scores), baseline=0, test_train_ratio=0.25)
    assert table.loc[1, "difference"] == 0
    assert table.loc[1, "p_value"] == 1
    assert table.loc[1, "verdict"] == "within noise"


def test_a_constant_nonzero_difference_is_significant():
    scores = np.vstack([SCORES[0], SCORES[0] + 0.01])
    table = compare_candidates(_results(scores), baseline=0, test_train_ratio=0.25)
    assert table.loc[1, "p_value"] < 1e-6
    assert table.loc[1, "verdict"] == "better"


def test_failed_fit_scores_are_reported_not_compared():
    scores = SCORES.copy()
    scores[0, 2] = np.nan
    table = compare_candidates(_results(scores), baseline=1, test_train_ratio=0.25)
    assert table.loc[0, "verdict"] == "no score"
    assert np.isnan(table.loc[0, "p_value"])
    assert table.loc[2, "verdict"] == "worse"


def test_multimetric_picks_the_named_metric():
    res = _results(SCORES, metric="accuracy")
    res.update(
        {k: v for k, v in _results(-SCORES, metric="neg_loss").items() if k != "params"}
    )
    acc = compare_candidates(res, metric="accuracy", test_train_ratio=0.25)
    loss = compare_candidates(res, metric="neg_loss", test_train_ratio=0.25)
    assert acc.attrs["baseline"] == 3 and loss.attrs["baseline"] == 2
    assert acc.loc[0, "difference"] == pytest.approx((SCORES[0] - SCORES[3]).mean())
    with pytest.raises(ValueError, match=r"metric='score'.*accuracy.*neg_loss"):
        compare_candidates(res, test_train_ratio=0.25)


def test_ratio_inferred_from_cv():
    X = np.zeros((100, 2))
    y = np.repeat([0, 1], 50)
    res = _results(SCORES[:, :5])
    assert compare_candidates(res, cv=KFold(5), X=X).attrs["test_train_ratio"] == 0.25
    # An int is (stratified) K-fold, as in GridSearchCV.
    assert compare_candidates(res, cv=4, X=X, y=y).attrs[
        "test_train_ratio"
    ] == pytest.approx(1 / 3)
    shuffle = ShuffleSplit(n_splits=3, test_size=0.2, random_state=0)
    assert compare_candidates(res, cv=shuffle, X=X).attrs[
        "test_train_ratio"
    ] == pytest.approx(0.25)
    # An iterable of splits needs no X.
    splits = [(np.arange(60), np.arange(60, 90))] * 2
    assert compare_candidates(res, cv=splits).attrs["test_train_ratio"] == 0.5


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({}, ValueError, "test_train_ratio"),
        ({"test_train_ratio": 0.2, "cv": 5}, ValueError, "not both"),
        ({"test_train_ratio": 0}, ValueError, "positive"),
        ({"test_train_ratio": "0.2"}, ValueError, "positive"),
        ({"cv": 5}, ValueError, "pass the X"),
        ({"test_train_ratio": 0.2, "alpha": 1.5}, ValueError, "alpha"),
        ({"test_train_ratio": 0.2, "baseline": "first"}, ValueError, "baseline"),
        ({"test_train_ratio": 0.2, "baseline": 9}, ValueError, "out of range"),
        ({"test_train_ratio": 0.2, "baseline": 1.5}, TypeError, "baseline"),
        ({"test_train_ratio": 0.2, "baseline": {"c": 7}}, ValueError, "none of"),
        ({"test_train_ratio": 0.2, "metric": "r2"}, ValueError, "metric='r2'"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        compare_candidates(_results(SCORES), **kwargs)


def test_bad_cv_results_raise_clear_errors():
    with pytest.raises(TypeError, match="cv_results_"):
        compare_candidates([1, 2], test_train_ratio=0.2)
    with pytest.raises(ValueError, match="no per-split test scores"):
        compare_candidates({"params": [{}]}, test_train_ratio=0.2)
    with pytest.raises(ValueError, match="at least 2"):
        compare_candidates(_results(SCORES[:, :1]), test_train_ratio=0.2)


def test_grid_search_end_to_end():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype("float32")
    y = (X[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(int)
    cv = RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=0)
    search = GridSearchCV(
        NoisyMLPClassifier((4,), epochs=3, random_state=0),
        {"noise_std": [0.0, 0.5]},
        cv=cv,
        scoring=["accuracy", "neg_log_loss"],
        refit="neg_log_loss",
    ).fit(X, y)
    table = compare_candidates(
        search.cv_results_, metric="neg_log_loss", cv=cv, X=X, y=y
    )
    assert table.attrs["baseline"] == search.best_index_
    assert table.attrs["n_splits"] == 6
    assert table.attrs["test_train_ratio"] == pytest.approx(0.5)
    other = 1 - search.best_index_
    res = search.cv_results_
    d = np.array(
        [
            res[f"split{s}_test_neg_log_loss"][other]
            - res[f"split{s}_test_neg_log_loss"][search.best_index_]
            for s in range(6)
        ]
    )
    assert table.loc[other, "difference"] == pytest.approx(d.mean())
