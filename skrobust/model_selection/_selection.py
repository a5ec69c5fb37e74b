""":func:`simplest_within_noise`: the rule the CV estimators choose a
candidate by, from a search's ``cv_results_``."""

from __future__ import annotations

import numbers

import numpy as np


def _same(a, b) -> bool:
    try:
        return (
            bool(a == b)
            and type(a) is type(b)
            or (
                isinstance(a, numbers.Number)
                and isinstance(b, numbers.Number)
                and not isinstance(a, bool)
                and not isinstance(b, bool)
                and float(a) == float(b)
            )
        )
    except (TypeError, ValueError):
        return a is b


def simplest_within_noise(cv_results, fixed, test_train_ratio, metric="score"):
    """Index of the simplest candidate whose score is within noise of the best.

    The best candidate has the highest mean test score. Every candidate is
    compared with it by the paired difference of their scores over the
    same splits, whose standard error is corrected for the overlap of
    cross-validation training sets (Nadeau and Bengio, 2003: the variance
    of the differences times ``1/k + n_test/n_train``). A candidate is
    *within noise* when its mean difference is at most one such standard
    error below the best's: a one-standard-error rule on paired,
    corrected differences. Among those, the simplest is the one that
    changes the fewest parameters from ``fixed`` (the values the candidate
    would have without the search), ties broken by the higher mean score,
    then the lower index.

    Why this rule: the candidates share their folds, so the split-to-split
    spread they have in common says nothing about which is better; pairing
    removes it. The correction widens the interval to what repeated
    cross-validation really supports, so that on a small table a grid of
    many candidates does not pick the one that won its folds by chance
    (the regularizer study's 27-candidate choices did), while a candidate
    that is better by more than the folds' noise is still chosen.

    Parameters
    ----------
    cv_results : dict
        A search's ``cv_results_`` (``params`` and ``split<i>_test_<metric>``).
    fixed : dict
        The value each searched parameter has outside the search.
    test_train_ratio : float
        Mean ``n_test / n_train`` of the splits.
    metric : str, default="score"
        The metric's name in ``cv_results``.

    Returns
    -------
    index : int
        The chosen candidate.
    """
    from skrobust.model_selection._compare import _split_scores  # noqa: PLC0415

    scores = _split_scores(cv_results, metric)
    # A candidate with a failed fold (its score NaN, or error_score) is as
    # GridSearchCV ranks it: by its mean, NaN last.
    means = scores.mean(axis=1)
    if np.all(np.isnan(means)):
        raise ValueError("Every candidate's fit failed; no candidate can be chosen.")
    best = int(np.nanargmax(means))
    diff = scores - scores[best]
    k = scores.shape[1]
    se = np.sqrt(diff.var(axis=1, ddof=1) * (1.0 / k + test_train_ratio))
    within = np.nan_to_num(means - means[best], nan=-np.inf) >= -np.nan_to_num(se)
    within[best] = True
    changes = [
        sum(not _same(value, fixed.get(name)) for name, value in params.items())
        for params in cv_results["params"]
    ]
    candidates = np.flatnonzero(within)
    return int(min(candidates, key=lambda c: (changes[c], -means[c], c)))
