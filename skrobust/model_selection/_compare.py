""":func:`compare_candidates`: a search's ``cv_results_`` as paired, corrected
comparisons against one baseline candidate."""

from __future__ import annotations

import numbers
import re

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import check_cv
from sklearn.utils.multiclass import type_of_target


def _split_scores(cv_results, metric):
    """``(n_candidates, n_splits)`` test scores of ``metric``."""
    if not isinstance(cv_results, dict) and not hasattr(cv_results, "keys"):
        raise TypeError(
            "cv_results must be a search's cv_results_ (a dict), got "
            f"{type(cv_results).__name__}."
        )
    pattern = re.compile(rf"^split(\d+)_test_{re.escape(metric)}$")
    found = sorted(
        (int(m.group(1)), key)
        for key in cv_results
        if (m := pattern.match(str(key))) is not None
    )
    if not found:
        metrics = sorted(
            {
                m.group(1)
                for key in cv_results
                if (m := re.match(r"^split\d+_test_(.+)$", str(key))) is not None
            }
        )
        if not metrics:
            raise ValueError(
                "cv_results has no per-split test scores (split<i>_test_<metric> "
                "keys); pass a search's cv_results_."
            )
        raise ValueError(
            f"metric={metric!r} is not in cv_results; its metrics are {metrics}."
        )
    indices = [i for i, _ in found]
    if indices != list(range(len(found))):
        raise ValueError(
            f"cv_results' split{{i}}_test_{metric} keys are not numbered 0 to "
            f"{len(found) - 1}: {indices}."
        )
    scores = np.column_stack(
        [np.asarray(cv_results[key], dtype=np.float64) for _, key in found]
    )
    if scores.shape[1] < 2:
        raise ValueError(
            "A paired comparison needs at least 2 cross-validation splits; "
            f"cv_results has {scores.shape[1]}."
        )
    return scores


def _baseline_index(baseline, cv_results, means, n_candidates):
    if isinstance(baseline, str):
        if baseline != "best":
            raise ValueError(
                "baseline must be 'best', a candidate's index or its params "
                f"dict, got {baseline!r}."
            )
        if np.isnan(means).all():
            raise ValueError("Every candidate's mean test score is NaN.")
        return int(np.nanargmax(means))
    if isinstance(baseline, numbers.Integral) and not isinstance(baseline, bool):
        index = int(baseline)
        if not -n_candidates <= index < n_candidates:
            raise ValueError(
                f"baseline={index} is out of range for {n_candidates} candidates."
            )
        return index % n_candidates
    if isinstance(baseline, dict):
        params = list(cv_results.get("params", []))
        matches = [i for i, p in enumerate(params) if p == baseline]
        if not matches:
            raise ValueError(f"baseline={baseline!r} is none of cv_results['params'].")
        return matches[0]
    raise TypeError(
        "baseline must be 'best', an int index or a params dict, got "
        f"{type(baseline).__name__}."
    )


def _test_train_ratio(test_train_ratio, cv, X, y, groups):
    if test_train_ratio is not None and cv is not None:
        raise ValueError("Pass either test_train_ratio or cv, not both.")
    if test_train_ratio is not None:
        if (
            not isinstance(test_train_ratio, numbers.Real)
            or isinstance(test_train_ratio, bool)
            or not np.isfinite(test_train_ratio)
            or test_train_ratio <= 0
        ):
            raise ValueError(
                "test_train_ratio must be a positive number (test rows per "
                f"training row), got {test_train_ratio!r}."
            )
        return float(test_train_ratio)
    if cv is None:
        raise ValueError(
            "The corrected test needs the ratio of test to training rows: pass "
            "test_train_ratio (e.g. 0.25 for 5-fold cross-validation) or the "
            "search's cv together with the X (and y, groups) it was fitted on."
        )
    classifier = y is not None and type_of_target(y) in ("binary", "multiclass")
    splitter = check_cv(cv, y, classifier=classifier)
    if X is None and not hasattr(cv, "__iter__"):
        raise ValueError(
            "cv is a number or a splitter: pass the X (and y, groups) the "
            "search was fitted on, so that its splits can be sized."
        )
    if X is None:
        X = np.zeros((0, 1))
    else:
        n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
        X = np.zeros((n_rows, 1))
    ratios = [
        len(test) / len(train)
        for train, test in splitter.split(X, y, groups)
        if len(train) > 0
    ]
    if not ratios:
        raise ValueError("cv yields no split with training rows.")
    return float(np.mean(ratios))


def compare_candidates(
    cv_results,
    *,
    baseline="best",
    metric="score",
    test_train_ratio=None,
    cv=None,
    X=None,
    y=None,
    groups=None,
    alpha=0.05,
):
    """Compare every candidate of a search with a baseline candidate, paired
    by split, with the Nadeau-Bengio corrected resampled t-test.

    Cross-validation scores of two candidates on the same split are paired,
    and scores on different splits are correlated because their training sets
    overlap: a plain paired t-test on them is overconfident. Nadeau and Bengio
    (2003) correct the variance of the mean paired difference to
    ``var(d) * (1 / k + n_test / n_train)`` over the ``k`` splits, which is
    the test scikit-learn's example "Statistical comparison of models using
    grid search" applies to ``cv_results_``. Use a repeated splitter (for
    example ``RepeatedStratifiedKFold(n_splits=5, n_repeats=3)``) for a test
    with some power: with one 5-fold run, ``k = 5`` leaves 4 degrees of
    freedom.

    Parameters
    ----------
    cv_results : dict
        A search's ``cv_results_`` (``GridSearchCV``, ``RandomizedSearchCV``,
        :class:`BatchedGridSearchCV`, or any dict with ``split<i>_test_<metric>``
        arrays, one entry per candidate). Every candidate must have been
        scored on the same splits, as a search does.
    baseline : "best", int or dict, default="best"
        The candidate the others are compared with: ``"best"`` is the
        candidate with the highest mean test score of ``metric`` (the one a
        search would pick; the first of them on a tie), an int is an index
        into ``cv_results["params"]``, a dict is a candidate's parameters.
    metric : str, default="score"
        The score to compare: ``"score"`` for a single-metric search, else
        one of the multi-metric search's names (``split<i>_test_<metric>``).
        Scores are compared as scikit-learn reports them, greater is better
        (``neg_mean_squared_error`` and the like are negated).
    test_train_ratio : float, default=None
        Test rows per training row of a split (0.25 for 5-fold
        cross-validation). Give it, or ``cv`` and ``X``.
    cv : int, cross-validation generator or iterable, default=None
        The search's ``cv``, to infer ``test_train_ratio`` from the splits it
        makes of ``X`` (the mean over splits). An int means (stratified, for
        a classification ``y``) K-fold, as in ``GridSearchCV``.
    X : array-like of shape (n_samples, n_features), default=None
        The data the search was fitted on (only its number of rows is used).
        Needed with ``cv``, unless ``cv`` is an iterable of splits.
    y : array-like of shape (n_samples,), default=None
        The target, for stratified splitters.
    groups : array-like of shape (n_samples,), default=None
        Group labels, for group splitters.
    alpha : float, default=0.05
        Significance level of the test and ``1 - alpha`` the confidence
        level of the interval.

    Returns
    -------
    comparison : pandas.DataFrame
        One row per candidate, indexed by its position in ``cv_results``,
        sorted as the search ranked them (best first), with columns:

        - ``params``: the candidate's parameters;
        - ``mean_test``: its mean test score;
        - ``difference``: mean of (candidate - baseline) over the splits;
          positive means the candidate scored higher;
        - ``std_corrected``: the corrected standard error of that mean;
        - ``t``, ``p_value``: the t statistic on ``k - 1`` degrees of
          freedom and its two-sided p-value;
        - ``ci_low``, ``ci_high``: the ``1 - alpha`` confidence interval of
          the difference;
        - ``verdict``: ``"baseline"`` for the baseline itself, ``"better"``
          or ``"worse"`` when ``p_value < alpha``, else ``"within noise"``
          (``"no score"`` when a split's score is NaN, as for a failed fit).

        ``comparison.attrs`` holds ``baseline`` (its index), ``metric``,
        ``n_splits``, ``test_train_ratio`` and ``alpha``.

    See Also
    --------
    BatchedGridSearchCV : a grid search whose ``cv_results_`` this compares.

    Notes
    -----
    With ``d_j`` the paired difference on split ``j`` of ``k``, the test
    statistic is ``t = mean(d) / sqrt(var(d) * (1/k + n_test/n_train))``
    (``var`` with ``ddof=1``), referred to Student's t with ``k - 1``
    degrees of freedom. The correction assumes every split has the same
    test-to-training ratio, as K-fold and shuffle splits of a fixed size do.
    When the baseline is chosen as the best of the same scores
    (``baseline="best"``), the others are a little less likely to look
    different from it than a fresh comparison would say: the choice and the
    test share the data.

    References
    ----------
    C. Nadeau and Y. Bengio, "Inference for the Generalization Error",
    Machine Learning 52, 239-281, 2003.

    Examples
    --------
    >>> import numpy as np
    >>> from skrobust.model_selection import compare_candidates
    >>> cv_results = {
    ...     "params": [{"noise_std": 0.0}, {"noise_std": 0.1}, {"noise_std": 0.3}],
    ...     "split0_test_score": np.array([0.80, 0.84, 0.70]),
    ...     "split1_test_score": np.array([0.86, 0.83, 0.72]),
    ...     "split2_test_score": np.array([0.79, 0.85, 0.69]),
    ...     "split3_test_score": np.array([0.85, 0.84, 0.71]),
    ... }
    >>> table = compare_candidates(cv_results, test_train_ratio=1 / 3)
    >>> table[["difference", "p_value", "verdict"]].round(3)
       difference  p_value       verdict
    1       0.000      NaN      baseline
    0      -0.015    0.672  within noise
    2      -0.135    0.003         worse
    """
    if (
        not isinstance(alpha, numbers.Real)
        or isinstance(alpha, bool)
        or not 0 < alpha < 1
    ):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a str, got {type(metric).__name__}.")
    scores = _split_scores(cv_results, metric)
    n_candidates, k = scores.shape
    params = list(cv_results.get("params", [{}] * n_candidates))
    if len(params) != n_candidates:
        raise ValueError(
            f"cv_results has {len(params)} params but {n_candidates} scores per split."
        )
    ratio = _test_train_ratio(test_train_ratio, cv, X, y, groups)
    with np.errstate(invalid="ignore"):
        means = scores.mean(axis=1)
    base = _baseline_index(baseline, cv_results, means, n_candidates)

    diff = scores - scores[base]
    mean = diff.mean(axis=1)
    var = diff.var(axis=1, ddof=1)
    se = np.sqrt(var * (1.0 / k + ratio))
    df = k - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(
            se > 0, mean / se, np.where(mean == 0, 0.0, np.sign(mean) * np.inf)
        )
    t = np.where(np.isnan(mean), np.nan, t)
    p = 2 * stats.t.sf(np.abs(t), df)
    half = stats.t.ppf(1 - alpha / 2, df) * se
    verdict = np.where(
        np.isnan(p),
        "no score",
        np.where(p < alpha, np.where(mean > 0, "better", "worse"), "within noise"),
    ).astype(object)
    verdict[base] = "baseline"
    t[base] = np.nan
    p[base] = np.nan

    out = pd.DataFrame(
        {
            "params": params,
            "mean_test": means,
            "difference": mean,
            "std_corrected": se,
            "t": t,
            "p_value": p,
            "ci_low": mean - half,
            "ci_high": mean + half,
            "verdict": verdict,
        }
    )
    order = np.argsort(-np.where(np.isnan(means), -np.inf, means), kind="stable")
    out = out.iloc[order]
    out.attrs.update(
        baseline=base, metric=metric, n_splits=k, test_train_ratio=ratio, alpha=alpha
    )
    return out
