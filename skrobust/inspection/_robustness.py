"""Robustness of a fitted estimator to Gaussian noise on its test inputs."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.metrics import check_scoring
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted


def _check_noise_levels(noise_levels) -> np.ndarray:
    try:
        levels = np.asarray(noise_levels, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"noise_levels must be a 1d array-like of numbers; got {noise_levels!r}."
        ) from None
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError(
            f"noise_levels must be a non-empty 1d array-like; got shape {levels.shape}."
        )
    if not np.all(np.isfinite(levels)) or np.any(levels < 0):
        raise ValueError(
            f"noise_levels must be finite and >= 0; got {levels.tolist()!r}."
        )
    return levels


def _feature_values(X) -> np.ndarray:
    """The numeric values of ``X`` as a float array (a copy, never a view the
    caller could see modified)."""
    values = X.to_numpy() if hasattr(X, "to_numpy") else X
    try:
        values = np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ValueError(
            "robustness_curve needs numeric features: Gaussian noise cannot be "
            "added to non-numeric columns."
        ) from None
    if values.ndim != 2:
        raise ValueError(
            f"Expected a 2D array for X, got an array of shape {values.shape}."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("Input X contains NaN or infinity.")
    return values


def _like(X, values):
    """``values`` in the container type of ``X`` (a DataFrame keeps its column
    names, so estimators fitted on DataFrames see the names they expect)."""
    if hasattr(X, "columns") and hasattr(X, "index"):
        return type(X)(values, columns=X.columns, index=X.index)
    return values


def robustness_curve(
    estimator,
    X,
    y,
    noise_levels,
    *,
    n_repeats: int = 5,
    scoring=None,
    relative: bool = False,
    random_state=None,
) -> Bunch:
    """Score of a fitted estimator as Gaussian noise is added to its test inputs.

    For each standard deviation in ``noise_levels``, ``n_repeats`` noisy copies
    of ``X`` are scored: ``X + noise_level * scale * Z`` with ``Z`` standard
    normal. The same draws ``Z`` serve every level (common random numbers), so
    a curve moves only because the noise grows, and calling this function with
    the same ``random_state`` for several estimators compares them on identical
    perturbations.

    Parameters
    ----------
    estimator : estimator object
        A fitted estimator or pipeline (anything a scikit-learn scorer takes).
    X : array-like or DataFrame of shape (n_samples, n_features)
        Test inputs, numeric. Never modified.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True targets of ``X``.
    noise_levels : array-like of float of shape (n_levels,)
        Standard deviations of the noise, each >= 0 (0 scores the clean data).
    n_repeats : int, default=5
        Noisy copies of ``X`` scored at each level.
    scoring : str, callable or None, default=None
        A scikit-learn scoring name or scorer; ``None`` uses the estimator's
        ``score`` method (accuracy for classifiers, R² for regressors).
    relative : bool, default=False
        If True, the noise of each feature is scaled by that feature's standard
        deviation in ``X``, so a level of 0.1 means "10% of the feature's
        spread" whatever its units. Constant features get no noise.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the noise. Uses its own generator
        (``numpy.random.default_rng``); NumPy's global random state is neither
        read nor changed.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        With attributes

        noise_levels : ndarray of shape (n_levels,)
            The levels, as given.
        scores : ndarray of shape (n_levels, n_repeats)
            The score of every noisy copy.
        mean_scores : ndarray of shape (n_levels,)
            Mean over the repeats.
        std_scores : ndarray of shape (n_levels,)
            Standard deviation over the repeats.
        relative : bool
            Whether the levels are relative to each feature's spread.
        scoring : str
            Name of the score (``"score"`` when ``scoring`` was None).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skrobust.inspection import robustness_curve
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = LogisticRegression().fit(X, y)
    >>> result = robustness_curve(clf, X, y, [0.0, 1.0, 3.0], random_state=0)
    >>> result.mean_scores.shape
    (3,)
    """
    check_is_fitted(estimator)
    levels = _check_noise_levels(noise_levels)
    if (
        not isinstance(n_repeats, numbers.Integral)
        or isinstance(n_repeats, bool)
        or n_repeats < 1
    ):
        raise ValueError(f"n_repeats must be an int >= 1; got {n_repeats!r}.")
    values = _feature_values(X)
    if len(y) != values.shape[0]:
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {values.shape[0]} "
            f"and {len(y)}."
        )
    scorer = check_scoring(estimator, scoring=scoring)
    scale = values.std(axis=0) if relative else np.ones(values.shape[1])

    rng = np.random.default_rng(random_state)
    scores = np.empty((levels.size, n_repeats))
    clean_score = None
    for r in range(n_repeats):
        unit_noise = rng.standard_normal(values.shape) * scale
        for i, level in enumerate(levels):
            if level == 0:
                # Clean data: one evaluation serves every repeat.
                if clean_score is None:
                    clean_score = float(scorer(estimator, _like(X, values), y))
                scores[i, r] = clean_score
            else:
                noisy = values + level * unit_noise
                scores[i, r] = float(scorer(estimator, _like(X, noisy), y))

    return Bunch(
        noise_levels=levels,
        scores=scores,
        mean_scores=scores.mean(axis=1),
        std_scores=scores.std(axis=1),
        relative=bool(relative),
        scoring=scoring if isinstance(scoring, str) else "score",
    )
