"""BatchedGridSearchCV and batched_cross_validate: the same results as
scikit-learn's GridSearchCV and cross_validate, with no leakage between folds,
and the same results whatever ``n_jobs``.

Tiny networks and one shared configuration keep the number of compiled
programs (the slow part) small.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    cross_validate,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skrobust import NoisyMLPClassifier, NoisyMLPRegressor
from skrobust.model_selection import (
    BatchedGridSearchCV,
    _batched,
    batched_cross_validate,
)

FAST = dict(
    hidden_layer_sizes=(8,), epochs=6, learning_rate=0.05, batch_size=16, random_state=0
)
CV = KFold(3, shuffle=True, random_state=0)


def _weights(est):
    est = est[-1] if hasattr(est, "steps") else est
    w = est._current_weights()["params"]
    return [np.asarray(a) for key in sorted(w) for a in w[key]]


def _assert_same_fit(a, b, atol=1e-4):
    for wa, wb in zip(_weights(a), _weights(b), strict=True):
        assert_allclose(wa, wb, atol=atol, rtol=1e-4)


def test_scores_match_grid_search_cv(circles):
    X, y = circles
    est = NoisyMLPClassifier(**FAST)
    grid = {"noise_std": [0.0, 0.3, 1.0]}
    ours = BatchedGridSearchCV(est, grid, cv=CV, return_train_score=True).fit(X, y)
    ref = GridSearchCV(est, grid, cv=CV, return_train_score=True).fit(X, y)
    assert set(ours.cv_results_) == set(ref.cv_results_)
    # Each member equals its plain fit up to float rounding, so every fold's
    # accuracy is the same number of correct rows (a std across folds
    # carries the rounding of its own arithmetic).
    for key in ref.cv_results_:
        if "test_score" in key or "train_score" in key:
            assert_allclose(
                ours.cv_results_[key], ref.cv_results_[key], atol=1e-12, err_msg=key
            )
    assert ours.cv_results_["params"] == ref.cv_results_["params"]
    assert ours.n_splits_ == 3
    assert ours.batch_info_["n_batched"] == 9


def test_each_member_equals_its_plain_fit(circles):
    X, y = circles
    est = NoisyMLPClassifier(noise_std=0.3, dropout=0.2, **FAST)
    out = batched_cross_validate(
        est, X, y, cv=CV, return_estimator=True, return_indices=True
    )
    for member, train in zip(out["estimator"], out["indices"]["train"], strict=True):
        plain = clone(est).fit(X[train], y[train])
        _assert_same_fit(member, plain)
        assert member.n_iter_ == plain.n_iter_ == FAST["epochs"]
        assert_allclose(member.loss_curve_, plain.loss_curve_, rtol=1e-4)
        assert_allclose(member.predict_proba(X), plain.predict_proba(X), atol=1e-5)


def test_zero_rate_member_in_a_noisy_run_equals_its_plain_fit(circles):
    # noise_std=0 trains inside the noisy run with the draw multiplied by 0;
    # its fitted estimator has the noise-free network of a plain fit.
    X, y = circles
    est = NoisyMLPClassifier(**FAST)
    search = BatchedGridSearchCV(est, {"noise_std": [0.0, 0.3]}, cv=CV).fit(X, y)
    assert search.batch_info_["n_runs"] == 1
    out = batched_cross_validate(
        est, X, y, cv=CV, return_estimator=True, return_indices=True
    )
    for member, train in zip(out["estimator"], out["indices"]["train"], strict=True):
        assert member._spec.noise_sites == ()
        _assert_same_fit(member, clone(est).fit(X[train], y[train]))


def test_a_test_row_never_influences_its_member(circles):
    X, y = circles
    est = NoisyMLPClassifier(noise_std=0.3, **FAST)
    splits = list(CV.split(X, y))
    row = splits[0][1][0]  # a test row of fold 0, a training row of the others
    X2, y2 = X.copy(), y.copy()
    X2[row] *= 1e4
    y2[row] = 1 - y2[row]
    a = batched_cross_validate(est, X, y, cv=splits, return_estimator=True)
    b = batched_cross_validate(est, X2, y2, cv=splits, return_estimator=True)
    train0 = splits[0][0]
    _assert_same_fit(a["estimator"][0], b["estimator"][0], atol=0)
    assert_allclose(
        a["estimator"][0].predict_proba(X[train0]),
        b["estimator"][0].predict_proba(X[train0]),
        atol=0,
    )
    # Where the row trains, it does change the member.
    assert not np.allclose(
        _weights(a["estimator"][1])[0], _weights(b["estimator"][1])[0]
    )


def test_pipeline_prefix_is_fit_per_fold(circles):
    X, y = circles
    X = X * [100.0, 0.01] + [5.0, -3.0]
    pipe = make_pipeline(StandardScaler(), NoisyMLPClassifier(**FAST))
    grid = {
        "noisymlpclassifier__noise_std": [0.0, 0.3],
        "standardscaler__with_mean": [True, False],
    }
    ours = BatchedGridSearchCV(pipe, grid, cv=CV).fit(X, y)
    ref = GridSearchCV(pipe, grid, cv=CV).fit(X, y)
    assert_allclose(
        ours.cv_results_["mean_test_score"],
        ref.cv_results_["mean_test_score"],
        atol=0.04,
    )
    assert ours.batch_info_["n_batched"] == 12
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-4)


def test_unbatchable_settings_fall_back_to_plain_fits(circles):
    X, y = circles
    est = NoisyMLPClassifier(early_stopping=True, **FAST)
    grid = {"noise_std": [0.3, 1.0]}
    ours = BatchedGridSearchCV(est, grid, cv=CV).fit(X, y)
    ref = GridSearchCV(est, grid, cv=CV).fit(X, y)
    assert ours.batch_info_["n_fallback"] == 6
    assert_allclose(
        ours.cv_results_["mean_test_score"],
        ref.cv_results_["mean_test_score"],
        atol=1e-12,
    )


def test_any_estimator_works_through_the_fallback(circles):
    X, y = circles
    grid = {"C": [0.1, 1.0]}
    ours = BatchedGridSearchCV(LogisticRegression(), grid, cv=3).fit(X, y)
    ref = GridSearchCV(LogisticRegression(), grid, cv=3).fit(X, y)
    assert_allclose(
        ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"]
    )
    assert ours.best_params_ == ref.best_params_


def test_invalid_candidate_gets_error_score(circles):
    X, y = circles
    est = NoisyMLPClassifier(**FAST)
    with pytest.warns(Warning, match="fits failed"):
        search = BatchedGridSearchCV(est, {"noise_std": [-1.0, 0.3]}, cv=CV).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[0]) and np.isfinite(scores[1])
    assert search.best_index_ == 1


def test_batched_cross_validate_returns_cross_validates_layout(circles):
    X, y = circles
    est = NoisyMLPClassifier(noise_std=0.3, **FAST)
    kw = dict(
        cv=CV,
        scoring=["accuracy", "neg_log_loss"],
        return_train_score=True,
        return_indices=True,
        return_estimator=True,
    )
    ours = batched_cross_validate(est, X, y, **kw)
    ref = cross_validate(est, X, y, **kw)
    assert set(ours) == set(ref)
    for part in ("train", "test"):
        for a, b in zip(ours["indices"][part], ref["indices"][part], strict=True):
            assert_array_equal(a, b)
    # Each fold's member is its plain fit up to float rounding (as in
    # test_each_member_equals_its_plain_fit), so the scores agree as closely.
    for a, b in zip(ours["estimator"], ref["estimator"], strict=True):
        _assert_same_fit(a, b)
        assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-5)
    for key in ref:
        if key.startswith(("test_", "train_")):
            assert ours[key].shape == ref[key].shape
            assert_allclose(ours[key], ref[key], rtol=1e-4, atol=1e-5, err_msg=key)
    assert [len(t) for t in ours["indices"]["test"]] == [20, 20, 20]


def test_seeds_repeat_each_fold_and_match_plain_fits(circles):
    X, y = circles
    est = NoisyMLPClassifier(noise_std=0.3, **FAST)
    # One split, three seeds: each member has its own random stream.
    split = ShuffleSplit(n_splits=1, test_size=20, random_state=0)
    out = batched_cross_validate(
        est,
        X,
        y,
        cv=split,
        random_states=[0, 1, 2],
        return_estimator=True,
        return_indices=True,
    )
    assert out["test_score"].shape == (3,)
    train = out["indices"]["train"][0]
    for rs, member in zip([0, 1, 2], out["estimator"], strict=True):
        _assert_same_fit(
            member, clone(est).set_params(random_state=rs).fit(X[train], y[train])
        )


def test_chunked_runs_give_the_same_results(circles):
    X, y = circles
    est = NoisyMLPClassifier(**FAST)
    grid = {"noise_std": [0.0, 0.3, 1.0]}
    whole = BatchedGridSearchCV(est, grid, cv=CV).fit(X, y)
    chunked = BatchedGridSearchCV(est, grid, cv=CV, max_members=4).fit(X, y)
    assert_allclose(
        whole.cv_results_["mean_test_score"],
        chunked.cv_results_["mean_test_score"],
        atol=1e-12,
    )


def test_regressor_search_matches_grid_search_cv(regression_data):
    X, y = regression_data
    est = NoisyMLPRegressor(**FAST)
    grid = {"noise_std": [0.1, 0.3], "learning_rate": [0.01, 0.05]}
    ours = BatchedGridSearchCV(est, grid, cv=3, scoring="neg_mean_squared_error")
    ref = GridSearchCV(est, grid, cv=3, scoring="neg_mean_squared_error")
    ours.fit(X, y)
    ref.fit(X, y)
    assert_allclose(
        ours.cv_results_["mean_test_score"],
        ref.cv_results_["mean_test_score"],
        rtol=1e-3,
    )
    assert ours.best_params_ == ref.best_params_
    assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-4, atol=1e-5)
    assert ours.score(X, y) == pytest.approx(ref.score(X, y), rel=1e-4)


def test_multimetric_refit_by_name(circles):
    X, y = circles
    est = NoisyMLPClassifier(**FAST)
    search = BatchedGridSearchCV(
        est,
        {"noise_std": [0.0, 0.3]},
        cv=CV,
        scoring={"acc": "accuracy", "ll": "neg_log_loss"},
        refit="ll",
    ).fit(X, y)
    ranks = search.cv_results_["rank_test_ll"]
    assert search.best_index_ == int(np.argmin(ranks))
    assert search.best_score_ == search.cv_results_["mean_test_ll"][search.best_index_]
    assert search.predict(X).shape == y.shape
    with pytest.raises(ValueError, match="refit"):
        BatchedGridSearchCV(
            est, {"noise_std": [0.0]}, scoring=["accuracy", "f1"], refit=True
        ).fit(X, y)


def test_stratified_splits_by_default_for_classifiers(circles):
    X, y = circles
    est = NoisyMLPClassifier(**FAST)
    a = BatchedGridSearchCV(est, {"noise_std": [0.3]}, cv=3).fit(X, y)
    b = BatchedGridSearchCV(est, {"noise_std": [0.3]}, cv=StratifiedKFold(3)).fit(X, y)
    assert_allclose(
        a.cv_results_["split0_test_score"], b.cv_results_["split0_test_score"]
    )


def test_padded_runs_give_each_member_its_own_fit(circles, monkeypatch):
    # Three networks with distinct seeds in runs of two: the second run is
    # padded with a throw-away copy, which no member gets.
    runs, original = [], _batched.plan_runs

    def plan_runs(*args):
        runs.extend(original(*args))
        return runs

    monkeypatch.setattr(_batched, "plan_runs", plan_runs)
    X, y = circles
    est = NoisyMLPClassifier(noise_std=0.3, **FAST)
    out = batched_cross_validate(
        est,
        X,
        y,
        cv=ShuffleSplit(n_splits=1, test_size=20, random_state=0),
        random_states=[0, 1, 2],
        max_members=2,
        return_estimator=True,
        return_indices=True,
    )
    assert [len(run.seeds) for run in runs] == [2, 2]
    assert [len(run.owners) for run in runs] == [2, 1]
    train = out["indices"]["train"][0]
    for rs, member in zip([0, 1, 2], out["estimator"], strict=True):
        _assert_same_fit(
            member, clone(est).set_params(random_state=rs).fit(X[train], y[train])
        )


def test_results_do_not_depend_on_n_jobs(circles):
    # One run of two networks and two plain fits (the LogisticRegression
    # candidate) share one pool of workers. A member's weights depend in
    # their last bit on how many networks share its run (a run of one
    # differs from a run of two), and the log loss shows it: runs cut by
    # n_jobs would fail here.
    X, y = circles
    mlp = NoisyMLPClassifier(
        (4,), epochs=3, learning_rate=0.05, batch_size=16, random_state=0
    )
    grid = [{"clf__noise_std": [0.3]}, {"clf": [LogisticRegression()]}]
    kw = dict(cv=KFold(2, shuffle=True, random_state=0), scoring="neg_log_loss")
    pipe = Pipeline([("clf", mlp)])
    one = BatchedGridSearchCV(pipe, grid, n_jobs=1, **kw).fit(X, y)
    two = BatchedGridSearchCV(pipe, grid, n_jobs=2, **kw).fit(X, y)
    assert one.batch_info_ == two.batch_info_
    assert one.batch_info_["n_runs"] == 1 and one.batch_info_["n_fallback"] == 2
    for key, value in one.cv_results_.items():
        if "time" not in key:
            assert_array_equal(two.cv_results_[key], value, err_msg=key)
    assert two.best_index_ == one.best_index_
    assert_array_equal(two.predict_proba(X), one.predict_proba(X))
