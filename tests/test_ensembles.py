"""Seed ensembles in one estimator (``n_members``, ``bootstrap``): a single
member is today's fit, members differ, predictions average them, the engine trains
them as one vectorized run equal to their sequential fits, and saving,
pickling and the batched search keep them whole. Tiny networks, few epochs."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

import skrobust
from skrobust import NoisyMLPClassifier, NoisyMLPRegressor, engine
from skrobust._plan import plan_fit
from skrobust.model_selection import BatchedGridSearchCV, batched_cross_validate

FAST = dict(
    hidden_layer_sizes=(8,), epochs=4, learning_rate=0.05, batch_size=16, random_state=0
)


def _params(weights):
    p = weights["params"]
    return [np.asarray(a) for key in sorted(p) for a in p[key]]


# P(y=1) of the first circles rows under NoisyMLPClassifier(**FAST), noise
# free, as the last commit before ensembles (5acf567, engine on JAX) computed
# it: the seeds it drew from default_rng(random_state) (initial weights,
# then the training order), its initial weights and its training. Noise-free
# because the noise draws changed later by design (e472a07: another normal
# sampler; the fit has been bit-identical since); any other change to the
# single network's fit shows here.
BEFORE_ENSEMBLES = [
    0.5516781807,
    0.5336893797,
    0.4909246266,
    0.4267142415,
    0.4635325670,
    0.4388155937,
    0.4991849959,
    0.5377334356,
]


def test_one_member_is_the_single_network_fit_of_before(circles):
    X, y = circles
    est = NoisyMLPClassifier(**FAST).fit(X, y)
    assert est.get_params()["n_members"] == 1 and not est.bootstrap
    assert_allclose(est.predict_proba(X[:8])[:, 1], BEFORE_ENSEMBLES, atol=1e-5)
    # A single network's fitted state: no member lists.
    assert isinstance(est._weights, dict)
    assert not hasattr(est, "members_n_iter_")
    assert not hasattr(est, "members_history_")
    assert est.predict_members(X).shape == (1, len(X), 2)
    assert_array_equal(est.predict_members(X)[0], est.predict_proba(X))


@pytest.mark.keras
def test_classifier_members_differ_and_predictions_average_them(circles):
    X, y = circles
    est = NoisyMLPClassifier(n_members=3, noise_std=0.3, **FAST).fit(X, y)
    members = est.predict_members(X)
    assert members.shape == (3, len(X), 2)
    assert np.abs(members[0] - members[1]).max() > 1e-3
    assert np.abs(members[1] - members[2]).max() > 1e-3
    assert_allclose(est.predict_proba(X), members.mean(axis=0), rtol=1e-12)
    assert_array_equal(est.predict(X), est.classes_[members.mean(0).argmax(1)])
    # Member 0 of an ensemble without bootstrap is the single network.
    single = NoisyMLPClassifier(noise_std=0.3, **FAST).fit(X, y)
    assert_allclose(members[0], single.predict_proba(X), atol=1e-5)
    # The Keras model averages the members as predict_proba does.
    out = np.asarray(est.model_(X.astype("float32")))
    assert_allclose(out[:, 0], est.predict_proba(X)[:, 1], atol=1e-6)
    assert est.members_n_iter_ == [FAST["epochs"]] * 3 and est.n_iter_ == 4
    assert len(est.members_history_) == 3
    assert_allclose(
        est.loss_curve_, np.mean([h["loss"] for h in est.members_history_], axis=0)
    )


def test_regressor_members_average_multi_output(circles):
    X, _ = circles
    Y = np.column_stack([X[:, 0] ** 2, X[:, 1]])
    est = NoisyMLPRegressor(n_members=2, **FAST).fit(X, Y)
    members = est.predict_members(X)
    assert members.shape == (2, len(X), 2)
    assert np.abs(members[0] - members[1]).max() > 1e-3
    assert_allclose(est.predict(X), members.mean(axis=0), rtol=1e-12)
    one = NoisyMLPRegressor(n_members=2, **FAST).fit(X, Y[:, 0])
    assert one.predict_members(X).shape == (2, len(X))
    assert_allclose(one.predict(X), one.predict_members(X).mean(0), rtol=1e-12)


def test_int_random_state_gives_identical_ensembles(circles):
    X, y = circles
    est = NoisyMLPClassifier(n_members=3, bootstrap=True, noise_std=0.3, **FAST)
    a = clone(est).fit(X, y).predict_members(X)
    b = clone(est).fit(X, y).predict_members(X)
    assert_array_equal(a, b)
    c = clone(est).set_params(random_state=1).fit(X, y).predict_members(X)
    assert np.abs(a - c).max() > 1e-3


def test_bootstrap_draws_each_members_rows(circles):
    X, y = circles
    sw = np.linspace(0.5, 1.5, len(X))
    est = NoisyMLPClassifier(n_members=3, bootstrap=True, **FAST)
    plan = plan_fit(clone(est), X, y, sample_weight=sw)
    n = len(X)
    counts = []
    for m in plan.members:
        w = m.data(plan.data)["w"]
        c = w[:n] / sw.astype(np.float32)
        assert_allclose(c, np.round(c), atol=1e-5)  # whole draws
        assert round(c.sum()) == n and (c == 0).any()
        assert not w[n:].any()  # padding rows stay masked out
        counts.append(np.round(c))
    assert not np.array_equal(counts[0], counts[1])
    plain = plan_fit(clone(est).set_params(bootstrap=False), X, y, sample_weight=sw)
    assert all(m.w is None for m in plain.members)
    # The fitted members differ from those trained on every row.
    a = clone(est).fit(X, y).predict_members(X)
    b = clone(est).set_params(bootstrap=False).fit(X, y).predict_members(X)
    assert np.abs(a - b).max() > 1e-3


def test_vectorized_members_equal_their_sequential_fits(circles):
    X, y = circles
    est = NoisyMLPClassifier(
        n_members=3, bootstrap=True, noise_std=0.3, dropout=0.2, **FAST
    ).fit(X, y)
    plan = plan_fit(clone(est), X, y)
    for m, w in zip(plan.members, est._current_weights(), strict=True):
        seq = engine.train(
            plan.spec,
            plan.cfg,
            m.weights,
            m.data(plan.data),
            plan.hyper,
            m.seed,
            FAST["epochs"],
        )
        for a, b in zip(_params(seq.weights), _params(w), strict=True):
            assert_allclose(a, b, atol=1e-5, rtol=1e-4)


def test_early_stopping_members_keep_their_best_epochs_and_round_trip(circles):
    X, y = circles
    est = NoisyMLPClassifier(n_members=2, early_stopping=True, patience=2, **FAST)
    est.set_params(epochs=6).fit(X, y)
    assert len(est.members_best_epoch_) == 2
    assert not hasattr(est, "best_epoch_")
    for best, hist in zip(est.members_best_epoch_, est.members_history_, strict=True):
        # The epoch of the lowest validation loss; of equal lows the first
        # (a later epoch must beat the best so far), as np.argmin picks.
        assert best == int(np.argmin(hist["val_loss"]))
    # Not merely each member's last epoch: a member stopped after it.
    assert any(
        best < len(hist["val_loss"]) - 1
        for best, hist in zip(
            est.members_best_epoch_, est.members_history_, strict=True
        )
    )
    buf = io.BytesIO()
    skrobust.save(est, buf)
    buf.seek(0)
    back = skrobust.load(buf)
    assert_array_equal(back.predict_members(X), est.predict_members(X))
    assert back.members_best_epoch_ == est.members_best_epoch_
    assert back.members_history_ == est.members_history_
    assert back.history_ == est.history_


@pytest.mark.keras
def test_save_load_and_pickle_round_trip(circles, tmp_path):
    X, _ = circles
    est = NoisyMLPRegressor(n_members=3, noise_std=0.1, **FAST).fit(X, X[:, 0])
    assert est.model_ is not None  # saved and pickled from the Keras model
    path = tmp_path / "ensemble.skrobust"
    skrobust.save(est, path)
    back = skrobust.load(path)
    assert_array_equal(back.predict_members(X), est.predict_members(X))
    assert back.members_n_iter_ == est.members_n_iter_
    pickled = pickle.loads(pickle.dumps(est))
    assert_array_equal(pickled.predict(X), est.predict(X))


def test_file_written_before_ensembles_loads(circles, tmp_path):
    # A file of before: no n_members or bootstrap among the parameters.
    X, _ = circles
    est = NoisyMLPRegressor(**FAST).fit(X, X[:, 0])
    new, old = tmp_path / "new.skrobust", tmp_path / "old.skrobust"
    skrobust.save(est, new)
    with zipfile.ZipFile(new) as src, zipfile.ZipFile(old, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "skrobust.json":
                meta = json.loads(data)
                assert meta["params"].pop("n_members") == 1
                assert meta["params"].pop("bootstrap") is False
                assert not any(a.startswith("members_") for a in meta["attributes"])
                data = json.dumps(meta).encode()
            dst.writestr(info, data)
    back = skrobust.load(old)
    assert back.n_members == 1 and not back.bootstrap
    assert_array_equal(back.predict(X), est.predict(X))


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"n_members": 0}, "n_members"),
        ({"n_members": 2.5}, "n_members"),
        ({"n_members": "3"}, "n_members"),
        ({"bootstrap": "yes"}, "bootstrap"),
        ({"bootstrap": 1.0}, "bootstrap"),
    ],
)
def test_bad_values_are_refused_by_name(circles, params, name):
    X, y = circles
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        NoisyMLPClassifier(**FAST, **params).fit(X, y)


def test_batched_search_over_members_equals_plain_fits(circles):
    X, y = circles
    est = NoisyMLPClassifier(noise_std=0.3, **FAST)
    grid = {"n_members": [1, 2], "noise_std": [0.1, 0.3]}
    cv = KFold(2, shuffle=True, random_state=0)
    ours = BatchedGridSearchCV(est, grid, cv=cv, refit=False).fit(X, y)
    assert ours.batch_info_["n_batched"] == 8 and ours.batch_info_["n_fallback"] == 0
    ref = GridSearchCV(est, grid, cv=cv, refit=False).fit(X, y)
    for key in ref.cv_results_:
        if "test_score" in key:
            assert_allclose(ours.cv_results_[key], ref.cv_results_[key], err_msg=key)
    out = batched_cross_validate(
        clone(est).set_params(n_members=2, bootstrap=True),
        X,
        y,
        cv=cv,
        return_estimator=True,
        return_indices=True,
    )
    for member, train in zip(out["estimator"], out["indices"]["train"], strict=True):
        plain = clone(member).fit(X[train], y[train])
        assert_allclose(member.predict_members(X), plain.predict_members(X), atol=1e-5)
        assert member.members_n_iter_ == plain.members_n_iter_


def test_diverging_members_warn_by_name_and_keep_finite_weights(circles):
    X, _ = circles
    est = NoisyMLPRegressor(n_members=2, **{**FAST, "learning_rate": 1e30})
    with pytest.warns(ConvergenceWarning, match=r"ensemble members \[0, 1\]"):
        est.fit(X, X[:, 0] * 100)
    assert est.members_n_iter_ == [0, 0] and est.n_iter_ == 0
    assert est.loss_curve_ == [] and est.members_history_[1]["loss"] == []
    assert np.all(np.isfinite(est.predict_members(X)))
