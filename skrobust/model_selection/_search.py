""":class:`BatchedGridSearchCV`: ``GridSearchCV`` whose fits train as one
vectorized JAX run per network structure."""

from __future__ import annotations

import numbers
import time

import numpy as np
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid, check_cv
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from skrobust.model_selection._batched import evaluate


def _delegate_has(attr):
    def check(self):
        if not self.refit:
            return False
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attr)
            return True
        getattr(self.estimator, attr)
        return True

    return check


def is_multimetric(scoring) -> bool:
    return isinstance(scoring, list | tuple | set | dict)


def metric_names(scoring, results):
    """Score names: ``["score"]`` for one metric, else the metric names."""
    if isinstance(scoring, dict):
        return list(scoring)
    if isinstance(scoring, list | tuple | set):
        return list(scoring)
    for row in results:
        for r in row:
            if r["test"] is not None:
                return list(r["test"])
    return ["score"]


def score_array(results, names, which, error_score):
    """``{name: array (n_candidates, n_splits)}`` with ``error_score`` where a
    fit or a score failed."""
    n_c, n_s = len(results), len(results[0]) if results else 0
    out = {n: np.full((n_c, n_s), np.nan, dtype=np.float64) for n in names}
    fill = error_score if isinstance(error_score, numbers.Number) else np.nan
    for c, row in enumerate(results):
        for s, r in enumerate(row):
            scores = r[which]
            for n in names:
                out[n][c, s] = fill if scores is None else scores.get(n, fill)
    return out


def _rank(means):
    if np.isnan(means).all():
        return np.ones_like(means, dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32)


def _param_arrays(candidates):
    names = sorted({k for p in candidates for k in p})
    out = {}
    for name in names:
        present = [name in p for p in candidates]
        values = [p.get(name) for p in candidates]
        kept = [v for v, ok in zip(values, present, strict=True) if ok]
        numeric = all(
            isinstance(v, numbers.Number) and not isinstance(v, bool) for v in kept
        )
        if numeric:
            data = np.array(
                [v if ok else 0 for v, ok in zip(values, present, strict=True)]
            )
        else:
            data = np.empty(len(values), dtype=object)
            data[:] = values
        out[f"param_{name}"] = np.ma.MaskedArray(data, mask=[not ok for ok in present])
    return out


def format_results(candidates, results, names, error_score, return_train_score):
    """``cv_results_`` in scikit-learn's layout."""
    n_s = len(results[0])
    out: dict = {}
    for key in ("fit_time", "score_time"):
        a = np.array([[r[key] for r in row] for row in results])
        out[f"mean_{key}"] = a.mean(axis=1)
        out[f"std_{key}"] = a.std(axis=1)
    out.update(_param_arrays(candidates))
    out["params"] = candidates
    test = score_array(results, names, "test", error_score)
    train = (
        score_array(results, names, "train", error_score) if return_train_score else {}
    )
    for n in names:
        for s in range(n_s):
            out[f"split{s}_test_{n}"] = test[n][:, s]
        out[f"mean_test_{n}"] = test[n].mean(axis=1)
        out[f"std_test_{n}"] = test[n].std(axis=1)
        out[f"rank_test_{n}"] = _rank(out[f"mean_test_{n}"])
        if return_train_score:
            for s in range(n_s):
                out[f"split{s}_train_{n}"] = train[n][:, s]
            out[f"mean_train_{n}"] = train[n].mean(axis=1)
            out[f"std_train_{n}"] = train[n].std(axis=1)
    return out


class BatchedGridSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Exhaustive search over a parameter grid, training many fits as one
    vectorized JAX run.

    A drop-in for :class:`sklearn.model_selection.GridSearchCV` over a
    skrobust estimator (alone or as the last step of a ``Pipeline``). Every
    (candidate, fold) pair is a *member*. On the JAX backend, members whose
    network has the same structure and training configuration train together
    in one ``jax.vmap``-ed loop: noise stds, dropout rates, learning rate,
    momentum, seed and the fold itself are per-member data. Each member equals
    the plain fit ``GridSearchCV`` would make (same initial weights, shuffles
    and noise draws) up to float rounding. Members that share a seed, which is
    every member when ``random_state`` is a fixed int, share every random draw
    (common random numbers), drawn once per step for all of them.

    Anything that cannot batch falls back to ordinary fits with the same
    results ``GridSearchCV`` gives: other estimators, ``validation_fraction``
    or ``early_stopping``, ``class_weight``, fit parameters other than
    ``sample_weight``, and the TensorFlow backend.

    Parameters
    ----------
    estimator : estimator
        A skrobust estimator or a ``Pipeline`` ending in one (anything else is
        evaluated with ordinary fits).
    param_grid : dict or list of dicts
        As in ``GridSearchCV``.
    scoring : str, callable, list, tuple, dict or None, default=None
        As in ``GridSearchCV`` (``None``: the estimator's ``score``).
    n_jobs : int, default=None
        Parallel jobs for the fallback fits only (batched members already
        share one run).
    refit : bool, str or callable, default=True
        Refit the best candidate on all of ``X`` with a plain fit; with
        multiple metrics, the metric's name (or a callable) choosing it.
    cv : int, cross-validation generator or iterable, default=None
        As in ``GridSearchCV`` (5-fold, stratified for classifiers).
    verbose : int, default=0
        Print what is batched and what falls back.
    error_score : "raise" or float, default=np.nan
        Score of a member whose fit fails.
    return_train_score : bool, default=False
        Also score each member on its training rows.
    memory_budget : int, default=None
        Bytes one batched run may use (estimated); larger groups are split
        into equal chunks. ``None`` means 1 GiB.
    max_members : int, default=None
        At most this many members per batched run.

    Attributes
    ----------
    cv_results_ : dict of ndarray
        scikit-learn's layout: ``params``, ``param_<name>``,
        ``split<i>_test_<score>``, ``mean/std/rank_test_<score>``,
        ``mean/std_fit_time``, ``mean/std_score_time`` (a batched run's time is
        divided among its members), train scores when asked.
    best_estimator_, best_params_, best_score_, best_index_ :
        As in ``GridSearchCV``.
    refit_time_ : float
        Seconds the refit took.
    scorer_ : callable
        The scorer (a multi-metric scorer with several metrics).
    multimetric_ : bool
        Whether several metrics were scored.
    n_splits_ : int
        Number of cross-validation splits.
    batch_info_ : dict
        Members, how many trained batched and how many fell back (and why),
        and the number of batched runs.

    Examples
    --------
    >>> from sklearn.datasets import make_circles
    >>> from skrobust import NoisyMLPClassifier
    >>> from skrobust.model_selection import BatchedGridSearchCV
    >>> X, y = make_circles(n_samples=60, noise=0.1, random_state=1)
    >>> clf = NoisyMLPClassifier((8,), epochs=5, random_state=0)
    >>> search = BatchedGridSearchCV(clf, {"noise_std": [0.0, 0.1]}, cv=3)
    >>> search.fit(X, y).cv_results_["mean_test_score"].shape
    (2,)
    """

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        error_score=np.nan,
        return_train_score=False,
        memory_budget=None,
        max_members=None,
    ):
        self.estimator = estimator
        self.param_grid = param_grid
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.verbose = verbose
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.memory_budget = memory_budget
        self.max_members = max_members

    def _candidates(self):
        return list(ParameterGrid(self.param_grid))

    def fit(self, X, y=None, *, groups=None, **fit_params):
        """Evaluate every candidate on every split, then refit the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, split by ``cv``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets.
        groups : array-like of shape (n_samples,), default=None
            Group labels for group-aware splitters.
        **fit_params : dict
            Passed to each fit (``sample_weight`` keeps members batched).

        Returns
        -------
        self : BatchedGridSearchCV
            The fitted search.
        """
        multimetric = is_multimetric(self.scoring)
        if (
            multimetric
            and self.refit is not False
            and not (callable(self.refit) or self.refit in self.scoring)
        ):
            raise ValueError(
                "For multi-metric scoring, the parameter refit must be set to a "
                "scorer key or a callable to refit an estimator with the best "
                "parameter setting on the whole data and make the best_* "
                f"attributes available for that metric. {self.refit!r} was "
                "passed."
            )
        scorer = check_scoring(self.estimator, scoring=self.scoring)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        candidates = self._candidates()
        results, report = evaluate(
            self.estimator,
            candidates,
            X,
            y,
            splits,
            scorer,
            multimetric=multimetric,
            fit_params=fit_params,
            return_train_score=self.return_train_score,
            error_score=self.error_score,
            memory_budget=self.memory_budget,
            max_members=self.max_members,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        names = metric_names(self.scoring, results)
        multimetric = multimetric or names != ["score"]
        self.cv_results_ = format_results(
            candidates, results, names, self.error_score, self.return_train_score
        )
        self.scorer_ = scorer
        self.multimetric_ = multimetric
        self.n_splits_ = len(splits)
        self.batch_info_ = report.as_dict()
        if self.refit is not False:
            if callable(self.refit):
                self.best_index_ = int(self.refit(self.cv_results_))
            else:
                metric = self.refit if multimetric else "score"
                self.best_index_ = int(self.cv_results_[f"rank_test_{metric}"].argmin())
                self.best_score_ = float(
                    self.cv_results_[f"mean_test_{metric}"][self.best_index_]
                )
            self.best_params_ = candidates[self.best_index_]
            best = clone(self.estimator).set_params(
                **clone(self.best_params_, safe=False)
            )
            start = time.perf_counter()
            best.fit(X, y, **fit_params)
            self.refit_time_ = time.perf_counter() - start
            self.best_estimator_ = best
        return self

    # -- delegation to the refit estimator -------------------------------------
    def score(self, X, y=None):
        """Score ``best_estimator_`` on ``X``, ``y`` with the refit metric.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data, as ``best_estimator_`` accepts it.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets (``None`` for unsupervised scorers).

        Returns
        -------
        score : float or dict
            ``scorer_``'s value; with several metrics, the one named by
            ``refit`` (all of them, as a dict, when ``refit`` is a callable).
        """
        check_is_fitted(self, "best_estimator_")
        s = self.scorer_(self.best_estimator_, X, y)
        if isinstance(s, dict):
            return s[self.refit] if isinstance(self.refit, str) else s
        return s

    @available_if(_delegate_has("predict"))
    def predict(self, X):
        """Call ``predict`` on the refit ``best_estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data, as ``best_estimator_`` accepts it.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``best_estimator_.predict(X)``.
        """
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_delegate_has("predict_proba"))
    def predict_proba(self, X):
        """Call ``predict_proba`` on the refit ``best_estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data, as ``best_estimator_`` accepts it.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``best_estimator_.predict_proba(X)``, columns in ``classes_`` order.
        """
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    @available_if(_delegate_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Call ``predict_log_proba`` on the refit ``best_estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data, as ``best_estimator_`` accepts it.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``best_estimator_.predict_log_proba(X)``, columns in ``classes_``
            order.
        """
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_delegate_has("decision_function"))
    def decision_function(self, X):
        """Call ``decision_function`` on the refit ``best_estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data, as ``best_estimator_`` accepts it.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            ``best_estimator_.decision_function(X)``.
        """
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.decision_function(X)

    @available_if(_delegate_has("transform"))
    def transform(self, X):
        """Call ``transform`` on the refit ``best_estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data, as ``best_estimator_`` accepts it.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_new)
            ``best_estimator_.transform(X)``.
        """
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.transform(X)

    @property
    def classes_(self):
        """Class labels of ``best_estimator_`` (classifiers only)."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self):
        """Number of features ``best_estimator_`` was fitted on."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.n_features_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = clone(self.estimator).__sklearn_tags__()
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = sub.classifier_tags
        tags.regressor_tags = sub.regressor_tags
        tags.input_tags = sub.input_tags
        tags.target_tags.required = True
        return tags
