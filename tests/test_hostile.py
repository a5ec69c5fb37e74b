"""Hostile input: every X, y and sample_weight either fits correctly or is
refused with a scikit-learn style ValueError/TypeError that names the problem,
raised before any TensorFlow/JAX code runs, and the caller's arrays are never
changed.

Fitting examples keep one shape (8 x 2) so that the engine compiles once per
backend; refused examples may take any shape, since they never reach it.
"""

from __future__ import annotations

import copy
import os
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

from skrobust import NoisyMLPClassifier, NoisyMLPRegressor

TINY = dict(hidden_layer_sizes=(3,), epochs=2, random_state=0)
FEW = settings(max_examples=15, deadline=None)
N, P = 8, 2
F32_MAX = float(np.finfo(np.float32).max)
Y_CLF = np.arange(N) % 2
Y_REG = np.linspace(-1.0, 1.0, N)
X_OK = np.random.default_rng(0).normal(size=(N, P))
ENGINE_DIRS = (
    f"{os.sep}tensorflow{os.sep}",
    f"{os.sep}jax{os.sep}",
    f"{os.sep}jaxlib{os.sep}",
    f"{os.sep}keras{os.sep}",
)


def _make(kind):
    return NoisyMLPClassifier(**TINY) if kind == "clf" else NoisyMLPRegressor(**TINY)


def _snapshot(*args):
    return [copy.deepcopy(a) for a in args]


def _assert_unchanged(before, after):
    for b, a in zip(before, after, strict=True):
        if sp.issparse(b):
            assert (b != a).nnz == 0 and b.format == a.format
        elif isinstance(b, pd.DataFrame | pd.Series):
            assert b.equals(a)
        elif isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b, equal_nan=b.dtype.kind in "fc")
        else:
            assert a == b


def _raised_in_engine(exc) -> bool:
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return any(d in tb.tb_frame.f_code.co_filename for d in ENGINE_DIRS)


def fit_outcome(est, X, y, sample_weight=None, *, refuse=None):
    """Fit; return the fitted estimator or the (checked) exception.

    ``refuse`` is ``(exception type, regex)`` when the input must be refused,
    ``None`` when it must fit. Either way the arguments must be unchanged.
    """
    before = _snapshot(X, y, sample_weight)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning on huge inputs
            est.fit(X, y, sample_weight=sample_weight)
    except Exception as exc:  # noqa: BLE001 - classified below
        _assert_unchanged(before, [X, y, sample_weight])
        assert not _raised_in_engine(exc), f"engine traceback: {exc!r}"
        assert refuse is not None, f"valid input refused: {exc!r}"
        assert isinstance(exc, refuse[0]), repr(exc)
        assert re.search(refuse[1], str(exc)), str(exc)
        return exc
    _assert_unchanged(before, [X, y, sample_weight])
    assert refuse is None, f"invalid input accepted; expected {refuse}"
    return est


def _finite_predictions(est, X):
    """Predictions of the right shape: finite numbers for a regressor, known
    labels and finite probabilities summing to one for a classifier."""
    pred = est.predict(X)
    if isinstance(est, NoisyMLPClassifier):
        assert pred.shape == (len(X),)
        proba = est.predict_proba(X)
        assert proba.shape == (len(X), len(est.classes_))
        assert np.all(np.isfinite(proba))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        assert set(np.unique(pred)) <= set(est.classes_)
    else:
        assert pred.shape == (len(X),)
        assert pred.dtype.kind == "f"
        assert np.all(np.isfinite(pred))
    return pred


# -- X values ------------------------------------------------------------------

finite_floats = st.one_of(
    st.floats(-1e3, 1e3),
    st.floats(allow_nan=False, allow_infinity=False),  # beyond float32 too
)


@FEW
@given(
    X=hnp.arrays(np.float64, (N, P), elements=finite_floats),
    kind=st.sampled_from(["clf", "reg"]),
)
def test_finite_X_fits_if_it_fits_float32_else_is_refused(X, kind):
    y = Y_CLF if kind == "clf" else Y_REG
    too_large = np.max(np.abs(X)) > F32_MAX
    out = fit_outcome(
        _make(kind),
        X,
        y,
        refuse=(ValueError, "too large for float32") if too_large else None,
    )
    if too_large:
        return
    if kind == "reg" and np.max(np.abs(X)) >= 1e30:
        # Outputs of inputs this large may overflow float32: predict says so.
        try:
            pred = out.predict(X)
        except ValueError as exc:
            assert "non-finite outputs" in str(exc)
            return
    else:
        pred = _finite_predictions(out, X)
    assert np.all(np.isfinite(pred))


@FEW
@given(
    X=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements=st.floats(-10, 10),
    ),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    where=st.integers(0, 10**6),
    kind=st.sampled_from(["clf", "reg"]),
)
def test_X_with_nan_or_infinity_is_refused(X, bad, where, kind):
    X.flat[where % X.size] = bad
    y = (np.arange(len(X)) % 2) if kind == "clf" else np.zeros(len(X))
    word = "NaN" if np.isnan(bad) else "infinity"
    fit_outcome(_make(kind), X, y, refuse=(ValueError, f"Input X contains {word}"))


@FEW
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    kind=st.sampled_from(["clf", "reg"]),
)
def test_X_that_is_not_a_nonempty_matrix_is_refused(shape, kind):
    if len(shape) == 2 and min(shape) > 0:
        shape = (*shape, 1)  # this test is about the other shapes
    X = np.ones(shape)
    n = shape[0] if shape else 0
    y = (np.arange(n) % 2) if kind == "clf" else np.zeros(n)
    if len(shape) == 1:
        message = "Expected 2D array, got 1D array"
    elif len(shape) > 2:
        message = f"dim {len(shape)}, while dim <= 2 is required"
    elif shape[0] == 0:
        message = "0 sample"
    else:
        message = "0 feature"
    fit_outcome(_make(kind), X, y, refuse=(ValueError, message))


@FEW
@given(
    dtype=st.sampled_from(
        [np.float16, np.float32, np.int8, np.int64, np.uint16, np.bool_]
    ),
    kind=st.sampled_from(["clf", "reg"]),
    data=st.data(),
)
def test_numeric_dtypes_fit(dtype, kind, data):
    elements = st.floats(-1e3, 1e3, width=16) if np.dtype(dtype).kind == "f" else None
    X = data.draw(hnp.arrays(dtype, (N, P), elements=elements))
    out = fit_outcome(_make(kind), X, Y_CLF if kind == "clf" else Y_REG)
    _finite_predictions(out, X)


@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_object_and_numeric_string_X_are_converted(kind):
    y = Y_CLF if kind == "clf" else Y_REG
    for X in (X_OK.astype(object), X_OK.astype(str)):
        out = fit_outcome(_make(kind), X, y)
        _finite_predictions(out, X_OK)


@FEW
@given(
    words=hnp.arrays(
        np.dtype("U3"), (N, P), elements=st.text("abcxyz", min_size=1, max_size=3)
    ),
    kind=st.sampled_from(["clf", "reg"]),
)
def test_non_numeric_string_X_is_refused(words, kind):
    y = Y_CLF if kind == "clf" else Y_REG
    fit_outcome(
        _make(kind), words, y, refuse=(ValueError, "could not convert string to float")
    )
    fit_outcome(
        _make(kind),
        words.astype(object),
        y,
        refuse=(ValueError, "could not convert string to float"),
    )


@FEW
@given(
    X=hnp.arrays(np.complex128, (N, P), elements=st.complex_numbers(max_magnitude=10)),
    kind=st.sampled_from(["clf", "reg"]),
)
def test_complex_X_is_refused(X, kind):
    y = Y_CLF if kind == "clf" else Y_REG
    fit_outcome(_make(kind), X, y, refuse=(ValueError, "Complex data not supported"))


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil"])
@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_sparse_X_of_any_format_fits_as_its_dense_copy(fmt, kind):
    X = sp.random(N, P, density=0.5, format=fmt, random_state=0)
    y = Y_CLF if kind == "clf" else Y_REG
    fitted = fit_outcome(_make(kind), X, y)
    dense = _make(kind).fit(X.toarray(), y)
    np.testing.assert_allclose(fitted.predict(X), dense.predict(X.toarray()), rtol=1e-6)


def test_dataframe_with_a_text_column_is_refused():
    X = pd.DataFrame({"a": X_OK[:, 0], "b": ["x"] * N})
    fit_outcome(
        _make("clf"), X, Y_CLF, refuse=(ValueError, "could not convert string to float")
    )


# -- y -------------------------------------------------------------------------


@FEW
@given(
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    where=st.integers(0, N - 1),
    kind=st.sampled_from(["clf", "reg"]),
)
def test_y_with_nan_or_infinity_is_refused(bad, where, kind):
    y = (Y_CLF if kind == "clf" else Y_REG).astype(float)
    y[where] = bad
    word = "NaN" if np.isnan(bad) else "infinity"
    fit_outcome(_make(kind), X_OK, y, refuse=(ValueError, f"Input y contains {word}"))


@FEW
@given(
    label=st.one_of(st.integers(-5, 5), st.text(min_size=1, max_size=3), st.booleans())
)
def test_classifier_with_one_class_is_refused(label):
    y = np.array([label] * N)
    fit_outcome(_make("clf"), X_OK, y, refuse=(ValueError, "only one class"))


@FEW
@given(y=hnp.arrays(np.float64, (N,), elements=st.floats(-1e3, 1e3), unique=True))
def test_classifier_with_continuous_y_is_refused(y):
    if np.all(y == np.round(y)):
        y = y + 0.5
    fit_outcome(_make("clf"), X_OK, y, refuse=(ValueError, "Unknown label type"))


@FEW
@given(
    y=hnp.arrays(
        np.float64, (N,), elements=st.floats(allow_nan=False, allow_infinity=False)
    )
)
def test_regressor_y_fits_if_it_fits_float32_else_is_refused(y):
    too_large = np.max(np.abs(y)) > F32_MAX
    out = fit_outcome(
        _make("reg"),
        X_OK,
        y,
        refuse=(ValueError, "y contains values too large for float32")
        if too_large
        else None,
    )
    if not too_large:
        assert np.all(np.isfinite(out.predict(X_OK)))


def test_regressor_with_text_y_is_refused():
    fit_outcome(
        _make("reg"),
        X_OK,
        np.array(["a", "b"] * (N // 2)),
        refuse=(ValueError, "numeric targets"),
    )


@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_complex_y_is_refused(kind):
    fit_outcome(
        _make(kind),
        X_OK,
        Y_CLF.astype(complex),
        refuse=(ValueError, "Complex data not supported"),
    )


@FEW
@given(
    n_y=st.integers(1, 2 * N).filter(lambda n: n != N),
    kind=st.sampled_from(["clf", "reg"]),
)
def test_X_and_y_of_different_lengths_are_refused(n_y, kind):
    y = (np.arange(n_y) % 2) if kind == "clf" else np.zeros(n_y)
    fit_outcome(
        _make(kind), X_OK, y, refuse=(ValueError, "inconsistent numbers of samples")
    )


@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_missing_y_is_refused(kind):
    fit_outcome(_make(kind), X_OK, None, refuse=(ValueError, "requires y"))


# -- sample_weight ------------------------------------------------------------


@FEW
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=2 * N).filter(
        lambda s: s != (N,)
    ),
    kind=st.sampled_from(["clf", "reg"]),
)
def test_sample_weight_of_the_wrong_shape_is_refused(shape, kind):
    y = Y_CLF if kind == "clf" else Y_REG
    fit_outcome(
        _make(kind),
        X_OK,
        y,
        np.ones(shape),
        refuse=(ValueError, r"sample_weight.shape == .*expected \(8,\)"),
    )


@FEW
@given(
    w=hnp.arrays(np.float64, (N,), elements=st.floats(0, 1e6)),
    kind=st.sampled_from(["clf", "reg"]),
)
def test_nonnegative_sample_weight_fits_unless_all_zero(w, kind):
    y = Y_CLF if kind == "clf" else Y_REG
    zero = not np.any(w.astype(np.float32) > 0)  # tiny weights round to 0
    out = fit_outcome(
        _make(kind),
        X_OK,
        y,
        w,
        refuse=(ValueError, "at least one non-zero") if zero else None,
    )
    if not zero:
        _finite_predictions(out, X_OK)


@FEW
@given(
    bad=st.sampled_from([np.nan, np.inf, -1.0, -1e-9]),
    where=st.integers(0, N - 1),
    kind=st.sampled_from(["clf", "reg"]),
)
def test_sample_weight_with_nan_inf_or_negatives_is_refused(bad, where, kind):
    w = np.ones(N)
    w[where] = bad
    message = "NaN or infinity" if not np.isfinite(bad) else "Negative values"
    fit_outcome(
        _make(kind),
        X_OK,
        Y_CLF if kind == "clf" else Y_REG,
        w,
        refuse=(ValueError, message),
    )


def test_text_sample_weight_is_refused():
    fit_outcome(
        _make("clf"),
        X_OK,
        Y_CLF,
        np.array(["a"] * N),
        refuse=(TypeError, "sample_weight must be an array of numbers"),
    )


def test_complex_sample_weight_is_refused():
    fit_outcome(
        _make("clf"),
        X_OK,
        Y_CLF,
        np.ones(N, dtype=complex),
        refuse=(ValueError, "Complex data not supported"),
    )


def test_sample_weight_too_large_for_float32_is_refused():
    fit_outcome(
        _make("clf"),
        X_OK,
        Y_CLF,
        np.full(N, 1e39),
        refuse=(ValueError, "sample_weight contains values too large"),
    )


# -- predict ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_pair():
    return {"clf": _make("clf").fit(X_OK, Y_CLF), "reg": _make("reg").fit(X_OK, Y_REG)}


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize(
    "X, error, message",
    [
        (np.ones((3, P + 1)), ValueError, "X has 3 features, but .* expecting 2"),
        (np.ones(P), ValueError, "Expected 2D array"),
        (np.ones((3, P, 1)), ValueError, "dim 3"),
        (np.full((3, P), np.nan), ValueError, "Input X contains NaN"),
        (np.full((3, P), 1e39), ValueError, "too large for float32"),
        (np.full((3, P), "a"), ValueError, "could not convert string to float"),
        (np.ones((3, P), dtype=complex), ValueError, "Complex data not supported"),
        (np.ones((0, P)), ValueError, "0 sample"),
    ],
)
def test_hostile_X_at_predict_is_refused(fitted_pair, kind, X, error, message):
    before = X.copy()
    with pytest.raises(error, match=message) as info:
        fitted_pair[kind].predict(X)
    assert not _raised_in_engine(info.value)
    assert np.array_equal(X, before, equal_nan=X.dtype.kind in "fc")


# -- diverging training ----------------------------------------------------------
# The engine checks the loss and the weights at the end of every epoch; on a
# non-finite value it stops, keeps the weights of the last finite epoch and the
# estimator warns with scikit-learn's ConvergenceWarning.

X_DIV = np.random.default_rng(0).normal(size=(40, 3))
Y_DIV = {"clf": (X_DIV[:, 0] > 0).astype(int), "reg": X_DIV @ np.array([1.0, 2.0, 3.0])}


def _div_make(kind, **params):
    cls = NoisyMLPClassifier if kind == "clf" else NoisyMLPRegressor
    return cls(hidden_layer_sizes=(8,), random_state=0, **params)


@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_learning_rate_that_explodes_at_once_warns_and_keeps_initial_weights(kind):
    est = _div_make(kind, learning_rate=1e30, epochs=20)
    with pytest.warns(
        ConvergenceWarning, match="diverged .*after epoch 0, the last known"
    ):
        est.fit(X_DIV, Y_DIV[kind])
    assert est.n_iter_ == 0 and est.loss_curve_ == []
    # The kept weights are the initial ones: those of a fit that barely moves.
    still = _div_make(kind, learning_rate=1e-30, epochs=1).fit(X_DIV, Y_DIV[kind])
    np.testing.assert_allclose(_raw(est), _raw(still), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_divergence_after_some_epochs_keeps_the_last_finite_epoch(kind):
    lr = 1e4 if kind == "clf" else 0.5
    est = _div_make(kind, optimizer="sgd", learning_rate=lr, epochs=50)
    with pytest.warns(ConvergenceWarning, match="diverged") as record:
        est.fit(X_DIV, Y_DIV[kind])
    assert 0 < est.n_iter_ < 50
    assert f"after epoch {est.n_iter_}," in str(record[0].message)
    assert len(est.loss_curve_) == est.n_iter_
    assert np.all(np.isfinite(est.loss_curve_))
    assert np.all(np.isfinite(_flat_weights(est)))
    # Same seed, stopped by hand at the last finite epoch: same weights.
    short = _div_make(
        kind, optimizer="sgd", learning_rate=lr, epochs=est.n_iter_, tol=None
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        short.fit(X_DIV, Y_DIV[kind])
    np.testing.assert_allclose(_flat_weights(est), _flat_weights(short), rtol=1e-5)


@pytest.mark.parametrize("lr, scale", [(0.2, 100.0), (0.5, 1.0)])
def test_divergence_never_leaves_non_finite_predictions(lr, scale):
    # Finite weights can still overflow float32 in the outputs; the weights
    # of the last epoch before those must be the ones kept.
    est = _div_make("reg", optimizer="sgd", learning_rate=lr, epochs=50)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est.fit(X_DIV, scale * Y_DIV["reg"])
    assert np.all(np.isfinite(est.predict(X_DIV)))


def _raw(est):
    return (
        est.predict_proba(X_DIV)
        if hasattr(est, "predict_proba")
        else est.predict(X_DIV)
    )


def _flat_weights(est):
    return np.concatenate([w.ravel() for w in est.model_.get_weights()])
