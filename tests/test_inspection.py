"""Specification of skrobust.inspection: robustness curves and displays."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrobust import NoisyMLPClassifier, NoisyMLPRegressor
from skrobust.inspection import (
    RobustnessCurveDisplay,
    TrainingHistoryDisplay,
    robustness_curve,
)

LEVELS = [0.0, 0.5, 1.0, 2.0, 4.0]


@pytest.fixture(scope="module")
def separable():
    X, y = make_classification(
        n_samples=300,
        n_features=2,
        n_informative=2,
        n_redundant=0,
        n_clusters_per_class=1,
        class_sep=2.0,
        random_state=0,
    )
    return X, y, LogisticRegression().fit(X, y)


@pytest.fixture(scope="module")
def fitted_mlp():
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=60, noise=0.1, random_state=1)
    clf = NoisyMLPClassifier(
        (8,), epochs=5, validation_fraction=0.3, random_state=0
    ).fit(X, y)
    return X, y, clf


def test_robustness_curve_degrades_monotonically(separable):
    X, y, clf = separable
    result = robustness_curve(clf, X, y, LEVELS, n_repeats=10, random_state=0)
    assert result.mean_scores[0] > 0.95
    assert np.all(np.diff(result.mean_scores) < 0)
    assert result.mean_scores[-1] < 0.75


def test_robustness_curve_result_shapes(separable):
    X, y, clf = separable
    result = robustness_curve(clf, X, y, LEVELS, n_repeats=3, random_state=0)
    assert result.scores.shape == (len(LEVELS), 3)
    assert result.mean_scores.shape == result.std_scores.shape == (len(LEVELS),)
    np.testing.assert_array_equal(result.noise_levels, LEVELS)
    np.testing.assert_allclose(result.mean_scores, result.scores.mean(axis=1))
    # Clean data score the same in every repeat.
    np.testing.assert_array_equal(result.scores[0], result.scores[0, 0])


def test_robustness_curve_is_reproducible_with_random_state(separable):
    X, y, clf = separable
    a = robustness_curve(clf, X, y, LEVELS, random_state=42)
    b = robustness_curve(clf, X, y, LEVELS, random_state=42)
    c = robustness_curve(clf, X, y, LEVELS, random_state=43)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert not np.array_equal(a.scores, c.scores)


def test_robustness_curve_leaves_X_and_global_rng_unchanged(separable):
    X, y, clf = separable
    X_before = X.copy()
    np.random.seed(123)  # noqa: NPY002 (the global state is what is checked)
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    robustness_curve(clf, X, y, LEVELS, random_state=0)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_robustness_curve_keeps_dataframe_columns(separable):
    pd = pytest.importorskip("pandas")
    X, y, _ = separable
    frame = pd.DataFrame(X, columns=["a", "b"])
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, y)
    # A pipeline fitted on a DataFrame warns if it is scored on bare arrays.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        result = robustness_curve(pipe, frame, y, [0.0, 1.0], random_state=0)
    assert result.mean_scores[0] > result.mean_scores[1]


def test_relative_noise_scales_with_each_feature(separable):
    X, y, clf = separable
    scale = np.array([1.0, 1000.0])
    clf_scaled = make_pipeline(StandardScaler(), LogisticRegression()).fit(X * scale, y)
    clf_unit = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    scaled = robustness_curve(
        clf_scaled, X * scale, y, [0.5], relative=True, random_state=0
    )
    unit = robustness_curve(clf_unit, X, y, [0.5], relative=True, random_state=0)
    np.testing.assert_allclose(scaled.scores, unit.scores)


def test_robustness_curve_with_scoring_and_regressor():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = X @ [1.0, 2.0]
    reg = LinearRegression().fit(X, y)
    result = robustness_curve(
        reg, X, y, [0.0, 1.0], scoring="neg_mean_squared_error", random_state=0
    )
    assert result.scoring == "neg_mean_squared_error"
    assert result.mean_scores[0] > result.mean_scores[1]


@pytest.mark.parametrize(
    "levels, match",
    [
        ([], "non-empty"),
        ([[0.1]], "1d"),
        ([-0.1], ">= 0"),
        ([np.nan], "finite"),
        (["a"], "numbers"),
    ],
)
def test_robustness_curve_rejects_bad_noise_levels(separable, levels, match):
    X, y, clf = separable
    with pytest.raises(ValueError, match=match):
        robustness_curve(clf, X, y, levels)


@pytest.mark.parametrize("n_repeats", [0, 1.5, True])
def test_robustness_curve_rejects_bad_n_repeats(separable, n_repeats):
    X, y, clf = separable
    with pytest.raises(ValueError, match="n_repeats"):
        robustness_curve(clf, X, y, [0.1], n_repeats=n_repeats)


def test_robustness_curve_rejects_unfitted_estimator(separable):
    from sklearn.exceptions import NotFittedError

    X, y, _ = separable
    with pytest.raises(NotFittedError):
        robustness_curve(LogisticRegression(), X, y, [0.1])


def test_robustness_curve_rejects_bad_X(separable):
    X, y, clf = separable
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        robustness_curve(clf, X, y[:-1], [0.1])
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        robustness_curve(clf, X_nan, y, [0.1])


@pytest.mark.parametrize("scoring", [None, "neg_log_loss"])
def test_robustness_curve_of_a_skrobust_estimator(fitted_mlp, scoring):
    # Each score is the estimator's score on X plus level times one standard
    # normal draw per repeat (the draws of default_rng(random_state), shared
    # by every level); level 0 scores the clean data.
    from sklearn.metrics import check_scoring

    X, y, clf = fitted_mlp
    levels = [0.0, 0.3, 1.0]
    result = robustness_curve(
        clf, X, y, levels, n_repeats=2, scoring=scoring, random_state=0
    )
    scorer = check_scoring(clf, scoring=scoring)
    rng = np.random.default_rng(0)
    expected = np.empty((3, 2))
    for r in range(2):
        draw = rng.standard_normal(X.shape)
        for i, level in enumerate(levels):
            expected[i, r] = scorer(clf, X + level * draw, y)
    np.testing.assert_allclose(result.scores, expected, rtol=1e-12)
    np.testing.assert_array_equal(result.scores[0], scorer(clf, X, y))
    if scoring == "neg_log_loss":
        # The levels move this score: the check above tells them apart.
        assert len(np.unique(result.scores[:, 0])) == 3


# -- displays -------------------------------------------------------------------


def test_training_history_display_plots_train_and_validation(fitted_mlp):
    _, _, clf = fitted_mlp
    disp = TrainingHistoryDisplay.from_estimator(clf)
    assert set(disp.lines_) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert len(disp.ax_) == 2
    assert disp.ax_[0].get_xlabel() == "Epoch"
    assert disp.ax_[0].get_ylabel() == "Loss"
    assert disp.ax_[1].get_ylabel() == "Accuracy"
    assert len(disp.lines_["loss"].get_xdata()) == clf.n_iter_
    assert disp.figure_ is disp.ax_[0].figure


def test_training_history_display_reads_the_last_pipeline_step():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    pipe = make_pipeline(
        StandardScaler(), NoisyMLPRegressor((4,), epochs=3, random_state=0)
    ).fit(X, X[:, 0])
    disp = TrainingHistoryDisplay.from_estimator(pipe, metrics=["r2"])
    assert set(disp.lines_) == {"r2"}  # no validation split, no val curve
    assert disp.ax_[0].get_ylabel() == "R²"
    assert "NoisyMLPRegressor" in disp.ax_[0].get_title()


def test_training_history_display_draws_on_given_axes(fitted_mlp):
    _, _, clf = fitted_mlp
    fig = Figure()
    axes = fig.subplots(1, 2)
    disp = TrainingHistoryDisplay.from_estimator(clf, ax=axes, name="mlp")
    assert disp.figure_ is fig
    assert disp.ax_[0].get_title() == "mlp: loss"
    with pytest.raises(ValueError, match="Expected 2 Axes"):
        TrainingHistoryDisplay.from_estimator(clf, ax=axes[0])


def test_training_history_display_rejects_estimators_without_history(separable):
    _, _, clf = separable
    with pytest.raises(ValueError, match="has no history_"):
        TrainingHistoryDisplay.from_estimator(clf)
    with pytest.raises(ValueError, match="unknown"):
        TrainingHistoryDisplay({"loss": [1.0]}).plot(metrics=["accuracy"])


def test_robustness_curve_display_puts_every_estimator_on_one_axis(separable):
    X, y, clf = separable
    other = make_pipeline(StandardScaler(), LogisticRegression(C=0.01)).fit(X, y)
    disp = RobustnessCurveDisplay.from_estimators(
        {"logistic": clf, "strong penalty": other},
        X,
        y,
        LEVELS,
        n_repeats=2,
        random_state=0,
    )
    assert list(disp.lines_) == ["logistic", "strong penalty"]
    assert set(disp.bands_) == {"logistic", "strong penalty"}
    assert disp.ax_.get_xlabel() == "Test-time noise std"
    assert disp.ax_.get_ylabel() == "Score"
    assert disp.figure_ is disp.ax_.figure
    np.testing.assert_allclose(disp.lines_["logistic"].get_xdata(), LEVELS)


def test_robustness_curve_display_single_estimator_and_options(separable):
    X, y, clf = separable
    ax = Figure().subplots()
    disp = RobustnessCurveDisplay.from_estimator(
        clf,
        X,
        y,
        [0.0, 1.0],
        scoring="accuracy",
        relative=True,
        ax=ax,
        std=False,
    )
    assert list(disp.lines_) == ["LogisticRegression"]
    assert disp.bands_ == {}
    assert disp.ax_ is ax
    assert "relative" in ax.get_xlabel()
    assert ax.get_ylabel() == "Accuracy"


def test_robustness_curve_display_from_results_and_errors(separable):
    X, y, clf = separable
    res = robustness_curve(clf, X, y, [0.0, 1.0], random_state=0)
    disp = RobustnessCurveDisplay.from_results({"a": res}, ax=Figure().subplots())
    assert list(disp.lines_) == ["a"]
    with pytest.raises(ValueError, match="not a result"):
        RobustnessCurveDisplay.from_results({"a": {"x": 1}})
    with pytest.raises(ValueError, match="non-empty dict"):
        RobustnessCurveDisplay.from_estimators({}, X, y, [0.1])


def test_displays_explain_a_missing_matplotlib(monkeypatch, fitted_mlp):
    import sys

    _, _, clf = fitted_mlp
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"skrobust\[plot\]"):
        TrainingHistoryDisplay.from_estimator(clf)
