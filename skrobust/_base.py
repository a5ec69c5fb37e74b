"""What the two estimators share: :class:`BaseNoisyMLP` (input validation,
the fit, the fitted ``model_``, pickling, the forward pass, tags) and the
``Attributes`` section of their docstrings.

Each estimator adds its signature, target encoding and outputs in
``_classifier.py`` or ``_regressor.py``. The parameters' constraints and docs
are declared in ``_knobs/``, the checks of ``X`` and ``sample_weight`` in
``_inputs.py``, what a fit computes in ``_plan.py`` and what it keeps in
``_fitted.py``, the network structure in ``_spec.py`` (its Keras model in
``_network.py``) and training in ``skrobust.engine``.
"""

from __future__ import annotations

import inspect
from abc import ABCMeta, abstractmethod

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from skrobust import _fitted, _plan, engine
from skrobust._inputs import (
    check_float32_range,
    check_sample_weight,
    dense_rows_in_budget,
    densify,
)
from skrobust._network import (
    build_ensemble_model,
    build_keras_model,
    ensemble_members,
    get_weights,
    set_hyperparameters,
    set_weights,
)


class BaseNoisyMLP(BaseEstimator, metaclass=ABCMeta):
    """Shared parameters, validation and training of the noisy MLPs.

    Not to be used directly; use :class:`NoisyMLPClassifier` or
    :class:`NoisyMLPRegressor`.
    """

    def _store_params(self, params: dict) -> None:
        """``__init__``'s one job: keep every argument as given."""
        for name in self._get_param_names():
            setattr(self, name, params[name])

    # -- what subclasses say -------------------------------------------------
    _score_name = "score"

    @abstractmethod
    def _encode_targets(self, y, reset=True, classes=None):
        """Validate ``y``, set target attributes (``reset``) or check ``y``
        against them, return (task, n_outputs, y in the engine's layout).
        ``classes``: a classifier's classes, given to ``partial_fit``."""

    @abstractmethod
    def _outputs_problem(self, spec) -> str | None:
        """What is wrong, if anything, with the target attributes set by
        ``_encode_targets`` (``classes_`` ...) as a description of the
        outputs of network ``spec`` (a loaded file must not disagree)."""

    # -- the fit -------------------------------------------------------------
    def _validate_X(self, X, reset):
        """``X`` checked as scikit-learn checks it; sparse input stays sparse
        (CSR) here, and is densified where it is used."""
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=["csr", "csc"],
            dtype=np.float64,
            ensure_all_finite=True,
        )
        check_float32_range(X)
        return X

    def _training_data(self, X, y, sample_weight, incremental=False, classes=None):
        """Validated training arrays: ``(X, y in the engine's layout, sample
        weights times class weights, task, n_outputs)``; sets the input and
        target attributes (``n_features_in_``, ``classes_`` ...), except on a
        ``partial_fit`` call after the first (``incremental`` with a fitted
        estimator), which checks ``X`` and ``y`` against them."""
        reset = not (incremental and hasattr(self, "_weights"))
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse=["csr", "csc"],
            dtype=np.float64,
            ensure_all_finite=True,
            multi_output=True,
            y_numeric=False,
        )
        check_float32_range(X)
        X = densify(X)
        weights = check_sample_weight(sample_weight, X.shape[0])
        if not np.any(weights > 0):
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        task, n_outputs, y_enc = self._encode_targets(y, reset=reset, classes=classes)
        weights = weights * self._class_weights(y_enc, task)
        return X, y_enc, weights, task, n_outputs

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        plan = _plan.plan_fit(
            self, X, y, sample_weight, incremental=incremental, classes=classes
        )
        result = self._train(plan)
        _fitted.apply_result(self, plan, result, stacklevel=3)
        return self

    # -- scikit-learn's MLP attributes -----------------------------------------
    @property
    def coefs_(self) -> list:
        """The kernels of the ``Dense`` layers, as scikit-learn's ``coefs_``.

        A list of arrays of shape (n_inputs, n_units), the output layer's
        last (for an ensemble, the first member's)."""
        check_is_fitted(self)
        return [np.asarray(k) for k in self._members_weights()[0]["params"]["kernels"]]

    @property
    def intercepts_(self) -> list:
        """The biases of the ``Dense`` layers, as scikit-learn's ``intercepts_``.

        A list of arrays of shape (n_units,) (for an ensemble, the first
        member's)."""
        check_is_fitted(self)
        return [np.asarray(b) for b in self._members_weights()[0]["params"]["biases"]]

    def _network_spec(self, n_features, n_outputs, task):
        """The structure these parameters describe for data of this shape."""
        params = self.get_params(deep=False)
        return _plan.network_spec(params, n_features, n_outputs, task)

    def _hyperparameters(self, X, y_enc) -> dict:
        """The engine's hyperparameters for training rows ``X`` and encoded
        targets ``y_enc`` (the data set the feature and target scales)."""
        return _plan.engine_hyper(self.get_params(deep=False), X, y_enc)

    def _train(self, plan):
        """One ``engine.TrainResult``, or a list of them (one per member) for
        an ensemble."""
        if len(plan.members) > 1 and _vectorizes(plan):
            results = _train_vectorized(plan)
            if self.verbose:
                print(
                    f"{type(self).__name__}: trained {len(results)} members "
                    f"together for {plan.epochs} epochs",
                    flush=True,
                )
            return results
        progress, bar = None, None
        if self.verbose:
            from tqdm.auto import tqdm

            total = plan.epochs * len(plan.members)
            bar = tqdm(total=total, desc=type(self).__name__, unit="epoch")
            progress = bar.update
        try:
            results = [
                engine.train(
                    plan.spec,
                    plan.cfg,
                    m.weights,
                    m.data(plan.data),
                    plan.hyper,
                    m.seed,
                    plan.epochs,
                    progress=progress,
                    opt=m.opt,
                    step=m.step,
                )
                for m in plan.members
            ]
        finally:
            if bar is not None:
                bar.close()
        return results[0] if len(results) == 1 else results

    def _class_weights(self, y_enc, task):
        return 1.0

    def _rename_history(self, history):
        names = {"score": self._score_name, "val_score": f"val_{self._score_name}"}
        return {names.get(k, k): v for k, v in history.items()}

    # -- fitted state ----------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_weights")

    @property
    def model_(self):
        """The trained ``keras.Model`` (built on first access).

        Noise and dropout layers hold the training rates but act only when the
        model is called with ``training=True``. Predictions of the estimator
        always come from this model's current weights. For an ensemble
        (``n_members > 1``), the members' networks (layers ``member_0``,
        ``member_1`` ...) side by side on one input, their outputs averaged
        by a ``keras.layers.Average`` layer: the model's output is what
        ``predict_proba`` (classifier) or ``predict`` (regressor) returns.
        """
        check_is_fitted(self)
        model = self.__dict__.get("_model")
        if model is None:
            if isinstance(self._weights, list):
                model = build_ensemble_model(self._spec, len(self._weights))
                networks = ensemble_members(model, len(self._weights))
            else:
                model = build_keras_model(self._spec)
                networks = [model]
            for network, w in zip(networks, self._members_weights(), strict=True):
                set_weights(network, self._spec, w["params"], w["bn_state"])
                set_hyperparameters(network, self.get_params(deep=False))
            self.__dict__["_model"] = model
        return model

    def _current_weights(self):
        """The weights in the engine's layout: one dict, or a list of them
        (one per member) for an ensemble."""
        model = self.__dict__.get("_model")
        if model is None:
            return self._weights
        if isinstance(self._weights, list):
            return [
                get_weights(network, self._spec)
                for network in ensemble_members(model, len(self._weights))
            ]
        return get_weights(model, self._spec)

    def _members_weights(self) -> list:
        weights = self._current_weights()
        return weights if isinstance(weights, list) else [weights]

    def __getstate__(self):
        state = self.__dict__.copy()
        if "_model" in state:
            # Pickle plain arrays, not a Keras object: smaller, and loadable
            # under either backend.
            state["_weights"] = self._current_weights()
            del state["_model"]
        return state

    def __setstate__(self, state):
        # A pickle of an older skrobust lacks the parameters added since
        # (``tol``, ``warm_start`` ...): they take their defaults, so that
        # ``get_params``, ``clone`` and a refit work; predictions read only
        # the fitted state and do not change.
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
            if name != "self" and name not in state
        }
        super().__setstate__({**defaults, **state})

    def _forward(self, X):
        """The network's outputs; for an ensemble, the members' mean
        (float64)."""
        out = self._forward_members(X)
        return out[0] if out.shape[0] == 1 else out.astype(np.float64).mean(axis=0)

    def _forward_members(self, X):
        """Each member's outputs, of shape (n_members, n_samples, n_outputs)."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        members = self._members_weights()

        def outputs(X):
            return np.stack([engine.predict(self._spec, w, X) for w in members])

        if sparse.issparse(X):
            # Prediction needs no whole dense copy: rows are independent.
            step = dense_rows_in_budget(X.shape[1])
            X = X.tocsr()
            out = np.concatenate(
                [outputs(densify(X[i : i + step])) for i in range(0, X.shape[0], step)],
                axis=1,
            )
        else:
            out = outputs(X)
        if not np.all(np.isfinite(out)):
            raise ValueError(
                f"{type(self).__name__} produced non-finite outputs for some "
                "inputs: the inputs lie far outside the training range or the "
                "weights overflow float32 (training may have diverged; lower "
                "learning_rate or rescale the inputs)."
            )
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags


def _vectorizes(plan) -> bool:
    """Whether the members of ``plan`` train as one vectorized run: without
    a validation set (the batched loop has no validation pass) and from a
    fresh optimizer."""
    return not plan.cfg.has_val and all(m.opt is None for m in plan.members)


def _train_vectorized(plan) -> list:
    """The members of ``plan`` trained together by ``jax.vmap`` (one
    ``engine.TrainResult`` per member; each equals the member's own
    ``engine.train`` up to float rounding)."""
    from skrobust.engine import _jax_batched

    data, hyper = _jax_batched.stack_members(
        [m.data(plan.data) for m in plan.members], [plan.hyper] * len(plan.members)
    )
    return _jax_batched.train_members(
        plan.spec,
        plan.cfg,
        [m.weights for m in plan.members],
        data,
        hyper,
        [m.seed for m in plan.members],
        plan.epochs,
    )


# The fitted attributes of both estimators; ``{score}`` is the training
# score's name in ``history_``.
ATTRIBUTES_DOC = """
    Attributes
    ----------
    model_ : keras.Model
        The trained network (built on first access); for an ensemble, the
        members side by side with the average of their outputs.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names, when ``X`` was a DataFrame with string column names.
    history_ : dict of str to list of float
        Per-epoch ``loss`` and training ``{score}`` (measured on the noisy
        training mini-batches), plus ``val_loss`` and ``val_{score}`` when a
        validation fraction is held out.
    loss_curve_ : list of float
        The training loss per epoch (``history_["loss"]``).
    n_iter_ : int
        Epochs run (over all calls, with ``warm_start`` or ``partial_fit``).
    t_ : int
        Training samples seen, as scikit-learn counts them: ``n_iter_``
        times the training rows.
    best_loss_ : float or None
        The lowest training loss of the fit; None with early stopping (as
        scikit-learn's).
    validation_scores_ : list of float
        With a validation split (``validation_fraction`` or
        ``early_stopping``), the validation {score} per epoch.
    best_validation_score_ : float
        With a validation split, the validation {score} of the kept weights
        (early stopping) or the best epoch's.
    best_epoch_ : int
        With early stopping, the (0-based) epoch whose weights were kept.
    coefs_ : list of ndarray of shape (n_inputs, n_units)
        The kernels of the ``Dense`` layers, as scikit-learn's ``coefs_``.
    intercepts_ : list of ndarray of shape (n_units,)
        The biases of the ``Dense`` layers, as scikit-learn's
        ``intercepts_``.
    members_history_ : list of dict
        Ensembles only (``n_members > 1``): each member's ``history_``;
        ``history_`` and ``loss_curve_`` are then the members' mean per
        epoch and ``n_iter_`` the most epochs a member ran.
    members_n_iter_ : list of int
        Ensembles only: the epochs each member ran.
    members_best_epoch_ : list of int
        Ensembles with early stopping only: each member's kept epoch (the
        ensemble has no ``best_epoch_``).
    n_outputs_ : int
        Units of the output layer (1 for binary problems).
    out_activation_ : str
        The output activation in scikit-learn's names: ``"logistic"``,
        ``"softmax"`` or ``"identity"`` (Keras's ``sigmoid``, ``softmax``,
        ``linear``).
"""
