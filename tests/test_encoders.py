"""skrobust.preprocessing: the MLP input encodings (piecewise-linear, periodic,
smooth clipping) as scikit-learn transformers, and make_tabular_preprocessor's
numeric_encoding."""

from __future__ import annotations

import doctest
import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skrobust import (
    InvalidParameterError,
    NoisyMLPClassifier,
    make_tabular_preprocessor,
)
from skrobust.preprocessing import (
    PeriodicEncoder,
    PiecewiseLinearEncoder,
    SmoothClipScaler,
    _periodic,
    _piecewise_linear,
    _smooth_clip,
)

ENCODERS = [PiecewiseLinearEncoder(), PeriodicEncoder(), SmoothClipScaler()]


@parametrize_with_checks(ENCODERS, xfail_strict=True)
def test_sklearn_compatible_encoder(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "module", [_piecewise_linear, _periodic, _smooth_clip], ids=lambda m: m.__name__
)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("encoder", ENCODERS, ids=lambda e: type(e).__name__)
def test_docstring_lists_every_parameter(encoder):
    doc = type(encoder).__doc__
    for name in inspect.signature(type(encoder)).parameters:
        assert f"\n    {name} : " in doc, name


# -- PiecewiseLinearEncoder ------------------------------------------------------


def test_ple_values_by_hand():
    # Edges at the 0, 1/2 and 1 quantiles of 0, 1, 2, 4: 0, 1 and 4.
    X = np.array([[0.0], [1.0], [2.0], [4.0]])
    ple = PiecewiseLinearEncoder(n_bins=2).fit(X)
    np.testing.assert_array_equal(ple.bin_edges_[0], [0.0, 1.0, 4.0])
    out = ple.transform([[0.0], [0.25], [1.0], [2.5], [4.0]])
    np.testing.assert_allclose(
        out, [[0.0, 0.0], [0.25, 0.0], [1.0, 0.0], [1.0, 0.5], [1.0, 1.0]]
    )


def test_ple_extrapolates_outside_the_training_range():
    ple = PiecewiseLinearEncoder(n_bins=2).fit([[0.0], [1.0], [2.0], [4.0]])
    np.testing.assert_allclose(
        ple.transform([[-2.0], [7.0]]), [[-2.0, 0.0], [1.0, 2.0]]
    )


def test_ple_ties_give_fewer_bins():
    X = np.array(
        [
            [0.0, 0.0, 5.0],
            [0.0, 1.0, 5.0],
            [0.0, 2.0, 5.0],
            [1.0, 2.0, 5.0],
        ]
    )
    ple = PiecewiseLinearEncoder(n_bins=8).fit(X)
    np.testing.assert_array_equal(ple.n_bins_, [1, 2, 1])
    out = ple.transform(X)
    # A 0/1 column encodes as itself, counts as a thermometer code, a
    # constant column as zeros.
    np.testing.assert_array_equal(
        out,
        [
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 1.0, 1.0, 0.0],
            [1.0, 1.0, 1.0, 0.0],
        ],
    )
    assert ple.transform([[0.5, 1.5, 9.0]])[0, -1] == 0.0


def test_ple_is_monotone():
    rng = np.random.RandomState(0)
    ple = PiecewiseLinearEncoder(n_bins=5).fit(rng.lognormal(size=(200, 1)))
    grid = np.linspace(-1, 20, 500)[:, None]
    out = ple.transform(grid)
    assert np.all(np.diff(out, axis=0) >= 0)
    assert np.all(np.diff(out.sum(axis=1)) > 0)


def test_ple_bins_hold_equal_shares_of_the_rows():
    X = np.arange(100.0)[:, None]
    ple = PiecewiseLinearEncoder(n_bins=4).fit(X)
    np.testing.assert_array_equal(ple.bin_edges_[0], [0.0, 24.0, 49.0, 74.0, 99.0])


def test_ple_subsample_is_reproducible():
    X = np.random.RandomState(0).normal(size=(500, 2))

    def edges(seed):
        fitted = PiecewiseLinearEncoder(n_bins=4, subsample=50, random_state=seed)
        return np.concatenate(fitted.fit(X).bin_edges_)

    np.testing.assert_array_equal(edges(1), edges(1))
    assert not np.array_equal(edges(1), edges(2))
    # Without subsampling the seed is not used.
    full = [PiecewiseLinearEncoder(n_bins=4, random_state=s).fit(X) for s in (1, 2)]
    np.testing.assert_array_equal(*(np.concatenate(f.bin_edges_) for f in full))


def test_ple_feature_names_per_bin():
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "flag": [0, 1, 0, 1]})
    ple = PiecewiseLinearEncoder(n_bins=2).fit(X)
    assert list(ple.get_feature_names_out()) == ["a_bin0", "a_bin1", "flag_bin0"]
    assert ple.transform(X).shape == (4, 3)


# -- PeriodicEncoder -------------------------------------------------------------


def test_periodic_values_by_hand():
    enc = PeriodicEncoder(n_frequencies=2, random_state=0).fit([[0.0, 0.0]])
    enc.frequencies_ = np.array([[1.0, 0.25], [0.5, 2.0]])
    out = enc.transform([[0.25, 1.0]])
    # x0 = 1/4 at 1 and 1/4 cycles per unit; x1 = 1 at 1/2 and 2.
    np.testing.assert_allclose(
        out[0],
        [
            1.0,
            np.sin(np.pi / 8),
            0.0,
            np.cos(np.pi / 8),
            0.0,
            0.0,
            -1.0,
            1.0,
        ],
        atol=1e-12,
    )


def test_periodic_frequencies_follow_random_state_and_sigma():
    X = np.zeros((3, 4))
    a = PeriodicEncoder(n_frequencies=500, sigma=0.1, random_state=3).fit(X)
    b = PeriodicEncoder(n_frequencies=500, sigma=0.1, random_state=3).fit(X)
    c = PeriodicEncoder(n_frequencies=500, sigma=0.1, random_state=4).fit(X)
    np.testing.assert_array_equal(a.frequencies_, b.frequencies_)
    assert not np.array_equal(a.frequencies_, c.frequencies_)
    assert a.frequencies_.shape == (4, 500)
    assert abs(a.frequencies_.std() - 0.1) < 0.01


def test_periodic_shape_and_names():
    X = pd.DataFrame({"t": [0.0, 1.0], "u": [2.0, 3.0]})
    enc = PeriodicEncoder(n_frequencies=3, random_state=0).fit(X)
    names = list(enc.get_feature_names_out())
    assert names[:6] == ["t_sin0", "t_sin1", "t_sin2", "t_cos0", "t_cos1", "t_cos2"]
    assert names[6] == "u_sin0"
    assert enc.transform(X).shape == (2, 12)


# -- SmoothClipScaler ------------------------------------------------------------


def test_smooth_clip_values_by_hand():
    X = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
    scaler = SmoothClipScaler().fit(X)
    np.testing.assert_array_equal(scaler.center_, [3.0])
    np.testing.assert_array_equal(scaler.scale_, [2.0])  # 4 - 2
    out = scaler.transform([[3.0], [5.0], [-3.0]])
    # z = 0, 1, -3: z / sqrt(1 + z^2 / 9).
    np.testing.assert_allclose(out[:, 0], [0.0, 1 / np.sqrt(10 / 9), -3 / np.sqrt(2)])


def test_smooth_clip_zero_quantile_range_uses_half_the_range():
    # Mostly zeros: quartiles 0 and 0, so the scale is (10 - 0) / 2.
    X = np.array([[0.0, 7.0]] * 7 + [[10.0, 7.0]])
    scaler = SmoothClipScaler().fit(X)
    np.testing.assert_array_equal(scaler.center_, [0.0, 7.0])
    np.testing.assert_array_equal(scaler.scale_, [5.0, np.inf])
    out = scaler.transform([[10.0, 100.0]])
    np.testing.assert_allclose(out, [[2 / np.sqrt(1 + 4 / 9), 0.0]])


def test_smooth_clip_is_bounded_and_monotone():
    scaler = SmoothClipScaler(max_absolute_value=2.0).fit(np.arange(10.0)[:, None])
    grid = np.linspace(-1e6, 1e6, 1001)[:, None]
    out = scaler.transform(grid)
    assert np.all(np.abs(out) < 2.0)
    assert np.all(np.diff(out[:, 0]) > 0)


def test_smooth_clip_huge_values_reach_the_bound_in_float32():
    scaler = SmoothClipScaler().fit(np.array([[0.0], [1e-3], [2e-3]], np.float32))
    out = scaler.transform(np.array([[3e38], [-3e38], [1e30]], np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0], [3.0, -3.0, 3.0])


def test_smooth_clip_ignores_and_keeps_nan():
    X = np.array([[1.0, np.nan], [np.nan, np.nan], [3.0, np.nan], [5.0, np.nan]])
    scaler = SmoothClipScaler().fit(X)
    np.testing.assert_array_equal(scaler.center_, [3.0, 0.0])
    out = scaler.transform(X)
    assert np.isnan(out[1, 0]) and np.isnan(out[:, 1]).all()
    assert np.isfinite(out[[0, 2, 3], 0]).all()


# -- all three -------------------------------------------------------------------


@pytest.mark.parametrize("encoder", [PiecewiseLinearEncoder(), PeriodicEncoder()])
def test_encoders_refuse_nan(encoder):
    with pytest.raises(ValueError, match="Input X contains NaN"):
        encoder.fit([[1.0], [np.nan]])


@pytest.mark.parametrize("encoder", ENCODERS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_is_not_modified_and_dtype_is_kept(encoder, dtype):
    X = np.random.RandomState(0).normal(size=(40, 3)).astype(dtype)
    before = X.copy()
    out = encoder.fit(X).transform(X)
    np.testing.assert_array_equal(X, before)
    assert out.dtype == dtype
    frame = pd.DataFrame(before, columns=["a", "b", "c"])
    encoder.fit(frame).transform(frame)
    np.testing.assert_array_equal(frame.to_numpy(), before)


@pytest.mark.parametrize("encoder", ENCODERS, ids=lambda e: type(e).__name__)
def test_pandas_output_has_the_feature_names(encoder):
    X = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) ** 2})
    out = encoder.set_output(transform="pandas").fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(encoder.get_feature_names_out())
    assert out.columns[0].startswith("a")


@pytest.mark.parametrize(
    "encoder, message",
    [
        (PiecewiseLinearEncoder(n_bins=0), "'n_bins' parameter"),
        (PiecewiseLinearEncoder(subsample=0), "'subsample' parameter"),
        (PeriodicEncoder(sigma=0.0), "'sigma' parameter"),
        (PeriodicEncoder(random_state="seed"), "'random_state' parameter"),
        (SmoothClipScaler(quantile_range=(75, 25)), "'quantile_range' parameter"),
        (SmoothClipScaler(max_absolute_value=-1), "'max_absolute_value' parameter"),
    ],
)
def test_bad_parameters_are_refused_at_fit(encoder, message):
    with pytest.raises(InvalidParameterError, match=message):
        encoder.fit([[0.0], [1.0]])


# -- make_tabular_preprocessor ---------------------------------------------------


@pytest.fixture
def table():
    rng = np.random.RandomState(0)
    n = 60
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": np.where(np.arange(n) % 10 == 0, np.nan, x),
            "count": rng.poisson(2.0, size=n).astype(float),
            "city": rng.choice(["a", "b", "c"], size=n),
        }
    ), (x > 0).astype(int)


@pytest.mark.parametrize(
    "encoding, step",
    [
        ("standard", StandardScaler),
        ("smooth_clip", SmoothClipScaler),
        ("piecewise_linear", PiecewiseLinearEncoder),
        ("periodic", Pipeline),
    ],
)
def test_numeric_encoding_names_the_encode_step(table, encoding, step):
    X, _ = table
    pre = make_tabular_preprocessor(X, numeric_encoding=encoding)
    assert isinstance(pre.get_params()["numeric__encode"], step)
    out = pre.fit_transform(X)
    assert out.shape[0] == len(X)
    assert np.all(np.isfinite(out.toarray() if hasattr(out, "toarray") else out))


def test_numeric_encoding_default_is_unchanged(table):
    X, _ = table
    out = make_tabular_preprocessor(X).fit(X)
    names = list(out.get_feature_names_out())
    assert names[:3] == ["numeric__x", "numeric__count", "numeric__missingindicator_x"]


def test_numeric_encoding_piecewise_linear_widens_the_numbers(table):
    X, _ = table
    pre = make_tabular_preprocessor(X, numeric_encoding="piecewise_linear").fit(X)
    names = list(pre.get_feature_names_out())
    assert 6 <= sum(n.startswith("numeric__x_bin") for n in names) <= 8
    # The missing indicator is one 0/1 bin: it encodes as itself.
    assert "numeric__missingindicator_x_bin0" in names
    assert "numeric__missingindicator_x_bin1" not in names


def test_numeric_encoding_takes_a_transformer_and_clones_it(table):
    X, _ = table
    mine = PiecewiseLinearEncoder(n_bins=3)
    pre = make_tabular_preprocessor(X, numeric_encoding=mine).fit(X)
    encode = pre.named_transformers_["numeric"].named_steps["encode"]
    assert encode.get_params() == mine.get_params()
    assert encode is not mine and not hasattr(mine, "bin_edges_")


def test_numeric_encoding_unknown_name_is_refused(table):
    X, _ = table
    with pytest.raises(ValueError, match="numeric_encoding must be one of"):
        make_tabular_preprocessor(X, numeric_encoding="ple")


def test_a_search_swaps_the_numeric_encoding(table):
    X, y = table
    pipe = make_pipeline(make_tabular_preprocessor(X), LogisticRegression())
    grid = {
        "columntransformer__numeric__encode": [
            StandardScaler(),
            SmoothClipScaler(),
            PiecewiseLinearEncoder(n_bins=4),
        ]
    }
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["mean_test_score"]) == 3
    search = GridSearchCV(
        make_pipeline(
            make_tabular_preprocessor(X, numeric_encoding="piecewise_linear"),
            LogisticRegression(),
        ),
        {"columntransformer__numeric__encode__n_bins": [2, 8]},
        cv=2,
    ).fit(X, y)
    assert search.best_params_["columntransformer__numeric__encode__n_bins"] in (2, 8)


def test_pipeline_with_noisy_mlp(table):
    X, y = table
    model = make_pipeline(
        make_tabular_preprocessor(X, numeric_encoding="piecewise_linear"),
        NoisyMLPClassifier(hidden_layer_sizes=(4,), epochs=3, random_state=0),
    ).fit(X, y)
    assert model.predict_proba(X.head(5)).shape == (5, 2)
    n_inputs = model[0].transform(X.head(1)).shape[1]
    assert model[-1].n_features_in_ == n_inputs
