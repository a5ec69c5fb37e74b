"""Specification of real tabular input: scipy sparse X (the output of
scikit-learn's encoders) in fits, predictions, the batched search and real
pipelines; :func:`skrobust.make_tabular_preprocessor`; and CSV files with
categories and gaps in ``skrobust demo --data``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_predict,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import skrobust._inputs
from skrobust import NoisyMLPClassifier, NoisyMLPRegressor, make_tabular_preprocessor
from skrobust._cli import main
from skrobust._cli.csv_input import _infer_task
from skrobust.model_selection import BatchedGridSearchCV, batched_cross_validate

FAST = dict(hidden_layer_sizes=(8,), epochs=5, random_state=0)


@pytest.fixture(scope="module")
def sparse_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    X[rng.random(X.shape) < 0.6] = 0.0
    y_clf = (X[:, 0] + X[:, 1] > 0).astype(int)
    y_reg = X @ np.arange(1.0, 7.0)
    return X, y_clf, y_reg


@pytest.fixture(scope="module")
def zip_table():
    """The issue's table: 2,000 rows, a 300-value ``zip``, a 5-value
    ``state`` and a number; the label depends on ``state`` and ``x``."""
    rng = np.random.default_rng(1)
    n = 2000
    state = rng.choice(list("ABCDE"), size=n)
    frame = pd.DataFrame(
        {
            "zip": rng.integers(0, 300, size=n).astype(str),
            "state": state,
            "x": rng.normal(size=n),
        }
    )
    y = np.where(np.isin(state, ["A", "B"]) ^ (frame["x"] > 0.5), "yes", "no")
    return frame, y


def _zip_pipeline(model, categories="auto"):
    return make_pipeline(
        make_column_transformer(
            (
                OneHotEncoder(categories=categories, handle_unknown="ignore"),
                ["zip", "state"],
            ),
            (StandardScaler(), ["x"]),
        ),
        model,
    )


# -- sparse X in the estimators ------------------------------------------------


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("Model", [NoisyMLPClassifier, NoisyMLPRegressor])
def test_sparse_X_fits_and_predicts_as_its_dense_copy(sparse_data, fmt, Model):
    X, y_clf, y_reg = sparse_data
    y = y_clf if Model is NoisyMLPClassifier else y_reg
    Xs = sp.csr_matrix(X).asformat(fmt)
    dense = Model(**FAST).fit(X, y)
    sparse = Model(**FAST).fit(Xs, y)
    assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-6)
    assert_allclose(sparse.predict(Xs), dense.predict(X), rtol=1e-6)
    if Model is NoisyMLPClassifier:
        assert_allclose(sparse.predict_proba(Xs), dense.predict_proba(X), rtol=1e-6)


def test_sparse_X_of_the_caller_is_not_modified(sparse_data):
    X, y, _ = sparse_data
    Xs = sp.csr_matrix(X)
    before = (Xs.data.copy(), Xs.indices.copy(), Xs.indptr.copy(), Xs.dtype)
    model = NoisyMLPClassifier(noise_std=0.5, noise_position="input", **FAST)
    model.fit(Xs, y).predict_proba(Xs)
    assert sp.isspmatrix_csr(Xs) and Xs.dtype == before[3]
    assert_array_equal(Xs.data, before[0])
    assert_array_equal(Xs.indices, before[1])
    assert_array_equal(Xs.indptr, before[2])


def test_sparse_X_with_nan_is_refused_like_dense(sparse_data):
    X, y, _ = sparse_data
    Xs = sp.csr_matrix(X)
    Xs.data[0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        NoisyMLPClassifier(**FAST).fit(Xs, y)


def test_sparse_X_beyond_the_budget_is_a_clear_error(sparse_data, monkeypatch):
    X, y, _ = sparse_data
    need = X.shape[0] * X.shape[1] * 4
    monkeypatch.setattr(skrobust._inputs, "SPARSE_DENSIFY_BUDGET", need - 1)
    with pytest.raises(ValueError, match=r"budget of .*GiB") as info:
        NoisyMLPClassifier(**FAST).fit(sp.csr_matrix(X), y)
    assert "(80, 6)" in str(info.value)
    # The same data within the budget fits.
    monkeypatch.setattr(skrobust._inputs, "SPARSE_DENSIFY_BUDGET", need)
    NoisyMLPClassifier(**FAST).fit(sp.csr_matrix(X), y)


def test_sparse_predict_works_in_blocks_beyond_the_budget(sparse_data, monkeypatch):
    X, y, _ = sparse_data
    model = NoisyMLPClassifier(**FAST).fit(X, y)
    expected = model.predict_proba(X)
    # Room for 7 rows at a time: prediction densifies 12 blocks.
    monkeypatch.setattr(skrobust._inputs, "SPARSE_DENSIFY_BUDGET", 7 * X.shape[1] * 4)
    assert_allclose(model.predict_proba(sp.csr_matrix(X)), expected, rtol=1e-6)


def test_sparse_tag_is_set():
    assert NoisyMLPClassifier().__sklearn_tags__().input_tags.sparse
    assert NoisyMLPRegressor().__sklearn_tags__().input_tags.sparse


# -- real pipelines ------------------------------------------------------------


def test_one_hot_pipeline_with_300_zip_codes_fits_like_sklearns_mlp(zip_table):
    frame, y = zip_table
    encoded = _zip_pipeline(NoisyMLPClassifier())[:-1].fit_transform(frame)
    assert sp.issparse(encoded)  # the input this test is about
    X_tr, X_te, y_tr, y_te = train_test_split(frame, y, random_state=0, stratify=y)
    ours = _zip_pipeline(
        NoisyMLPClassifier(hidden_layer_sizes=(16,), epochs=20, random_state=0)
    ).fit(X_tr, y_tr)
    ref = _zip_pipeline(
        MLPClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    )
    with pytest.warns(Warning):  # scikit-learn's MLP: not converged
        ref.fit(X_tr, y_tr)
    majority = max(np.mean(y_te == "yes"), np.mean(y_te == "no"))
    ours_acc, ref_acc = ours.score(X_te, y_te), ref.score(X_te, y_te)
    # Both learn the state/x rule well beyond the majority class.
    assert ours_acc > majority + 0.15
    assert ours_acc > ref_acc - 0.1


def test_cross_val_predict_proba_through_a_sparse_pipeline(zip_table):
    frame, y = zip_table
    frame, y = frame.iloc[:600], y[:600]
    pipe = _zip_pipeline(NoisyMLPClassifier(**FAST))
    proba = cross_val_predict(pipe, frame, y, cv=3, method="predict_proba")
    assert proba.shape == (600, 2)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    # Out-of-fold probabilities rank the labels better than chance.
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y == "yes", proba[:, 1]) > 0.6


def test_pandas_output_upstream_keeps_feature_names():
    rng = np.random.default_rng(2)
    n = 120
    frame = pd.DataFrame(
        {
            "count": rng.integers(0, 10, size=n),
            "flag": rng.random(n) < 0.5,
            "value": rng.normal(size=n),
            "maybe": pd.array(
                np.where(rng.random(n) < 0.2, None, rng.integers(0, 5, size=n)),
                dtype="Int64",
            ),
            "yes_no": pd.array(
                np.where(rng.random(n) < 0.2, None, rng.random(n) < 0.5),
                dtype="boolean",
            ),
        }
    )
    y = (frame["value"] + frame["flag"] > 0.5).astype(int).to_numpy()
    pre = make_column_transformer(
        (StandardScaler(), ["count", "flag", "value"]),
        (SimpleImputer(strategy="median", add_indicator=True), ["maybe"]),
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ["yes_no"],
        ),
    ).set_output(transform="pandas")
    # OneHotEncoder refuses pandas.NA; the usual recipe casts to object first.
    frame["yes_no"] = frame["yes_no"].astype(object).where(frame["yes_no"].notna())
    pipe = make_pipeline(pre, NoisyMLPClassifier(**FAST)).fit(frame, y)
    model = pipe[-1]
    assert list(model.feature_names_in_) == list(pre.get_feature_names_out())
    assert "missingindicator_maybe" in "".join(model.feature_names_in_)
    assert pipe.predict(frame).shape == (n,)


def test_mixed_int_bool_float_columns_go_straight_into_the_estimator():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "i": rng.integers(0, 5, size=60),
            "b": rng.random(60) < 0.5,
            "f": rng.normal(size=60),
            "I": pd.array(rng.integers(0, 3, size=60), dtype="Int64"),
        }
    )
    y = rng.integers(0, 2, size=60)
    model = NoisyMLPClassifier(**FAST).fit(frame, y)
    same = NoisyMLPClassifier(**FAST).fit(frame.to_numpy(float), y)
    assert list(model.feature_names_in_) == ["i", "b", "f", "I"]
    assert_allclose(
        model.predict_proba(frame), same.predict_proba(frame.to_numpy(float))
    )


def test_nullable_gaps_are_refused_without_a_preprocessor():
    frame = pd.DataFrame(
        {"a": pd.array([1, None, 3, 4], dtype="Int64"), "b": [0.0, 1, 2, 3]}
    )
    with pytest.raises(ValueError, match="Input X contains NaN"):
        NoisyMLPClassifier(**FAST).fit(frame, [0, 1, 0, 1])


# -- the batched search ----------------------------------------------------------


def test_batched_search_on_sparse_X_equals_it_on_dense_X(sparse_data):
    X, y, _ = sparse_data
    grid = {"noise_std": [0.0, 0.3]}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    est = NoisyMLPClassifier(**FAST)
    dense = BatchedGridSearchCV(est, grid, cv=cv).fit(X, y)
    sparse = BatchedGridSearchCV(est, grid, cv=cv).fit(sp.coo_matrix(X), y)
    assert_allclose(
        sparse.cv_results_["mean_test_score"], dense.cv_results_["mean_test_score"]
    )
    assert sparse.batch_info_["n_batched"] == dense.batch_info_["n_batched"]
    assert sparse.batch_info_["n_batched"] == 6


def test_batched_search_through_a_sparse_pipeline_matches_grid_search(zip_table):
    frame, y = zip_table
    frame, y = frame.iloc[:300], y[:300]
    # The encoder is given every category, so that every fold's encoded
    # matrix (still sparse, 306 columns) has the same width and the three
    # searches compile 5 training programs instead of 9 (one per width and
    # noise setting; 84 s of the suite's run). Folds whose widths differ
    # (the batched search's grouping by network structure) stay covered by
    # test_cv_tables.py's search over the numeric encoding.
    categories = [[str(z) for z in range(300)], list("ABCDE")]
    pipe = _zip_pipeline(NoisyMLPClassifier(**FAST), categories)
    assert sp.issparse(pipe[:-1].fit_transform(frame))  # the input this is about
    grid = {"noisymlpclassifier__noise_std": [0.0, 0.3]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    ours = BatchedGridSearchCV(pipe, grid, cv=cv).fit(frame, y)
    ref = GridSearchCV(pipe, grid, cv=cv).fit(frame, y)
    # Fold by fold the same fits (this tiny network scores near chance, so a
    # loose tolerance would miss a member trained on another fold's rows).
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        assert_allclose(
            ours.cv_results_[key], ref.cv_results_[key], atol=1e-12, err_msg=key
        )
    out = batched_cross_validate(pipe, frame, y, cv=cv)
    assert np.all(np.isfinite(out["test_score"]))


# -- make_tabular_preprocessor ----------------------------------------------------


@pytest.fixture
def mixed_frame():
    return pd.DataFrame(
        {
            "age": [22.0, np.nan, 35.0, 58.0, 41.0, np.nan],
            "n": pd.array([1, 2, None, 4, 5, 6], dtype="Int64"),
            "city": ["Paris", "Lyon", None, "Paris", "Nice", "Lyon"],
            "member": [True, False, True, True, False, False],
            "vip": pd.array([True, None, False, True, False, False], dtype="boolean"),
            "size": pd.Categorical(["S", "M", "L", "M", "S", "S"]),
            "blank": [np.nan] * 6,
        }
    )


def test_column_types_choose_the_encoding(mixed_frame):
    pre = make_tabular_preprocessor(mixed_frame)
    columns = {name: list(cols) for name, _, cols in pre.transformers}
    assert columns == {
        "numeric": ["age", "n"],
        "categorical": ["city", "member", "vip", "size"],
    }
    one_hot = pre.transformers[1][1][-1]
    assert one_hot.handle_unknown == "ignore"


def test_gaps_get_imputed_and_indicated(mixed_frame):
    pre = make_tabular_preprocessor(mixed_frame).fit(mixed_frame)
    names = list(pre.get_feature_names_out())
    out = pre.transform(mixed_frame)
    out = out.toarray() if sp.issparse(out) else out
    assert np.all(np.isfinite(out))
    # One indicator per numeric column with gaps, a "(missing)" category per
    # categorical column with gaps, nothing for the empty column.
    indicator = out[:, names.index("numeric__missingindicator_age")]
    assert_array_equal(indicator > indicator.mean(), mixed_frame["age"].isna())
    assert "numeric__missingindicator_n" in names
    assert_array_equal(
        out[:, names.index("categorical__city_(missing)")],
        mixed_frame["city"].isna().astype(float),
    )
    assert "categorical__vip_(missing)" in names
    assert not any("blank" in name for name in names)
    # 2 numbers + 2 indicators + city 4 + member 2 + vip 3 + size 3
    assert out.shape == (6, 16)


def test_unseen_category_and_new_gaps_at_prediction(mixed_frame):
    pre = make_tabular_preprocessor(mixed_frame).fit(mixed_frame)
    names = list(pre.get_feature_names_out())
    new = mixed_frame.head(1).copy()
    new["city"] = "Berlin"
    new["age"] = np.nan
    out = pre.transform(new)
    out = out.toarray() if sp.issparse(out) else out
    city = [i for i, name in enumerate(names) if name.startswith("categorical__city")]
    assert_array_equal(out[0, city], 0.0)
    assert np.all(np.isfinite(out))


def test_many_categories_give_sparse_output_the_estimator_takes():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {"code": rng.integers(0, 200, size=400).astype(str), "x": rng.normal(size=400)}
    )
    y = (frame["x"] > 0).astype(int)
    pre = make_tabular_preprocessor(frame)
    assert sp.issparse(pre.fit_transform(frame))
    pipe = make_pipeline(pre, NoisyMLPClassifier(**FAST)).fit(frame, y)
    assert pipe.predict_proba(frame).shape == (400, 2)


def test_max_categories_caps_the_one_hot_columns():
    frame = pd.DataFrame({"code": [str(i % 30) for i in range(300)]})
    pre = make_tabular_preprocessor(frame, max_categories=5).fit(frame)
    assert pre.transform(frame).shape[1] == 5


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.zeros((3, 2)), TypeError, "needs a pandas DataFrame"),
        (
            pd.DataFrame({"when": pd.to_datetime(["2020-01-01", "2021-01-01"])}),
            ValueError,
            "Cannot encode the columns 'when'",
        ),
        (pd.DataFrame({"a": [np.nan, np.nan]}), ValueError, "Every column of X"),
    ],
)
def test_inputs_the_preprocessor_cannot_encode(X, error, match):
    with pytest.raises(error, match=match):
        make_tabular_preprocessor(X)


# -- the demo on CSV files --------------------------------------------------------

TINY = [
    "--quick", "--repeats", "2", "--epochs", "3", "--hidden-units", "4",
    "--cv", "2", "--grid-levels", "0,0.1", "--robustness-levels", "0,0.5",
    "--robustness-repeats", "2", "--variants", "baseline,hidden",
]  # fmt: skip


def _error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "Traceback" not in err
    return err


@pytest.fixture
def mixed_csv(tmp_path):
    return _write_mixed_csv(tmp_path)


def _write_mixed_csv(folder):
    rng = np.random.default_rng(5)
    n = 120
    x = rng.normal(size=n)
    city = rng.choice(["Paris", "Lyon", "Nice"], size=n)
    member = rng.random(n) < 0.5
    frame = pd.DataFrame(
        {
            "x": x,
            "city": city,
            "member": member,
            "code": [f"c{i}" for i in rng.integers(0, 60, size=n)],
            "label": np.where(x + (city == "Paris") > 0.5, "yes", "no"),
            "empty": np.nan,
        }
    )
    frame.loc[::7, "x"] = np.nan
    frame.loc[::11, "city"] = None
    frame.loc[[3, 50], "label"] = None
    path = folder / "mixed.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_demo_on_a_csv_with_categories_and_gaps(budget_demo):
    # The run of the training-budget test below (the demo's one run on this
    # table): reading, the dropped rows and the preprocessing do not depend
    # on the budget.
    frame, printed, out = budget_demo
    assert "classification of 'label'" in printed
    assert "2 rows without a target dropped" in printed
    report = (out / "report.md").read_text()
    kept = frame.dropna(subset=["label"])
    assert f"{len(kept)} rows" in report
    section = report[report.index("### Preprocessing") :]
    gaps = kept.isna().sum()
    assert f"`x` ({gaps['x']} gaps)" in section and "missing-indicator" in section
    assert f"`city` (3 values, {gaps['city']} gaps)" in section
    assert "`member` (2 values)" in section
    assert f"`code` ({kept['code'].nunique()} values)" in section
    assert "dropped**, no values at all: `empty`" in section
    assert "a sparse matrix" in section  # 60 one-hot code columns
    assert "make_tabular_preprocessor(X), NoisyMLPClassifier()" in section
    assert (out / "robustness.png").is_file()


def test_demo_on_a_regression_csv_with_a_text_column(tmp_path, capsys):
    rng = np.random.default_rng(6)
    kind = rng.choice(["a", "b"], size=40)
    frame = pd.DataFrame({"kind": kind, "z": rng.normal(size=40)})
    frame["price"] = frame["z"] * 3.7 + (kind == "a") * 2.0
    path = tmp_path / "prices.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    main(["demo", *TINY, "--data", str(path), "--target", "price", "--out", str(out)])
    assert "regression of 'price'" in capsys.readouterr().out
    assert "NoisyMLPRegressor()" in (out / "report.md").read_text()


@pytest.mark.parametrize("gap", [False, True])
def test_demo_on_a_csv_with_a_boolean_target(tmp_path, capsys, gap):
    rng = np.random.default_rng(7)
    z = rng.normal(size=40)
    frame = pd.DataFrame({"z": z, "ok": z > 0})
    if gap:  # pandas then reads the column as objects, not booleans
        frame["ok"] = frame["ok"].astype(object)
        frame.loc[0, "ok"] = None
    path = tmp_path / "flags.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["demo", *TINY, "--data", str(path), "--target", "ok",
                 "--out", str(out)]) == 0  # fmt: skip
    assert "classification of 'ok'" in capsys.readouterr().out


def test_csv_column_that_does_not_exist(mixed_csv, capsys):
    err = _error(capsys, ["demo", "--data", str(mixed_csv[0]), "--target", "nope"])
    assert "'nope' is not in 'mixed.csv'" in err and "'label'" in err


def test_csv_target_with_one_value(tmp_path, capsys):
    path = tmp_path / "one.csv"
    pd.DataFrame({"a": range(30), "t": ["same"] * 30}).to_csv(path, index=False)
    err = _error(capsys, ["demo", "--data", str(path), "--target", "t"])
    assert "single value ('same')" in err


def test_empty_csv_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert "'empty.csv' is empty" in _error(
        capsys, ["demo", "--data", str(path), "--target", "t"]
    )


def test_csv_with_a_header_and_no_rows(tmp_path, capsys):
    path = tmp_path / "header.csv"
    path.write_text("a,b,t\n")
    assert "header but no rows" in _error(
        capsys, ["demo", "--data", str(path), "--target", "t"]
    )


def test_target_types_choose_the_task():
    assert _infer_task(pd.Series(["a", "b", "a"])) == "classification"
    assert _infer_task(pd.Series([True, False, True])) == "classification"
    assert _infer_task(pd.Series(pd.Categorical([1.5, 2.5]))) == "classification"
    assert _infer_task(pd.Series([True, None], dtype="boolean")) == "classification"
    assert _infer_task(pd.Series([0, 1, None], dtype="Int64")) == "classification"
    assert _infer_task(pd.Series(np.linspace(0, 1, 50))) == "regression"
    assert _infer_task(pd.Series([0.5, np.nan, 2.0] * 10)) == "regression"


# -- the CSV demo's training budget: epochs, batch size, variants by rows ---------

from skrobust import _demo  # noqa: E402
from skrobust._demo import csv_budget  # noqa: E402


def test_a_small_table_keeps_the_default_training():
    for quick, epochs in [(True, _demo.QUICK_CSV_EPOCHS), (False, _demo.CSV_EPOCHS)]:
        budget = csv_budget(40, quick=quick)
        # The estimators' batch_size="auto": min(200, rows), one batch here.
        assert (budget.n_train, budget.batch_size, budget.epochs) == (28, 28, epochs)
        assert budget.variants is None
        assert not (budget.epochs_capped or budget.batch_size_raised)


def test_a_large_table_gets_fewer_epochs_and_quick_variants():
    quick = csv_budget(10_000, quick=True)
    assert quick.n_train == 7_000
    assert quick.batch_size == 200  # the estimators' "auto": 35 mini-batches
    assert quick.steps_per_epoch == 35
    assert quick.epochs == 1000 // 35 and quick.steps <= _demo.QUICK_CSV_MAX_STEPS
    assert quick.variants == _demo.QUICK_LARGE_CSV_KEYS
    assert {"baseline", "input", "hidden", "dropout"} <= set(quick.variants)
    full = csv_budget(10_000, quick=False)
    assert full.batch_size == quick.batch_size  # the same model, trained longer
    assert full.epochs == 4000 // 35 and full.steps <= _demo.CSV_MAX_STEPS
    assert full.variants is None  # the full run fits every variant


@pytest.mark.parametrize("n_rows", [20, 100, 1_000, 1_999, 2_000, 5_000, 50_000])
@pytest.mark.parametrize("quick", [True, False])
def test_a_fit_stays_within_the_step_budget(n_rows, quick):
    budget = csv_budget(n_rows, quick=quick)
    assert min(200, budget.n_train) <= budget.batch_size <= _demo.CSV_MAX_BATCH_SIZE
    assert _demo.CSV_MIN_EPOCHS <= budget.epochs <= budget.default_epochs
    assert budget.steps <= budget.max_steps
    assert (budget.variants is not None) == (quick and n_rows >= 2_000)


def test_a_huge_table_gets_a_larger_batch_and_keeps_the_minimum_epochs():
    budget = csv_budget(1_000_000, quick=True)
    assert budget.batch_size == _demo.CSV_MAX_BATCH_SIZE
    assert budget.batch_size_raised
    assert budget.epochs == _demo.CSV_MIN_EPOCHS


def test_the_users_epochs_batch_size_and_variants_win():
    budget = csv_budget(
        10_000, quick=True, epochs=7, batch_size=16, variants=("baseline", "hidden")
    )
    assert (budget.epochs, budget.batch_size) == (7, 16)
    assert budget.variants == ("baseline", "hidden")
    assert not (budget.epochs_capped or budget.batch_size_raised or budget.variants_cut)
    # A user's batch size alone: the epochs are capped for that batch size.
    budget = csv_budget(10_000, quick=True, batch_size=500)
    assert budget.steps_per_epoch == 14 and budget.epochs == 1000 // 14


class _Stop(Exception):
    pass


@pytest.fixture
def captured_settings(monkeypatch):
    """Runs the CLI up to the study and returns the Settings it would use."""
    seen = []

    def run_csv(X, y, task, source, settings, *args, **kwargs):
        seen.append(settings)
        raise _Stop

    monkeypatch.setattr(_demo, "run_csv", run_csv)

    def settings_of(argv):
        with pytest.raises(_Stop):
            main(argv)
        return seen[-1]

    return settings_of


def test_the_command_line_applies_the_budget_and_the_users_choices(
    mixed_csv, captured_settings, tmp_path, monkeypatch
):
    path, frame = mixed_csv
    n_rows = int(frame["label"].notna().sum())
    argv = ["demo", "--quick", "--data", str(path), "--target", "label",
            "--out", str(tmp_path / "out")]  # fmt: skip
    auto = csv_budget(n_rows, quick=True)
    settings = captured_settings(argv)
    assert settings.budget == auto
    assert (settings.epochs, settings.batch_size) == (auto.epochs, auto.batch_size)
    # Make this table "large": the automatic choices change, the user's win.
    monkeypatch.setattr(_demo.budget, "QUICK_CSV_MAX_STEPS", 20)
    monkeypatch.setattr(_demo.budget, "CSV_STEPS_PER_EPOCH", 1)
    monkeypatch.setattr(_demo.budget, "QUICK_LARGE_CSV_ROWS", 50)
    settings = captured_settings(argv)
    # One mini-batch per epoch at most: the whole training split.
    assert settings.batch_size == settings.budget.n_train and settings.epochs == 20
    assert settings.variants == _demo.QUICK_LARGE_CSV_KEYS
    settings = captured_settings([*argv, "--epochs", "3"])
    assert settings.epochs == 3 and settings.budget.epochs_from_user
    settings = captured_settings([*argv, "--param", "epochs=4"])
    assert settings.epochs == 4
    settings = captured_settings([*argv, "--param", "batch_size=8"])
    # 11 mini-batches per epoch: 20 steps would be 1 epoch, the minimum is 5.
    assert settings.batch_size == 8 and settings.epochs == _demo.CSV_MIN_EPOCHS
    settings = captured_settings([*argv, "--variants", "baseline,hidden"])
    assert settings.variants == ("baseline", "hidden")


@pytest.fixture(scope="module")
def budget_demo(tmp_path_factory):
    """``skrobust demo --quick`` on the mixed table, whose 118 rows count as
    large here (two variants keep it quick): ``(frame, printed, out)``. The
    budget test and the categories-and-gaps test read this one run."""
    import contextlib
    import io

    path, frame = _write_mixed_csv(tmp_path_factory.mktemp("budget"))
    out = path.parent / "out"
    argv = ["demo", "--quick", "--repeats", "2", "--hidden-units", "4", "--cv", "2",
            "--grid-levels", "0,0.1", "--robustness-levels", "0,0.5",
            "--robustness-repeats", "2", "--data", str(path), "--target", "label",
            "--out", str(out)]  # fmt: skip
    patch = {
        "QUICK_LARGE_CSV_ROWS": 50,
        "QUICK_LARGE_CSV_KEYS": ("baseline", "hidden"),
        "QUICK_CSV_MAX_STEPS": 6,
        "CSV_STEPS_PER_EPOCH": 1,
    }
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(printed):
        for name, value in patch.items():
            # The package keeps what it re-exports from budget once read: a
            # read during this run must not leave the patched value there
            # for the later tests of the module (the undo restores it).
            mp.setattr(_demo, name, value, raising=False)
            mp.setattr(_demo.budget, name, value)
        assert main(argv) == 0
    return frame, printed.getvalue(), out


def test_the_report_says_what_the_budget_chose_and_left_out(budget_demo):
    _, printed, out = budget_demo
    assert "Training: 82 training rows per split: batch size 82, 6 epochs" in printed
    assert "--epochs, --param batch_size=N and --variants override" in printed
    report = (out / "report.md").read_text(encoding="utf-8")
    section = report[report.index("### Training budget") :]
    assert "batch size 82, 6 epochs" in section
    assert "cut from the quick run's 100" in section and "`--epochs N`" in section
    assert "Left out: input noise 0.01 (`input`)" in section
    assert "dropout 0.4 (`dropout`)" in section and "label flipping 0.05" in section
    assert "`--variants` runs them" in section
    assert "2 variants instead of all" in report  # the quick note
    assert "6 epochs instead of" in report and "overfits less" in report
    assert "| input noise 0.01" not in report
