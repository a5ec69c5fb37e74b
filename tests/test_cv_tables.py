"""NoisyMLPClassifierCV and NoisyMLPRegressorCV on raw tables: the
``preprocessing`` parameter, the search over the numeric encoding, and what
a fit on a table gives (predictions from the raw table, no leakage into the
folds, the user's names in the results, a clear refusal to save)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.model_selection import ParameterGrid, StratifiedKFold
from sklearn.pipeline import Pipeline

import skrobust._cv
import skrobust._preprocessing
from skrobust import (
    InvalidParameterError,
    NoisyMLPClassifier,
    NoisyMLPClassifierCV,
    NoisyMLPRegressorCV,
)
from skrobust._cv_tables import is_raw_table
from skrobust._preprocessing import numeric_encoder
from skrobust.model_selection import BatchedGridSearchCV

TINY = dict(hidden_layer_sizes=(4,), epochs=3, random_state=0)
GRID = {"alpha": [0.0, 1.0], "numeric_encoding": ["standard", "piecewise_linear"]}


def _table(n=60, seed=0):
    """Numbers with gaps, text with gaps, a category and a boolean; a label
    that depends on ``x`` and ``city``, and a number for regression."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    city = rng.choice(["Paris", "Lyon", "Nice"], size=n).astype(object)
    frame = pd.DataFrame(
        {
            "x": x,
            "count": rng.integers(0, 5, size=n),
            "city": city,
            "kind": pd.Categorical(rng.choice(["a", "b"], size=n)),
            "member": rng.random(n) < 0.5,
        }
    )
    frame.loc[rng.random(n) < 0.15, "x"] = np.nan
    frame.loc[rng.random(n) < 0.1, "city"] = None
    label = np.where((x > 0) ^ (city == "Paris"), "yes", "no")
    target = 2.0 * x + (city == "Lyon") + 0.1 * rng.normal(size=n)
    return frame, label, target


@pytest.fixture(scope="module")
def table():
    return _table()


@pytest.fixture(scope="module")
def fitted(table):
    """A classifier fitted on the raw table, searching the encoding."""
    frame, label, _ = table
    return NoisyMLPClassifierCV(**TINY, param_grid=GRID, cv=2).fit(frame, label)


def _encode_step(pipeline):
    return pipeline.named_steps["preprocessor"].named_transformers_["numeric"][-1]


# -- fit and predict on the raw table ------------------------------------------
def test_a_raw_table_fits_and_predicts_through_the_refit_pipeline(table, fitted):
    frame, label, _ = table
    best = fitted.best_estimator_
    assert isinstance(best, Pipeline)
    assert [name for name, _ in best.steps] == ["preprocessor", "mlp"]
    assert isinstance(best[-1], NoisyMLPClassifier)
    assert fitted.batch_info_["n_fallback"] == 0
    # Predictions take the raw table and are the refit pipeline's.
    np.testing.assert_array_equal(fitted.predict(frame), best.predict(frame))
    np.testing.assert_array_equal(
        fitted.predict_proba(frame), best.predict_proba(frame)
    )
    assert fitted.score(frame, label) == best.score(frame, label)
    np.testing.assert_array_equal(
        fitted.predict_members(frame),
        best[-1].predict_members(best[:-1].transform(frame)),
    )
    np.testing.assert_array_equal(fitted.classes_, ["no", "yes"])
    # The input is the raw table's; the network's attributes are the network's.
    assert fitted.n_features_in_ == 5
    assert list(fitted.feature_names_in_) == list(frame.columns)
    assert fitted.loss_curve_ == best[-1].loss_curve_
    assert fitted.n_iter_ == best[-1].n_iter_
    for mine, its in zip(fitted.coefs_, best[-1].coefs_, strict=True):
        np.testing.assert_array_equal(mine, its)
    with pytest.raises(ValueError, match="feature names"):
        fitted.predict(frame[["member", "kind", "city", "count", "x"]])
    with pytest.raises(ValueError, match="feature names"):
        fitted.predict(frame.rename(columns={"x": "y"}))


def test_the_callers_table_is_not_modified(table, fitted):
    # ``fitted`` searched, refitted and predicted on ``table``'s frame.
    pd.testing.assert_frame_equal(table[0], _table()[0])


def test_the_regressor_takes_a_raw_table_and_its_sample_weight(table):
    frame, _, target = table
    weights = np.linspace(0.5, 2.0, len(frame))
    reg = NoisyMLPRegressorCV(**TINY, param_grid={"alpha": [0.0, 1.0]}, cv=2)
    reg.fit(frame, target, sample_weight=weights)
    # The weights reach the networks of the batched runs and of the refit.
    assert reg.batch_info_["n_fallback"] == 0
    plain = clone(reg.best_estimator_).fit(frame, target, mlp__sample_weight=weights)
    np.testing.assert_array_equal(reg.predict(frame), plain.predict(frame))


# -- the encoding search --------------------------------------------------------
def test_the_encoding_is_searched_and_reported_under_the_users_names(fitted):
    results = fitted.cv_results_
    assert results["params"] == list(ParameterGrid(GRID))
    assert sorted(k for k in results if k.startswith("param_")) == [
        "param_alpha",
        "param_numeric_encoding",
    ]
    assert list(results["param_numeric_encoding"]) == [
        p["numeric_encoding"] for p in results["params"]
    ]
    assert fitted.best_params_ == results["params"][fitted.best_index_]
    # The refit pipeline encodes the numbers as the chosen candidate says.
    chosen = numeric_encoder(fitted.best_params_["numeric_encoding"])
    assert type(_encode_step(fitted.best_estimator_)) is type(chosen)
    assert fitted.best_estimator_[-1].alpha == fitted.best_params_["alpha"]


def test_the_simplest_rule_counts_a_changed_encoding_as_one_change(table, monkeypatch):
    frame, label, _ = table
    seen = []
    rule = skrobust._cv.simplest_within_noise

    def spy(cv_results, fixed, ratio):
        seen.append((list(cv_results["params"]), dict(fixed)))
        return rule(cv_results, fixed, ratio)

    monkeypatch.setattr(skrobust._cv, "simplest_within_noise", spy)
    grid = {"numeric_encoding": ["smooth_clip", "standard"]}
    clf = NoisyMLPClassifierCV(**TINY, param_grid=grid, cv=2).fit(frame, label)
    [(params, fixed)] = seen
    # The rule sees the user's names, and "standard" as the fixed value.
    assert params == clf.cv_results_["params"] == list(ParameterGrid(grid))
    assert fixed["numeric_encoding"] == "standard"


def test_the_preprocessor_is_fitted_on_each_folds_training_rows_only(
    table, monkeypatch
):
    frame, label, _ = table
    fitted_on = []

    class Recorder(TransformerMixin, BaseEstimator):
        """Passes the table on; records the rows of every fit."""

        def fit(self, X, y=None):
            fitted_on.append(frozenset(X.index))
            return self

        def transform(self, X):
            return X

    make = skrobust._preprocessing.make_tabular_preprocessor

    def recording(X, **kwargs):
        return Pipeline([("record", Recorder()), ("encode", make(X, **kwargs))])

    monkeypatch.setattr(skrobust._preprocessing, "make_tabular_preprocessor", recording)
    grid = {"alpha": [0.0, 1.0]}
    NoisyMLPClassifierCV(**TINY, param_grid=grid, cv=2).fit(frame, label)
    folds = [frozenset(train) for train, _ in StratifiedKFold(2).split(frame, label)]
    # Once per fold on its training rows (the candidates share it), then
    # once on every row for the refit.
    assert sorted(fitted_on, key=sorted) == sorted(
        [*folds, frozenset(frame.index)], key=sorted
    )


# -- "auto" and numeric input ---------------------------------------------------
def test_auto_reads_the_dtypes_and_the_gaps():
    numbers = pd.DataFrame({"a": [1.0, 2.0], "b": [1, 2], "c": [True, False]})
    assert not is_raw_table(numbers)
    assert not is_raw_table(numbers.to_numpy(dtype=float))
    assert is_raw_table(numbers.assign(a=[1.0, np.nan]))
    assert is_raw_table(numbers.assign(b=pd.array([1, None], dtype="Int64")))
    assert is_raw_table(numbers.assign(d=["x", "y"]))
    assert is_raw_table(numbers.assign(d=pd.Categorical([1, 2])))


def test_auto_leaves_numeric_input_as_it_is():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.normal(size=60), "b": rng.normal(size=60), "c": rng.random(60) < 0.5}
    )
    y = (frame["a"] + frame["c"] > 0.5).to_numpy().astype(int)
    kw = dict(TINY, param_grid={"alpha": [0.0, 1.0]}, cv=2)
    as_is = NoisyMLPClassifierCV(**kw, preprocessing=None).fit(frame.to_numpy(float), y)
    for X in (frame, frame.to_numpy(float)):
        auto = NoisyMLPClassifierCV(**kw).fit(X, y)
        assert isinstance(auto.best_estimator_, NoisyMLPClassifier)
        np.testing.assert_array_equal(
            auto.cv_results_["mean_test_score"], as_is.cv_results_["mean_test_score"]
        )
        np.testing.assert_array_equal(
            auto.predict_proba(X), as_is.predict_proba(frame.to_numpy(float))
        )


# -- errors before anything trains ----------------------------------------------
@pytest.mark.parametrize(
    "kind, params, error, message",
    [
        ("numbers", {"param_grid": {"numeric_encoding": ["standard"]}},
         InvalidParameterError, "only when it encodes a raw table"),
        ("table", {"param_grid": {"numeric_encoding": ["quantile"]}},
         InvalidParameterError, "holds 'quantile'; the encodings are"),
        ("table", {"param_grid": {"numeric_encoding": "standard"}},
         InvalidParameterError, "must be a non-empty list of encoding names"),
        ("table", {"param_grid": {"numeric_encoding": []}},
         InvalidParameterError, "must be a non-empty list of encoding names"),
        ("table", {"param_grid": [{"alpha": [0.0]}, {"n_units": [1]}]},
         ValueError, "'n_units', which is not a parameter"),
        ("text", {"param_grid": {"numeric_encoding": ["standard"]}},
         InvalidParameterError, "X has no numeric column"),
        ("table", {"preprocessing": "yes"},
         InvalidParameterError, "'preprocessing' parameter of NoisyMLPClassifierCV"),
        ("numbers", {"preprocessing": "tabular"},
         TypeError, "needs X as a pandas DataFrame"),
    ],
)  # fmt: skip
def test_bad_settings_raise_before_anything_trains(
    table, monkeypatch, kind, params, error, message
):
    def trains(self, *args, **kwargs):
        raise AssertionError("the search started")

    monkeypatch.setattr(BatchedGridSearchCV, "fit", trains)
    frame, label, _ = table
    X = {
        "table": frame,
        "numbers": np.zeros((len(frame), 2)),
        "text": frame[["city", "kind"]],
    }[kind]
    clf = NoisyMLPClassifierCV(**TINY, cv=2, **params)
    with pytest.raises(error, match=message):
        clf.fit(X, label)
    assert not [k for k in vars(clf) if k.endswith("_")]


# -- reproducibility and persistence --------------------------------------------
def test_an_integer_random_state_gives_identical_fits_on_a_table(table):
    frame, label, _ = table
    grid = {"numeric_encoding": ["periodic", "smooth_clip"], "noise_std": [0.0, 0.3]}
    a = NoisyMLPClassifierCV(**TINY, param_grid=grid, cv=2).fit(frame, label)
    b = NoisyMLPClassifierCV(**TINY, param_grid=grid, cv=2).fit(frame, label)
    np.testing.assert_array_equal(
        a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(a.predict_proba(frame), b.predict_proba(frame))


def test_save_refuses_a_fit_on_a_table_and_pickle_keeps_it(table, fitted, tmp_path):
    from skrobust import save

    frame, _, _ = table
    path = tmp_path / "cv.skrobust"
    with pytest.raises(TypeError, match="encoded a raw table.*pickle or joblib"):
        save(fitted, path)
    assert not path.exists()
    back = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        back.predict_proba(frame), fitted.predict_proba(frame)
    )
