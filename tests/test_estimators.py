"""Behaviour of NoisyMLPClassifier and NoisyMLPRegressor (issue 2)."""

from __future__ import annotations

import random

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import (
    GridSearchCV,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrobust import GaussianNoise, InvalidParameterError
from skrobust import NoisyMLPClassifier as Clf
from skrobust import NoisyMLPRegressor as Reg

TINY = dict(hidden_layer_sizes=(8,), epochs=5, random_state=0)


def layer_types(est):
    return [type(layer).__name__ for layer in est.model_.layers[1:]]


# -- the scikit-learn contract ---------------------------------------------------


def test_estimators_are_tagged_classifier_and_regressor():
    assert is_classifier(Clf()) and not is_regressor(Clf())
    assert is_regressor(Reg()) and not is_classifier(Reg())


def test_cross_val_score_stratifies_the_classifier(circles, monkeypatch):
    X, y = circles
    seen = []
    original = StratifiedKFold.split

    def spy(self, *args, **kwargs):
        seen.append(type(self).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StratifiedKFold, "split", spy)
    cross_val_score(Clf(**TINY), X, y, cv=3)
    assert seen == ["StratifiedKFold"]


def test_init_stores_parameters_unchanged():
    sizes = [4, 3]
    est = Clf(hidden_layer_sizes=sizes, noise_position=("input", "pre_activation"))
    assert est.hidden_layer_sizes is sizes
    assert est.get_params()["noise_position"] == ("input", "pre_activation")


def test_clone_gives_an_unfitted_copy_with_equal_params(circles):
    est = Clf(**TINY).fit(*circles)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "n_iter_")


# -- tutorial variants build the right layer sequence ---------------------------

VARIANTS = {
    "baseline": (dict(), ["Dense", "Activation", "Dense"]),
    "input noise": (
        dict(noise_std=0.01, noise_position="input"),
        ["GaussianNoise", "Dense", "Activation", "Dense"],
    ),
    "hidden noise pre": (
        dict(noise_std=0.1, noise_position="pre_activation"),
        ["Dense", "GaussianNoise", "Activation", "Dense"],
    ),
    "hidden noise post": (
        dict(noise_std=0.1, noise_position="post_activation"),
        ["Dense", "Activation", "GaussianNoise", "Dense"],
    ),
    "input plus hidden": (
        dict(noise_std=0.1, noise_position=("input", "pre_activation")),
        ["GaussianNoise", "Dense", "GaussianNoise", "Activation", "Dense"],
    ),
    "dropout": (dict(dropout=0.4), ["Dense", "Activation", "Dropout", "Dense"]),
    "batchnorm before": (
        dict(
            batchnorm="before",
            optimizer="sgd",
            learning_rate=0.01,
            momentum=0.9,
            kernel_initializer="he_uniform",
        ),
        ["Dense", "BatchNormalization", "Activation", "Dense"],
    ),
    "batchnorm after": (
        dict(
            batchnorm="after",
            optimizer="sgd",
            learning_rate=0.01,
            momentum=0.9,
            kernel_initializer="he_uniform",
        ),
        ["Dense", "Activation", "BatchNormalization", "Dense"],
    ),
    "max-norm with dropout": (
        dict(dropout=0.4, max_norm=3.0),
        ["Dense", "Activation", "Dropout", "Dense"],
    ),
    "input dropout": (
        dict(input_dropout=0.2),
        ["Dropout", "Dense", "Activation", "Dense"],
    ),
}


@pytest.mark.keras
@pytest.mark.parametrize("name", list(VARIANTS))
def test_tutorial_variant_builds_its_layer_sequence(name, circles):
    params, expected = VARIANTS[name]
    est = Clf(**{**TINY, **params}).fit(*circles)
    assert layer_types(est) == expected
    model = est.model_
    if "noise_std" in params:
        noise = [la for la in model.layers if isinstance(la, GaussianNoise)]
        assert all(la.stddev == params["noise_std"] for la in noise)
    if params.get("dropout"):
        assert model.get_layer("dropout_0").rate == params["dropout"]
    if params.get("max_norm"):
        constraint = model.get_layer("dense_0").kernel_constraint
        assert isinstance(constraint, keras.constraints.MaxNorm)
        assert constraint.max_value == params["max_norm"]
    if params.get("kernel_initializer") == "he_uniform":
        # He-uniform kernels are wider than Glorot's for 2 inputs -> 8 units.
        k = model.get_layer("dense_0").get_weights()[0]
        assert np.all(np.abs(k) <= np.sqrt(6 / 2) + 1e-6)


@pytest.mark.keras
def test_noise_above_one_is_allowed(circles):
    X, y = circles
    fits = {std: Clf(**TINY, noise_std=std).fit(X, y) for std in (0.0, 1.0, 3.0)}
    losses = {std: est.loss_curve_ for std, est in fits.items()}
    # Training used the std: with the same seed (the same draws, scaled), a
    # std of 3 trains otherwise than one of 1 (not capped there), and the
    # inputs it swamps make the fit worse.
    assert not np.allclose(losses[3.0], losses[1.0])
    assert np.mean(losses[3.0]) > np.mean(losses[1.0]) > np.mean(losses[0.0])
    # The exported Keras model's noise layer draws with that std in training.
    layer = fits[3.0].model_.get_layer("noise_0")
    assert layer.stddev == 3.0
    draws = keras.ops.convert_to_numpy(
        layer(np.zeros((2000, 2), dtype="float32"), training=True)
    )
    assert np.std(draws) == pytest.approx(3.0, rel=0.05)


@pytest.mark.keras
def test_max_norm_bounds_hidden_kernel_column_norms(circles):
    est = Clf(
        hidden_layer_sizes=(8,),
        epochs=30,
        learning_rate=0.5,
        max_norm=0.5,
        random_state=0,
    ).fit(*circles)
    kernel = est.model_.get_layer("dense_0").get_weights()[0]
    assert np.all(np.linalg.norm(kernel, axis=0) <= 0.5 + 1e-5)


# -- training vs prediction -----------------------------------------------------


@pytest.mark.keras
def test_predictions_are_deterministic_and_match_the_keras_model(circles):
    X, y = circles
    est = Clf(**{**TINY, "noise_std": 0.5, "dropout": 0.3}).fit(X, y)
    p1, p2 = est.predict_proba(X), est.predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    keras_p = np.asarray(est.model_(X.astype("float32"), training=False))[:, 0]
    np.testing.assert_allclose(p1[:, 1], keras_p, rtol=1e-5, atol=1e-6)


@pytest.mark.keras
def test_noise_changes_training_but_is_absent_at_prediction(circles):
    X, y = circles
    quiet = Clf(**TINY).fit(X, y)
    noisy = Clf(**TINY, noise_std=0.5).fit(X, y)
    # Same seed, same initial weights: only the noise differs.
    assert not np.allclose(quiet.loss_curve_, noisy.loss_curve_)
    # Copy the noisy model's weights into a noiseless network: same outputs.
    clone_model = quiet.model_
    for layer in noisy.model_.layers:
        if layer.weights:
            clone_model.get_layer(layer.name).set_weights(layer.get_weights())
    np.testing.assert_allclose(
        quiet.predict_proba(X), noisy.predict_proba(X), rtol=1e-5, atol=1e-6
    )


def test_same_seed_gives_identical_predictions(circles):
    X, y = circles
    params = {**TINY, "noise_std": 0.2, "dropout": 0.2}
    a = Clf(**params).fit(X, y).predict_proba(X)
    b = Clf(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_progress_bar_does_not_change_the_fit(circles, capsys):
    X, y = circles
    # Enough mini-batch steps that the engine may pick another compilation
    # strategy for long runs; verbose runs shorter chunks but must train
    # identically.
    params = {**TINY, "epochs": 300, "noise_std": 0.2}
    quiet = Clf(**params).fit(X, y).predict_proba(X)
    loud = Clf(**params, verbose=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(quiet, loud)
    assert "NoisyMLPClassifier" in capsys.readouterr().err


def test_different_seeds_and_none_give_different_fits(circles):
    X, y = circles
    a = Clf(**{**TINY, "random_state": 1}).fit(X, y).predict_proba(X)
    b = Clf(**{**TINY, "random_state": 2}).fit(X, y).predict_proba(X)
    c = Clf(**{**TINY, "random_state": None}).fit(X, y).predict_proba(X)
    d = Clf(**{**TINY, "random_state": None}).fit(X, y).predict_proba(X)
    assert not np.allclose(a, b)
    assert not np.allclose(c, d)


@pytest.mark.keras
def test_global_random_state_is_untouched(circles):
    # The legacy global NumPy API is exactly what this test must watch.
    X, y = circles
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    keras.utils.set_random_seed(123)
    expected_np = np.random.get_state()[1].copy()  # noqa: NPY002
    expected_py = random.getstate()
    Clf(**{**TINY, "random_state": None, "noise_std": 0.1}).fit(X, y).predict(X)
    Clf(**{**TINY, "noise_std": 0.1}).fit(X, y).predict(X)
    np.testing.assert_array_equal(np.random.get_state()[1], expected_np)  # noqa: NPY002
    assert random.getstate() == expected_py
    # Keras's global seed generator gives the same draw as right after seeding.
    after = keras.ops.convert_to_numpy(keras.random.normal((3,)))
    keras.utils.set_random_seed(123)
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    fresh = keras.ops.convert_to_numpy(keras.random.normal((3,)))
    np.testing.assert_array_equal(after, fresh)


def test_training_learns_the_circles(circles):
    X, y = circles
    est = Clf(
        hidden_layer_sizes=(64, 64), epochs=500, learning_rate=0.01, random_state=0
    ).fit(X, y)
    assert est.score(X, y) >= 0.9
    assert est.loss_curve_[-1] < est.loss_curve_[0]


# -- fitted attributes ----------------------------------------------------------


@pytest.mark.keras
def test_fitted_attributes(circles):
    X, y = circles
    est = Clf(**TINY, validation_fraction=0.25).fit(X, y)
    assert est.n_features_in_ == 2
    assert est.n_iter_ == 5
    assert set(est.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 5 for v in est.history_.values())
    assert est.loss_curve_ == est.history_["loss"]
    assert isinstance(est.model_, keras.Model)
    np.testing.assert_array_equal(est.classes_, [0, 1])


def test_history_without_validation_has_train_metrics_only(regression_data):
    est = Reg(**TINY).fit(*regression_data)
    assert set(est.history_) == {"loss", "r2"}


# Without shuffling nothing in these fits is random, so fits of different
# lengths agree epoch by epoch whatever program the engine compiles for them.
STOPPING = dict(
    hidden_layer_sizes=(64,),
    learning_rate=0.05,
    validation_fraction=0.3,
    shuffle=False,
    random_state=0,
)


@pytest.mark.keras
def test_early_stopping_stops_and_restores_the_best_epoch(circles):
    X, y = circles
    est = Clf(**STOPPING, epochs=400, early_stopping=True, patience=5, tol=0.0)
    est.fit(X, y)
    proba = est.predict_proba(X)
    assert est.n_iter_ < 400
    val = est.history_["val_loss"]
    assert est.best_epoch_ == int(np.argmin(val))
    # scikit-learn's rule: more than ``patience`` epochs without improvement.
    assert est.n_iter_ == est.best_epoch_ + 1 + 5 + 1
    # scikit-learn keeps best_loss_ for the training loss, None here.
    assert est.best_loss_ is None
    # The kept weights are the best epoch's: a fit stopped by hand after that
    # epoch (same split, no early stopping) ends on the best validation loss
    # and predicts the same ...
    best = Clf(**STOPPING, epochs=est.best_epoch_ + 1, tol=None).fit(X, y)
    assert best.history_["val_loss"][-1] == pytest.approx(min(val), rel=1e-4)
    np.testing.assert_allclose(proba, best.predict_proba(X), rtol=1e-4, atol=1e-5)
    # ... and not the last epoch's, which differ.
    last = Clf(**STOPPING, epochs=est.n_iter_, tol=None).fit(X, y)
    assert np.abs(proba - last.predict_proba(X)).max() > 1e-3
    # The exported Keras model holds the restored weights too.
    keras_p = np.asarray(est.model_(X.astype("float32"), training=False))[:, 0]
    np.testing.assert_allclose(proba[:, 1], keras_p, rtol=1e-5, atol=1e-6)


def test_pandas_input_records_feature_names(circles):
    X, y = circles
    df = pd.DataFrame(X, columns=["a", "b"])
    est = Clf(**TINY).fit(df, pd.Series(y))
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b"])
    np.testing.assert_array_equal(est.predict(df), est.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        est.predict(pd.DataFrame(X, columns=["b", "a"]))


# -- classifier -----------------------------------------------------------------


@pytest.mark.keras
def test_string_labels_and_multiclass_probabilities():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.array(["cat", "dog", "emu"])[np.argmax(X, axis=1)]
    est = Clf(**TINY).fit(X, y)
    proba = est.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(est.predict(X)) <= {"cat", "dog", "emu"}
    assert est.model_.layers[-1].activation.__name__ == "softmax"


@pytest.mark.keras
def test_exported_model_of_a_multiclass_classifier_predicts_its_probabilities():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    est = Clf(**TINY, noise_std=0.3).fit(X, np.argmax(X, axis=1))
    proba = est.predict_proba(X)
    keras_p = np.asarray(est.model_(X.astype("float32"), training=False))
    assert keras_p.shape == (60, 3)
    np.testing.assert_allclose(proba, keras_p, rtol=1e-5, atol=1e-6)


@pytest.mark.keras
def test_binary_uses_one_sigmoid_unit_and_two_probability_columns(circles):
    X, y = circles
    est = Clf(**TINY).fit(X, np.where(y == 1, "yes", "no"))
    assert est.model_.layers[-1].units == 1
    assert est.predict_proba(X).shape == (len(X), 2)


def test_balanced_class_weight_shifts_predictions_to_the_rare_class():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + 0.8 * rng.normal(size=200) > 1.2).astype(int)
    params = dict(
        hidden_layer_sizes=(8,), epochs=30, learning_rate=0.01, random_state=0
    )
    plain = Clf(**params).fit(X, y)
    balanced = Clf(**params, class_weight="balanced").fit(X, y)
    weighted = Clf(**params, class_weight={0: 1.0, 1: 5.0}).fit(X, y)
    assert balanced.predict(X).sum() > plain.predict(X).sum()
    assert weighted.predict(X).sum() > plain.predict(X).sum()


def test_sample_weight_zero_rows_do_not_matter(circles):
    X, y = circles
    w = np.ones(len(X))
    w[:10] = 0
    X2 = X.copy()
    X2[:10] = 100.0  # garbage rows with no weight
    params = {**TINY, "shuffle": False, "batch_size": 64}
    a = Clf(**params).fit(X, y, sample_weight=w)
    b = Clf(**params).fit(X2, y, sample_weight=w)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-5)


# -- regressor ------------------------------------------------------------------


@pytest.mark.keras
def test_regressor_single_and_multi_output(regression_data):
    X, y = regression_data
    single = Reg(**TINY).fit(X, y)
    assert single.predict(X).shape == (50,)
    multi = Reg(**TINY).fit(X, np.column_stack([y, -y]))
    assert multi.predict(X).shape == (50, 2)
    assert multi.model_.layers[-1].units == 2


@pytest.mark.keras
def test_exported_model_of_a_multi_output_regressor_predicts_its_targets(
    regression_data,
):
    X, y = regression_data
    est = Reg(**TINY, noise_std=0.3).fit(X, np.column_stack([y, -y, 2 * y]))
    pred = est.predict(X)
    keras_p = np.asarray(est.model_(X.astype("float32"), training=False))
    assert keras_p.shape == (50, 3)
    np.testing.assert_allclose(pred, keras_p, rtol=1e-5, atol=1e-5)


def test_predict_over_several_pieces_equals_predicting_the_rows_in_parts():
    from skrobust.engine._api import PREDICT_BATCH

    X = np.random.default_rng(0).normal(size=(PREDICT_BATCH + 4_464, 3))
    est = Reg(**TINY).fit(
        X[:50], X[:50] @ np.array([[1.0, 0.5], [-1.0, 0.0], [2.0, 1.0]])
    )
    whole = est.predict(X)  # a full piece and a short one
    cut = 40_000  # two calls, each within one piece
    parts = np.concatenate([est.predict(X[:cut]), est.predict(X[cut:])])
    assert whole.shape == (len(X), 2)
    np.testing.assert_allclose(whole, parts, rtol=1e-6, atol=1e-6)
    # Rows past the first piece are their own predictions, not a copy.
    tail = slice(PREDICT_BATCH, None)
    np.testing.assert_allclose(whole[tail], est.predict(X[tail]), rtol=1e-6, atol=1e-6)


def test_regressor_fits_a_linear_target(regression_data):
    X, y = regression_data
    est = Reg(
        hidden_layer_sizes=(16,), epochs=200, learning_rate=0.01, random_state=0
    ).fit(X, y)
    assert est.score(X, y) > 0.9


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_every_optimizer_reduces_the_loss(optimizer, regression_data):
    X, y = regression_data
    est = Reg(
        hidden_layer_sizes=(8,),
        epochs=20,
        optimizer=optimizer,
        momentum=0.5 if optimizer == "sgd" else 0.0,
        random_state=0,
    ).fit(X, y)
    assert est.loss_curve_[-1] < est.loss_curve_[0]


# -- model selection --------------------------------------------------------------


def test_grid_search_over_noise_in_a_pipeline(circles):
    X, y = circles
    pipe = make_pipeline(StandardScaler(), Clf(**TINY))
    grid = {
        "noisymlpclassifier__noise_std": [0.0, 0.2],
        "noisymlpclassifier__noise_position": ["input", "pre_activation"],
    }
    search = GridSearchCV(pipe, grid, cv=3, scoring="neg_log_loss").fit(X, y)
    # Each candidate's fold scores are those of a pipeline built afresh with
    # its parameters (the scaler fitted on the fold's training rows) ...
    folds = list(StratifiedKFold(3).split(X, y))
    for i, params in enumerate(search.cv_results_["params"]):
        mlp = {k.split("__")[1]: v for k, v in params.items()}
        for f, (train, test) in enumerate(folds):
            fresh = make_pipeline(StandardScaler(), Clf(**TINY, **mlp))
            fresh.fit(X[train], y[train])
            expected = -log_loss(y[test], fresh.predict_proba(X[test]))
            score = search.cv_results_[f"split{f}_test_score"][i]
            assert score == pytest.approx(expected, rel=1e-6), (params, f)
    # ... which tell the noise settings apart (without noise, its position
    # changes nothing) ...
    mean = {
        (p["noisymlpclassifier__noise_std"], p["noisymlpclassifier__noise_position"]): m
        for p, m in zip(
            search.cv_results_["params"],
            search.cv_results_["mean_test_score"],
            strict=True,
        )
    }
    assert mean[0.0, "input"] == mean[0.0, "pre_activation"]
    noisy = {mean[0.2, "input"], mean[0.2, "pre_activation"]}
    assert len(noisy | {mean[0.0, "input"]}) == 3
    # ... and the refitted pipeline is the best candidate's fit on every row.
    best = make_pipeline(
        StandardScaler(),
        Clf(**TINY, **{k.split("__")[1]: v for k, v in search.best_params_.items()}),
    ).fit(X, y)
    np.testing.assert_array_equal(
        search.best_estimator_.predict_proba(X), best.predict_proba(X)
    )


def test_cross_validate_with_repeated_folds_fits_each_fold_afresh(circles):
    X, y = circles
    cv = RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=0)
    res = cross_validate(
        Clf(**TINY), X, y, cv=cv, return_estimator=True, return_indices=True
    )
    assert len(res["test_score"]) == 6
    folds = zip(
        res["test_score"],
        res["estimator"],
        res["indices"]["train"],
        res["indices"]["test"],
        strict=True,
    )
    for score, est, train, test in folds:
        # Each fold's model is the one a fresh fit on its training rows gives
        # (nothing of an earlier fold carries over), scored on its test rows.
        plain = Clf(**TINY).fit(X[train], y[train])
        np.testing.assert_array_equal(est.predict_proba(X), plain.predict_proba(X))
        assert score == accuracy_score(y[test], plain.predict(X[test]))


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "param, value, match",
    [
        ("noise_std", -0.1, "'noise_std' parameter"),
        ("noise_position", "middle", "'noise_position' parameter"),
        ("noise_position", ("pre_activation", "post_activation"), "'noise_position'"),
        ("dropout", 1.0, "'dropout' parameter"),
        ("dropout", -0.2, "'dropout' parameter"),
        ("input_dropout", 1.5, "'input_dropout' parameter"),
        ("batchnorm", "sideways", "'batchnorm' parameter"),
        ("optimizer", "adagrad", "'optimizer' parameter"),
        ("hidden_layer_sizes", (0,), "'hidden_layer_sizes' parameter"),
        ("hidden_layer_sizes", 5, "'hidden_layer_sizes' parameter"),
        ("activation", "no-such-activation", "'activation' parameter"),
        ("epochs", 0, "'epochs' parameter"),
        ("batch_size", 2.5, "'batch_size' parameter"),
        ("learning_rate", 0.0, "'learning_rate' parameter"),
        ("max_norm", -1.0, "'max_norm' parameter"),
        ("validation_fraction", 1.0, "'validation_fraction' parameter"),
        ("noise_std", float("inf"), "'noise_std' parameter"),
        ("noise_std", float("nan"), "'noise_std' parameter"),
        ("learning_rate", float("inf"), "'learning_rate' parameter"),
        ("weight_noise_std", float("inf"), "'weight_noise_std' parameter"),
        ("gradient_noise_eta", float("inf"), "'gradient_noise_eta' parameter"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(param, value, match, circles):
    with pytest.raises(InvalidParameterError, match=match):
        Clf(**{**TINY, param: value}).fit(*circles)


def test_invalid_parameter_error_is_a_value_error():
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[0.0, np.nan]] * 10), "NaN"),
        (np.array([[0.0, np.inf]] * 10), "infinity"),
        (np.arange(10.0), "Expected 2D array"),
        (np.zeros((0, 2)), "0 sample"),
        (np.array([["a", "b"]] * 10, dtype=object), "could not convert|numeric"),
        (np.full((10, 2), 1e39), "too large for float32"),
    ],
)
def test_bad_X_raises_before_training(X, match):
    y = np.arange(len(X)) % 2
    with pytest.raises(ValueError, match=match):
        Clf(**TINY).fit(X, y)


def test_wrong_feature_count_at_predict(circles):
    est = Clf(**TINY).fit(*circles)
    with pytest.raises(
        ValueError,
        match="X has 3 features, but NoisyMLPClassifier "
        "is expecting 2 features as input",
    ):
        est.predict(np.zeros((4, 3)))


@pytest.mark.keras
def test_predict_before_fit_raises_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Clf().predict(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        Clf().model_  # noqa: B018


def test_single_class_is_refused():
    with pytest.raises(ValueError, match="only one class"):
        Clf(**TINY).fit(np.zeros((10, 2)), np.ones(10))


def test_continuous_target_is_refused_by_the_classifier():
    with pytest.raises(ValueError, match="Unknown label type"):
        Clf(**TINY).fit(np.zeros((10, 2)), np.linspace(0, 1, 10))


def test_callers_arrays_are_not_modified(circles):
    X, y = circles
    X = np.asfortranarray(X.astype(np.float32))
    w = np.linspace(0.5, 2.0, len(X))
    copies = X.copy(), y.copy(), w.copy()
    est = Clf(**{**TINY, "noise_std": 1.0, "validation_fraction": 0.2}).fit(
        X, y, sample_weight=w
    )
    est.predict(X)
    for original, copy in zip((X, y, w), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize("cls", [Clf, Reg])
def test_docstring_documents_every_parameter_in_signature_order(cls):
    import inspect
    import re

    signature = list(inspect.signature(cls.__init__).parameters)[1:]
    section = cls.__doc__.split("Parameters\n    ----------\n")[1].split(
        "\n    Attributes\n"
    )[0]
    documented = re.findall(r"^    (\w+) : ", section, flags=re.MULTILINE)
    assert documented == signature


def _public_methods():
    """(class name, method name, function) of every public method, property
    and classmethod that skrobust defines on its public classes."""
    import inspect

    import skrobust
    import skrobust.inspection
    import skrobust.model_selection

    for module in (skrobust, skrobust.model_selection, skrobust.inspection):
        for name in module.__all__:
            cls = getattr(module, name)
            if not inspect.isclass(cls) or issubclass(cls, Exception):
                continue
            seen = set()
            for klass in cls.__mro__:
                if not klass.__module__.startswith("skrobust"):
                    continue
                for attr, value in vars(klass).items():
                    if attr.startswith("_") or attr in seen:
                        continue
                    seen.add(attr)
                    if isinstance(value, property):
                        yield name, attr, value.fget, True
                    elif isinstance(value, classmethod | staticmethod):
                        yield name, attr, value.__func__, False
                    elif inspect.isfunction(getattr(value, "fn", value)):
                        # available_if wraps the method in a descriptor
                        yield name, attr, getattr(value, "fn", value), False


def test_every_public_method_has_a_numpydoc_docstring():
    import inspect

    checked, problems = 0, []
    for cls_name, attr, func, is_property in _public_methods():
        checked += 1
        doc = inspect.getdoc(func) or ""
        summary = doc.split("\n\n")[0]
        if not summary or "\n" in summary or not summary.endswith("."):
            problems.append(f"{cls_name}.{attr}: no one-line summary")
        sections = ("Parameters\n----------\n", "Returns\n-------\n")
        if not is_property and not any(sec in doc for sec in sections):
            problems.append(f"{cls_name}.{attr}: no Parameters or Returns")
    assert checked >= 15
    assert not problems, problems


def test_fits_differing_only_in_training_noise_share_one_predict_program(circles):
    from skrobust import engine

    engine.clear_cache()
    variants = [
        {},
        {"noise_std": 0.2, "noise_type": "multiplicative"},
        {"dropout": 0.3, "weight_noise_std": 0.1},
        {"label_smoothing": 0.1, "gradient_noise_eta": 0.01},
    ]
    for params in variants:
        Clf(**{**TINY, **params}).fit(*circles).predict(circles[0])
    kinds = [key[0] for key in engine._api._PROGRAMS._items]
    assert kinds.count("predict") == 1
    assert kinds.count("loop") == len(variants)


def test_importing_skrobust_loads_no_framework():
    # The package imports its modules on first use, so that the command line
    # can set up its process (the frameworks' logging) before Keras loads.
    import subprocess
    import sys

    code = (
        "import sys, skrobust; "
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules; "
        "assert set(skrobust.__all__) <= set(dir(skrobust)); "
        "assert skrobust.InvalidParameterError.__name__ == 'InvalidParameterError'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
