"""Where a user expects skrobust's estimators to behave like scikit-learn's
MLP (issue 19): ``batch_size="auto"``, the convergence stop (``tol``,
``patience`` as ``n_iter_no_change``), ``partial_fit``, ``warm_start`` and
scikit-learn's fitted attributes, compared with ``MLPClassifier`` /
``MLPRegressor`` where that is cheap.

Compiling a training loop is the slow part of these tests, so they share a
few structures: a 60-row binary table trained in one full batch (one epoch
without the stop, as ``partial_fit`` runs; or up to 8 epochs with the stop
and ``patience=5``), a 250-row regression table (two batches of
``"auto"``), one early-stopped fit and one batched search. ``patience=5``
means a fit of at most 6 epochs cannot stop, whatever its losses.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skrobust import NoisyMLPClassifier, NoisyMLPRegressor, load, save
from skrobust.model_selection import BatchedGridSearchCV

# Tiny fits that run out of epochs warn; the tests of the warning catch it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, Y = make_classification(n_samples=60, n_features=4, random_state=0)
CLASSES = [0, 1]
XR, YR = make_regression(n_samples=250, n_features=3, noise=1.0, random_state=0)

# One epoch without the convergence stop: what a partial_fit call compiles.
ONE_EPOCH = dict(epochs=1, tol=None)
# Up to 8 epochs with the stop on; with patience=5 no fit stops before epoch 7.
STOPPING = dict(epochs=8, patience=5)


def clf(**params):
    """A 4-unit classifier; "logistic" (scikit-learn's name) throughout, so
    that the test of the name reuses the compiled program."""
    base = dict(
        hidden_layer_sizes=(4,),
        activation="logistic",
        learning_rate=0.01,
        random_state=0,
    )
    return NoisyMLPClassifier(**{**base, **params})


def reg(**params):
    base = dict(
        hidden_layer_sizes=(4,),
        activation="identity",
        learning_rate=0.01,
        random_state=0,
    )
    return NoisyMLPRegressor(**{**base, **params})


def sk_clf(**params):
    return MLPClassifier(hidden_layer_sizes=(4,), random_state=0, **params)


def assert_weights_close(a, b, **tol):
    for name in ("coefs_", "intercepts_"):
        for p, q in zip(getattr(a, name), getattr(b, name), strict=True):
            np.testing.assert_allclose(p, q, **tol)


def weights_differ(a, b) -> bool:
    return any(
        not np.allclose(p, q)
        for name in ("coefs_", "intercepts_")
        for p, q in zip(getattr(a, name), getattr(b, name), strict=True)
    )


def error_of(call) -> tuple[type, str]:
    with pytest.raises(Exception) as info:
        call()
    return info.type, str(info.value)


# -- defaults and names --------------------------------------------------------


def test_batch_size_auto_is_min_200_n_samples():
    """One epoch on 250 rows takes 2 optimizer steps (batches of 200), as
    scikit-learn's, not 1 (a batch of all rows)."""
    ours = reg().partial_fit(XR, YR)
    theirs = MLPRegressor(hidden_layer_sizes=(4,), random_state=0).partial_fit(XR, YR)
    assert ours._step == [theirs._optimizer.t] == [2]


def test_logistic_activation_is_sigmoid():
    a = clf(activation="logistic", **ONE_EPOCH).fit(X, Y)
    b = clf(activation="sigmoid", **ONE_EPOCH).fit(X, Y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_identity_activation_is_linear():
    a = reg(activation="identity").partial_fit(XR, YR)
    b = reg(activation="linear").partial_fit(XR, YR)
    np.testing.assert_array_equal(a.predict(XR), b.predict(XR))


def test_classifier_coefs_intercepts_and_out_activation_as_sklearn():
    ours = clf(**ONE_EPOCH).fit(X, Y)
    theirs = sk_clf(max_iter=1).fit(X, Y)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert ours.out_activation_ == theirs.out_activation_ == "logistic"


def test_regressor_coefs_intercepts_and_out_activation_as_sklearn():
    ours = reg().partial_fit(XR, YR)
    theirs = MLPRegressor(hidden_layer_sizes=(4,), random_state=0).partial_fit(XR, YR)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert ours.out_activation_ == theirs.out_activation_ == "identity"


# -- the convergence stop ------------------------------------------------------


def test_convergence_stop_ends_at_sklearns_epoch():
    """With a ``tol`` no epoch can beat, the fit stops once more than
    ``patience`` epochs in a row did not: after 1 + 6 epochs, as
    scikit-learn's ``n_iter_no_change`` rule, before ``epochs`` (8)."""
    ours = clf(tol=10.0, **STOPPING).fit(X, Y)
    theirs = sk_clf(tol=10.0, n_iter_no_change=5, max_iter=8).fit(X, Y)
    assert ours.n_iter_ == theirs.n_iter_ == 7


def test_best_loss_is_the_lowest_training_loss():
    """``best_loss_`` is the minimum of ``loss_curve_`` (as scikit-learn's),
    not the last loss: a too-large learning rate makes the curve jump."""
    ours = clf(learning_rate=3.0, **STOPPING).fit(X, Y)
    assert ours.loss_curve_[-1] != min(ours.loss_curve_)  # the test's premise
    assert ours.best_loss_ == min(ours.loss_curve_)
    theirs = sk_clf(learning_rate_init=3.0, max_iter=8).fit(X, Y)
    assert theirs.best_loss_ == min(theirs.loss_curve_)


def test_convergence_warning_when_epochs_run_out():
    with pytest.warns(ConvergenceWarning):
        sk_clf(max_iter=5).fit(X, Y)
    with pytest.warns(ConvergenceWarning, match="maximum number of epochs"):
        ours = clf(epochs=5, patience=5).fit(X, Y)
    assert ours.n_iter_ == 5


def test_tol_none_trains_all_epochs_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = clf(**ONE_EPOCH).fit(X, Y)
    assert ours.n_iter_ == 1


# -- partial_fit -----------------------------------------------------------------


def test_first_partial_fit_is_one_epoch_of_fit():
    ours = clf().partial_fit(X, Y, classes=CLASSES)
    one_epoch = clf(**ONE_EPOCH).fit(X, Y)
    assert ours.loss_curve_ == one_epoch.loss_curve_
    assert_weights_close(ours, one_epoch, rtol=0, atol=0)


def test_partial_fit_counts_epochs_rows_and_losses():
    est = clf().partial_fit(X, Y, classes=CLASSES)
    before = copy.deepcopy(est)
    est.partial_fit(X, Y)
    assert est.n_iter_ == before.n_iter_ + 1 == 2
    assert est.t_ == before.t_ + 60 == 120
    assert est.loss_curve_[:1] == before.loss_curve_
    assert len(est.loss_curve_) == 2
    assert weights_differ(est, before)


def test_regressor_partial_fit_counts_epochs_and_rows():
    est = reg().partial_fit(XR, YR).partial_fit(XR, YR)
    theirs = MLPRegressor(hidden_layer_sizes=(4,), random_state=0)
    theirs.partial_fit(XR, YR).partial_fit(XR, YR)
    assert est.t_ == theirs.t_ == 500
    assert len(est.loss_curve_) == len(theirs.loss_curve_) == 2
    # skrobust's n_iter_ counts every epoch, len(loss_curve_); scikit-learn's
    # counts the last call's (1 after any partial_fit).
    assert est.n_iter_ == 2


def test_partial_fit_carries_the_optimizer_state():
    """Five calls train as five epochs of one fit: the weights, Adam's
    moments and its step count carry from call to call (with one full
    batch, only the shuffled row order differs, which moves float sums)."""
    calls = clf()
    for _ in range(5):
        calls.partial_fit(X, Y, classes=CLASSES)
    one_fit = clf(epochs=5, patience=5).fit(X, Y)
    assert calls._step == one_fit._step == [5]
    np.testing.assert_allclose(calls.loss_curve_, one_fit.loss_curve_, rtol=1e-5)
    assert_weights_close(calls, one_fit, rtol=1e-4, atol=1e-6)


def test_partial_fit_needs_classes_on_the_first_call():
    assert error_of(lambda: clf().partial_fit(X, Y)) == error_of(
        lambda: sk_clf().partial_fit(X, Y)
    )


def test_partial_fit_rejects_labels_outside_classes():
    y3 = np.where(np.arange(60) == 0, 2, Y)
    ours = clf().partial_fit(X, Y, classes=CLASSES)
    theirs = sk_clf().partial_fit(X, Y, classes=CLASSES)
    got = error_of(lambda: ours.partial_fit(X, y3))
    assert got == error_of(lambda: theirs.partial_fit(X, y3))
    assert got[0] is ValueError
    # Also on the first call.
    assert error_of(lambda: clf().partial_fit(X, y3, classes=CLASSES)) == got


def test_partial_fit_rejects_other_classes_later_as_sklearn():
    ours = clf().partial_fit(X, Y, classes=CLASSES)
    theirs = sk_clf().partial_fit(X, Y, classes=CLASSES)
    assert error_of(lambda: ours.partial_fit(X, Y, classes=[0, 1, 2])) == error_of(
        lambda: theirs.partial_fit(X, Y, classes=[0, 1, 2])
    )


def test_partial_fit_rejects_other_classes_later():
    ours = clf().partial_fit(X, Y, classes=CLASSES)
    with pytest.raises(ValueError, match="is not the same as on last call"):
        ours.partial_fit(X, Y, classes=[0, 1, 2])
    ours.partial_fit(X, Y, classes=[1, 0])  # the same classes, in any order


def test_partial_fit_chunk_need_not_hold_every_class():
    zeros = np.zeros(60, dtype=int)
    ours = clf().partial_fit(X, zeros, classes=CLASSES)
    theirs = sk_clf().partial_fit(X, zeros, classes=CLASSES)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.predict_proba(X).shape == theirs.predict_proba(X).shape == (60, 2)


# -- warm_start ------------------------------------------------------------------


def test_warm_start_accumulates_n_iter_t_and_loss_curve():
    ours = clf(warm_start=True, **ONE_EPOCH)
    theirs = sk_clf(warm_start=True, max_iter=1)
    for est in (ours, theirs):
        est.fit(X, Y).fit(X, Y)
    assert ours.t_ == theirs.t_ == 120
    assert len(ours.loss_curve_) == len(theirs.loss_curve_) == 2
    assert len(ours.history_["loss"]) == 2
    # skrobust's n_iter_ counts every epoch, len(loss_curve_); scikit-learn's
    # counts the last fit's.
    assert ours.n_iter_ == 2


def test_warm_start_fit_starts_where_the_last_ended():
    """The second fit's first loss is the loss of the first fit's weights
    (with one full batch, the loss before the epoch's only step)."""
    est = clf(warm_start=True, **ONE_EPOCH).fit(X, Y)
    loss_there = log_loss(Y, est.predict_proba(X))
    assert abs(loss_there - est.loss_curve_[-1]) > 1e-3  # the test's premise
    est.fit(X, Y)
    np.testing.assert_allclose(est.loss_curve_[1], loss_there, rtol=1e-5)


def test_warm_start_off_starts_afresh():
    est = clf(**ONE_EPOCH).fit(X, Y)
    first = est.loss_curve_
    est.fit(X, Y)
    assert est.loss_curve_ == first
    assert est.n_iter_ == 1
    assert est.t_ == 60


def test_warm_start_rejects_other_classes_as_sklearn():
    y3 = np.where(np.arange(60) == 0, 2, Y)
    ours = clf(warm_start=True, **ONE_EPOCH).fit(X, Y)
    theirs = sk_clf(warm_start=True, max_iter=1).fit(X, Y)
    assert error_of(lambda: ours.fit(X, y3)) == error_of(lambda: theirs.fit(X, y3))


def test_rejected_warm_start_fit_leaves_the_estimator_unchanged():
    y3 = np.where(np.arange(60) == 0, 2, Y)
    est = clf(warm_start=True, **ONE_EPOCH).fit(X, Y)
    proba = est.predict_proba(X)
    with pytest.raises(ValueError):
        est.fit(X, y3)
    np.testing.assert_array_equal(est.classes_, CLASSES)
    np.testing.assert_array_equal(est.predict_proba(X), proba)


# -- a validation split ------------------------------------------------------------


def test_early_stopping_sets_validation_scores_not_best_loss():
    """As scikit-learn's: a validation score per epoch, the score of the
    weights kept, and no best training loss. (scikit-learn keeps the epoch
    of the best validation score; skrobust the one of the best validation
    loss, ``best_epoch_``.)"""
    ours = clf(early_stopping=True, **STOPPING).fit(X, Y)
    theirs = sk_clf(early_stopping=True, max_iter=8).fit(X, Y)
    for est in (ours, theirs):
        assert est.best_loss_ is None
        assert len(est.validation_scores_) == est.n_iter_
    assert ours.best_validation_score_ == ours.validation_scores_[ours.best_epoch_]
    assert theirs.best_validation_score_ == max(theirs.validation_scores_)
    # 10% of 60 rows held out: t_ counts the 54 rows trained on.
    assert ours.t_ == theirs.t_ == 54 * ours.n_iter_


# -- persistence -------------------------------------------------------------------

ATTRIBUTES = ("n_iter_", "t_", "loss_curve_", "best_loss_", "out_activation_")


def test_pickle_keeps_attributes_and_optimizer_state():
    est = clf().partial_fit(X, Y, classes=CLASSES)
    restored = pickle.loads(pickle.dumps(est))
    for attr in ATTRIBUTES:
        assert getattr(restored, attr) == getattr(est, attr)
    est.partial_fit(X, Y)
    restored.partial_fit(X, Y)
    assert restored.loss_curve_ == est.loss_curve_
    assert_weights_close(restored, est, rtol=0, atol=0)


@pytest.mark.keras
def test_save_load_keeps_t_and_sklearn_attributes(tmp_path):
    est = clf().partial_fit(X, Y, classes=CLASSES).partial_fit(X, Y)
    save(est, tmp_path / "m.skrobust")
    loaded = load(tmp_path / "m.skrobust")
    for attr in ATTRIBUTES:
        assert getattr(loaded, attr) == getattr(est, attr)
    assert_weights_close(loaded, est, rtol=0, atol=0)


@pytest.mark.keras
def test_partial_fit_after_load_continues_from_loaded_weights(tmp_path):
    est = clf().partial_fit(X, Y, classes=CLASSES)
    save(est, tmp_path / "m.skrobust")
    loaded = load(tmp_path / "m.skrobust")
    loss_there = log_loss(Y, loaded.predict_proba(X))
    loaded.partial_fit(X, Y)
    assert loaded.n_iter_ == 2
    assert loaded.t_ == 120
    np.testing.assert_allclose(loaded.loss_curve_[-1], loss_there, rtol=1e-5)


# -- batched search ------------------------------------------------------------------


def test_batched_search_members_stop_where_plain_fits_stop():
    """Candidate tol=10 stops after 7 epochs, tol=0 runs all 8: each member
    of the batched run stops on its own, as its plain fit does. The folds
    train on all 60 rows (one compiled shape for every fit), tested on
    halves; log loss sees any difference in the weights."""
    halves = np.arange(60) < 30
    cv = [(np.arange(60), np.flatnonzero(h)) for h in (halves, ~halves)]
    search = dict(
        param_grid={"tol": [10.0, 0.0]},
        cv=cv,
        scoring="neg_log_loss",
        error_score="raise",
    )
    batched = BatchedGridSearchCV(clf(**STOPPING), **search).fit(X, Y)
    plain = GridSearchCV(clf(**STOPPING), **search).fit(X, Y)
    for s in (0, 1):
        key = f"split{s}_test_score"
        np.testing.assert_allclose(
            batched.cv_results_[key], plain.cv_results_[key], rtol=1e-5
        )
    assert batched.best_estimator_.n_iter_ == plain.best_estimator_.n_iter_
    # The premise: the candidates stop at different epochs.
    stops = [clf(tol=t, **STOPPING).fit(X, Y).n_iter_ for t in (10.0, 0.0)]
    assert stops == [7, 8]


def test_warm_start_fit_with_a_cosine_schedule_still_trains():
    # Each warm-started fit decays its learning rate over its own epochs;
    # without that, the second fit would run at the schedule's end (rate 0).
    est = clf(warm_start=True, lr_schedule="cosine", tol=None, epochs=2).fit(X, Y)
    before = [w.copy() for w in est.coefs_]
    est.fit(X, Y)
    moved = [np.abs(a - b).max() for a, b in zip(est.coefs_, before, strict=True)]
    assert max(moved) > 1e-4
