""":func:`batched_cross_validate`: ``cross_validate`` whose folds (and seeds)
train as vectorized JAX runs."""

from __future__ import annotations

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline

from skrobust.model_selection._batched import evaluate
from skrobust.model_selection._results import is_multimetric, metric_names, score_array


def batched_cross_validate(
    estimator,
    X,
    y=None,
    *,
    groups=None,
    scoring=None,
    cv=None,
    n_jobs=None,
    params=None,
    return_train_score=False,
    return_estimator=False,
    return_indices=False,
    error_score=np.nan,
    random_states=None,
    memory_budget=None,
    max_members=None,
    verbose=0,
    checkpoint=None,
) -> dict:
    """Evaluate one configuration over folds (and seeds) in one batched run.

    Same arguments and return value as
    :func:`sklearn.model_selection.cross_validate`; every fold of a skrobust
    estimator (alone or ending a ``Pipeline``) trains as a member of a
    ``jax.vmap``-ed loop, and anything else falls back to ordinary fits (see
    :class:`BatchedGridSearchCV`).

    Parameters
    ----------
    estimator : estimator
        The configuration to evaluate.
    X, y, groups, scoring, cv, return_train_score, return_estimator, \
return_indices, error_score :
        As in ``cross_validate``.
    n_jobs : int, default=None
        Workers that share the batched runs and the fallback fits, as in
        :class:`BatchedGridSearchCV`.
    params : dict, default=None
        Fit parameters (``sample_weight`` keeps the folds batched).
    random_states : sequence of int, default=None
        Repeat the evaluation for each of these ``random_state`` values (of
        the final estimator). The entries of the result then run over seeds,
        then splits: entry ``i * n_splits + j`` is seed ``i`` on split ``j``.
        ``None`` keeps the estimator's own ``random_state``.
    memory_budget, max_members, checkpoint :
        As in :class:`BatchedGridSearchCV`.
    verbose : int, default=0
        Print what is batched and what falls back.

    Returns
    -------
    scores : dict of ndarray
        ``fit_time``, ``score_time``, ``test_<score>`` (``test_score`` for a
        single metric), ``train_<score>`` when asked, ``estimator`` and
        ``indices`` when asked.

    Examples
    --------
    >>> from sklearn.datasets import make_circles
    >>> from skrobust import NoisyMLPClassifier
    >>> from skrobust.model_selection import batched_cross_validate
    >>> X, y = make_circles(n_samples=60, noise=0.1, random_state=1)
    >>> clf = NoisyMLPClassifier((8,), noise_std=0.1, epochs=5, random_state=0)
    >>> batched_cross_validate(clf, X, y, cv=3)["test_score"].shape
    (3,)
    """
    multimetric = is_multimetric(scoring)
    scorer = check_scoring(estimator, scoring=scoring)
    cv = check_cv(cv, y, classifier=is_classifier(estimator))
    splits = list(cv.split(X, y, groups))
    if random_states is None:
        candidates = [{}]
    else:
        key = "random_state"
        if isinstance(estimator, Pipeline):
            key = f"{estimator.steps[-1][0]}__random_state"
        candidates = [{key: rs} for rs in random_states]
    results, _ = evaluate(
        estimator,
        candidates,
        X,
        y,
        splits,
        scorer,
        multimetric=multimetric,
        fit_params=params,
        return_train_score=return_train_score,
        return_estimator=return_estimator,
        error_score=error_score,
        memory_budget=memory_budget,
        max_members=max_members,
        n_jobs=n_jobs,
        verbose=verbose,
        checkpoint=checkpoint,
    )
    names = metric_names(scoring, results)
    single = not multimetric and names == ["score"]
    flat = [r for row in results for r in row]
    out: dict = {
        "fit_time": np.array([r["fit_time"] for r in flat]),
        "score_time": np.array([r["score_time"] for r in flat]),
    }
    if return_estimator:
        out["estimator"] = [r["estimator"] for r in flat]
    if return_indices:
        out["indices"] = {
            "train": [tr for _ in candidates for tr, _te in splits],
            "test": [te for _ in candidates for _tr, te in splits],
        }
    test = score_array(results, names, "test", error_score)
    train = (
        score_array(results, names, "train", error_score) if return_train_score else {}
    )
    for n in names:
        label = "score" if single else n
        out[f"test_{label}"] = test[n].ravel()
        if return_train_score:
            out[f"train_{label}"] = train[n].ravel()
    return out
