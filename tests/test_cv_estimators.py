"""NoisyMLPClassifierCV and NoisyMLPRegressorCV: the search they run, the
rule that chooses, and the estimator contract."""

from __future__ import annotations

import doctest
import inspect

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression

from skrobust import (
    InvalidParameterError,
    NoisyMLPClassifier,
    NoisyMLPClassifierCV,
    NoisyMLPRegressor,
    NoisyMLPRegressorCV,
)
from skrobust._cv import DEFAULT_PARAM_GRID
from skrobust.model_selection._selection import simplest_within_noise

TINY = dict(hidden_layer_sizes=(4,), epochs=3, random_state=0)


def _results(params, scores):
    """A ``cv_results_`` with these candidates and per-split scores."""
    scores = np.asarray(scores, dtype=float)
    out = {"params": params, "mean_test_score": scores.mean(axis=1)}
    for s in range(scores.shape[1]):
        out[f"split{s}_test_score"] = scores[:, s]
    return out


@pytest.fixture(scope="module")
def Xy_clf():
    return make_classification(n_samples=60, n_features=4, random_state=0)


# -- the choosing rule ---------------------------------------------------------
def test_rule_keeps_the_fixed_values_when_a_change_wins_by_less_than_noise():
    fixed = {"alpha": 0.0}
    params = [{"alpha": 0.0}, {"alpha": 1.0}]
    # alpha=1 wins on average by 0.01 but loses on two of five splits.
    scores = [[0.80, 0.70, 0.90, 0.75, 0.85], [0.84, 0.66, 0.95, 0.73, 0.92]]
    res = _results(params, scores)
    assert int(np.argmax(res["mean_test_score"])) == 1
    assert simplest_within_noise(res, fixed, 0.25) == 0


def test_rule_takes_a_change_that_wins_on_every_split_by_more_than_noise():
    fixed = {"alpha": 0.0}
    params = [{"alpha": 0.0}, {"alpha": 1.0}]
    scores = [[0.80, 0.70, 0.90, 0.75, 0.85], [0.85, 0.76, 0.94, 0.81, 0.90]]
    assert simplest_within_noise(_results(params, scores), fixed, 0.25) == 1


def test_rule_prefers_fewer_changes_then_the_higher_mean():
    fixed = {"alpha": 0.0, "noise_std": 0.0}
    params = [
        {"alpha": 0.1, "noise_std": 0.1},  # two changes, best mean
        {"alpha": 0.1, "noise_std": 0.0},  # one change
        {"alpha": 1.0, "noise_std": 0.0},  # one change, higher mean
    ]
    base = np.array([0.80, 0.70, 0.90, 0.75, 0.85])
    wobble = np.array([0.02, -0.02, 0.02, -0.02, 0.0])
    scores = [base + 0.010 + wobble, base + 0.002, base + 0.006 - wobble / 2]
    assert simplest_within_noise(_results(params, scores), fixed, 0.25) == 2


def test_rule_ignores_failed_candidates():
    fixed = {"alpha": 0.0}
    params = [{"alpha": 0.0}, {"alpha": 1.0}]
    scores = [[np.nan] * 3, [0.8, 0.7, 0.9]]
    assert simplest_within_noise(_results(params, scores), fixed, 0.5) == 1
    with pytest.raises(ValueError, match="Every candidate's fit failed"):
        simplest_within_noise(_results(params, [[np.nan] * 3] * 2), fixed, 0.5)


# -- the search ----------------------------------------------------------------
def test_signature_is_the_plain_estimators_without_warm_start_plus_the_search():
    for cv_cls, base in (
        (NoisyMLPClassifierCV, NoisyMLPClassifier),
        (NoisyMLPRegressorCV, NoisyMLPRegressor),
    ):
        names = list(inspect.signature(cv_cls).parameters)
        base_names = [
            n for n in inspect.signature(base).parameters if n != "warm_start"
        ]
        assert names[: len(base_names)] == base_names
        assert names[len(base_names) :] == [
            "param_grid",
            "cv",
            "scoring",
            "selection",
            "n_jobs",
            "memory_budget",
            "error_score",
            "checkpoint",
            "preprocessing",
        ]
        est = cv_cls(noise_std=0.2, cv=3)
        assert clone(est).get_params()["noise_std"] == 0.2
        assert "noise_std" in cv_cls.__doc__ and "warm_start" not in cv_cls.__doc__


def test_fit_searches_the_default_grid_and_refits_the_choice(Xy_clf):
    X, y = Xy_clf
    clf = NoisyMLPClassifierCV(**TINY, cv=2).fit(X, y)
    n_candidates = np.prod([len(v) for v in DEFAULT_PARAM_GRID.values()])
    assert len(clf.cv_results_["params"]) == n_candidates
    assert clf.n_splits_ == 2
    assert clf.batch_info_["n_fallback"] == 0
    assert clf.best_params_ == clf.cv_results_["params"][clf.best_index_]
    assert clf.best_score_ == clf.cv_results_["mean_test_score"][clf.best_index_]
    best = clf.best_estimator_
    assert isinstance(best, NoisyMLPClassifier)
    for name, value in clf.best_params_.items():
        assert getattr(best, name) == value
    # Predictions are the refit estimator's, and so is what it holds.
    np.testing.assert_array_equal(clf.predict(X), best.predict(X))
    np.testing.assert_array_equal(clf.predict_proba(X), best.predict_proba(X))
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    assert clf.n_features_in_ == 4 and clf.loss_curve_ == best.loss_curve_
    with pytest.raises(ValueError, match="but NoisyMLPClassifierCV is expecting 4"):
        clf.predict(X[:, :3])
    assert clf.score(X, y) == best.score(X, y)


def test_a_parameter_set_away_from_its_default_is_fixed_not_searched(Xy_clf):
    X, y = Xy_clf
    grid = {"alpha": [0.0, 1.0], "noise_std": [0.0, 0.1]}
    clf = NoisyMLPClassifierCV(**TINY, alpha=0.5, cv=2).fit(X, y)
    # The default grid is alpha's alone: nothing is left to search.
    assert clf.cv_results_["params"] == [{}]
    assert clf.best_estimator_.alpha == 0.5
    clf = NoisyMLPClassifierCV(**TINY, alpha=0.5, cv=2, param_grid=grid).fit(X, y)
    assert [set(p) for p in clf.cv_results_["params"]] == [{"alpha", "noise_std"}] * 4


def test_selection_best_takes_the_highest_mean(Xy_clf):
    X, y = Xy_clf
    grid = {"alpha": [0.0, 0.1, 10.0]}
    clf = NoisyMLPClassifierCV(
        **dict(TINY, epochs=20), param_grid=grid, cv=2, selection="best"
    ).fit(X, y)
    assert clf.best_index_ == int(np.argmax(clf.cv_results_["mean_test_score"]))


def test_the_simplest_rule_is_what_fit_applies():
    X, y = make_regression(n_samples=60, n_features=3, noise=5.0, random_state=0)
    reg = NoisyMLPRegressorCV(**TINY, param_grid={"alpha": [0.0, 1e-3]}, cv=3).fit(X, y)
    expected = simplest_within_noise(reg.cv_results_, {"alpha": 0.0}, 0.5)
    assert reg.best_index_ == expected


def test_an_integer_random_state_gives_identical_predictions(Xy_clf):
    X, y = Xy_clf
    grid = {"noise_std": [0.0, 0.3]}
    a = NoisyMLPClassifierCV(**TINY, param_grid=grid, cv=2).fit(X, y)
    b = NoisyMLPClassifierCV(**TINY, param_grid=grid, cv=2).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(
        a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize(
    "grid, error, message",
    [
        ({"n_units": [1]}, ValueError, "'n_units', which is not a parameter"),
        ({"alpha": []}, ValueError, "holds no value"),
        ({"alpha": 0.1}, ValueError, "must be a list of values"),
        ({"alpha": [-1.0]}, InvalidParameterError, "invalid candidate"),
        ([], InvalidParameterError, "non-empty list"),
    ],
)
def test_bad_grids_get_a_clear_error_before_any_fit(Xy_clf, grid, error, message):
    X, y = Xy_clf
    with pytest.raises(error, match=message):
        NoisyMLPClassifierCV(**TINY, param_grid=grid, cv=2).fit(X, y)


def test_bad_search_parameters_get_a_clear_error(Xy_clf):
    X, y = Xy_clf
    with pytest.raises(InvalidParameterError, match="'selection' parameter"):
        NoisyMLPClassifierCV(**TINY, selection="lowest").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'scoring' parameter"):
        NoisyMLPClassifierCV(**TINY, scoring=["accuracy"]).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'noise_std' parameter"):
        NoisyMLPClassifierCV(**TINY, noise_std=-1.0).fit(X, y)


def test_unfitted_estimator_has_no_fitted_attributes():
    clf = NoisyMLPClassifierCV()
    assert not hasattr(clf, "classes_") and not hasattr(clf, "model_")


@pytest.mark.keras
def test_save_and_load_keep_the_search_and_the_predictions(Xy_clf, tmp_path):
    from skrobust import load, save

    X, y = Xy_clf
    clf = NoisyMLPClassifierCV(**TINY, param_grid={"alpha": [0.0, 0.1]}, cv=2)
    clf.fit(X, y)
    save(clf, tmp_path / "cv.skrobust")
    back = load(tmp_path / "cv.skrobust")
    assert type(back) is NoisyMLPClassifierCV
    # error_score is NaN, which equals nothing; compared apart.
    params = back.get_params()
    assert np.isnan(params.pop("error_score"))
    assert params == {k: v for k, v in clf.get_params().items() if k != "error_score"}
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.best_params_ == clf.best_params_
    assert back.best_index_ == clf.best_index_
    assert back.best_score_ == clf.best_score_
    for key in ("mean_test_score", "split1_test_score", "rank_test_score"):
        np.testing.assert_array_equal(back.cv_results_[key], clf.cv_results_[key])
    assert back.cv_results_["params"] == clf.cv_results_["params"]
    assert list(back.cv_results_["param_alpha"]) == [0.0, 0.1]


@pytest.mark.keras
def test_feature_names_are_the_cv_estimators_and_survive_a_save(Xy_clf, tmp_path):
    import pandas as pd

    from skrobust import load, save

    X, y = Xy_clf
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = NoisyMLPClassifierCV(**TINY, param_grid={"alpha": [0.0]}, cv=2)
    clf.fit(frame, y)
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"]
    save(clf, tmp_path / "cv.skrobust")
    back = load(tmp_path / "cv.skrobust")
    assert list(back.feature_names_in_) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(back.predict(frame), clf.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        back.predict(frame[["d", "c", "b", "a"]])


def test_a_checkpoint_folder_lets_a_second_fit_train_nothing_again(Xy_clf, tmp_path):
    X, y = Xy_clf
    kw = dict(TINY, param_grid={"alpha": [0.0, 0.1]}, cv=2, checkpoint=tmp_path)
    first = NoisyMLPClassifierCV(**kw).fit(X, y)
    again = NoisyMLPClassifierCV(**kw).fit(X, y)
    assert first.batch_info_["n_restored"] == 0
    assert again.batch_info_["n_restored"] == again.batch_info_["n_runs"] > 0
    np.testing.assert_array_equal(
        again.cv_results_["mean_test_score"], first.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(again.predict_proba(X), first.predict_proba(X))


def test_an_interrupted_fit_sets_no_attribute(Xy_clf, monkeypatch):
    from skrobust.model_selection import BatchedGridSearchCV

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(BatchedGridSearchCV, "fit", interrupted)
    clf = NoisyMLPClassifierCV(**TINY, cv=2)
    X, y = Xy_clf
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert not [k for k in vars(clf) if k.endswith("_")]


def test_docstring_examples_run():
    from skrobust import _cv

    result = doctest.testmod(_cv, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
