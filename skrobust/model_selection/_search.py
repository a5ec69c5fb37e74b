""":class:`BatchedGridSearchCV`: ``GridSearchCV`` whose fits train as
vectorized JAX runs, one network structure per run."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid, check_cv
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from skrobust.model_selection._batched import evaluate
from skrobust.model_selection._dispatch import call_interruptibly
from skrobust.model_selection._results import (
    check_refit,
    format_results,
    is_multimetric,
    metric_names,
)


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


class BatchedGridSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Exhaustive search over a parameter grid, training many fits together
    in vectorized JAX runs.

    A drop-in for :class:`sklearn.model_selection.GridSearchCV` over a
    skrobust estimator (alone or as the last step of a ``Pipeline``). Every
    (candidate, fold) pair is a *member*. Members whose network has the same
    structure and training configuration train together in ``jax.vmap``-ed
    loops: noise stds, dropout rates, learning rate,
    momentum, seed and the fold itself are per-member data. Each member equals
    the plain fit ``GridSearchCV`` would make (same initial weights, shuffles
    and noise draws) up to float rounding. Members that share a seed, which is
    every member when ``random_state`` is a fixed int, share every random draw
    (common random numbers), drawn once per step for all of them.

    The members of a structure are cut into runs of a size fixed by the
    grid and the data (``max_members``), never by ``n_jobs``, and joblib
    spreads the runs over ``n_jobs`` worker processes (over a Dask cluster's
    workers inside ``joblib.parallel_config(backend="dask")``): the results
    are bit-identical whatever ``n_jobs``.

    Anything that cannot batch falls back to ordinary fits, in the same pool
    of workers, with the same results ``GridSearchCV`` gives: other
    estimators, ``validation_fraction`` or ``early_stopping``,
    ``class_weight``, and fit parameters other than ``sample_weight``.

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
        Worker processes (joblib, ``loky`` by default) that share the
        batched runs and the fallback fits; ``None`` means 1 unless a
        ``joblib.parallel_config`` says otherwise, ``-1`` all CPUs. Each
        worker compiles the programs of the runs it trains once.
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
        Bytes one batched run may use (estimated), in each worker: a worker
        trains one run at a time, so ``n_jobs`` workers together may use
        ``n_jobs`` times this. Larger groups are cut into equal runs.
        ``None``: a quarter of the memory free when ``fit`` starts (the
        GPU's, or the host's on a CPU), rounded down to a power of two
        (1 GiB where it cannot be measured). A run that still runs out of
        memory is split in halves and retried, down to single networks,
        with a warning.
    max_members : int, default=None
        At most this many networks per batched run (a seed ensemble of k
        members counts k). ``None``: 8 on a CPU, where a network's cost
        hardly falls in larger runs and smaller runs share out over
        ``n_jobs`` workers; on a GPU, as many as ``memory_budget`` allows.
    checkpoint : str or os.PathLike, default=None
        A folder (created if missing) where each finished batched run and
        plain fit is stored as it finishes, atomically, under a hash of
        everything that determines it. A ``fit`` with the same folder reuses
        every stored part whose inputs are unchanged and trains only the
        rest, with the same results as an uninterrupted search: so a search
        interrupted (Ctrl-C) or killed can be resumed, and a finished one is
        not trained again. Files are read without pickle; delete the folder
        to start afresh. ``None`` keeps nothing.

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
        the number of batched runs, the memory budget they were planned
        with, how many runs were split after running out of memory and how
        many parts were read from ``checkpoint``.

    Notes
    -----
    An interrupted ``fit`` (Ctrl-C, which stops it within a fraction of a
    second, or any error) sets no attribute: the search is left as it was
    before the call, as scikit-learn leaves its searches.

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
        checkpoint=None,
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
        self.checkpoint = checkpoint

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
        check_refit(self.scoring, self.refit)
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
            checkpoint=self.checkpoint,
        )
        names = metric_names(self.scoring, results)
        multimetric = multimetric or names != ["score"]
        # Every attribute is set at the end, in one step: a fit interrupted
        # anywhere (the refit included) leaves none set.
        fitted = {
            "cv_results_": format_results(
                candidates, results, names, self.error_score, self.return_train_score
            ),
            "scorer_": scorer,
            "multimetric_": multimetric,
            "n_splits_": len(splits),
            "batch_info_": report.as_dict(),
        }
        if self.refit is not False:
            cv_results = fitted["cv_results_"]
            if callable(self.refit):
                fitted["best_index_"] = int(self.refit(cv_results))
            else:
                metric = self.refit if multimetric else "score"
                fitted["best_index_"] = int(cv_results[f"rank_test_{metric}"].argmin())
                fitted["best_score_"] = float(
                    cv_results[f"mean_test_{metric}"][fitted["best_index_"]]
                )
            fitted["best_params_"] = candidates[fitted["best_index_"]]
            best = clone(self.estimator).set_params(
                **clone(fitted["best_params_"], safe=False)
            )
            start = time.perf_counter()
            call_interruptibly(best.fit, X, y, **fit_params)
            fitted["refit_time_"] = time.perf_counter() - start
            fitted["best_estimator_"] = best
        self.__dict__.update(fitted)
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
