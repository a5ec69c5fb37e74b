"""The estimators: :class:`NoisyMLPClassifier` and :class:`NoisyMLPRegressor`.

The scikit-learn contract lives here (signatures, input checks, target
encoding, prediction, tags). The parameters' constraints and docs are declared
in ``_knobs.py``, what a fit computes and keeps in ``_plan.py``, the network
structure in ``_network.py`` and training in ``skrobust.engine``.
"""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from skrobust import _knobs, _plan, engine
from skrobust._network import (
    build_ensemble_model,
    build_keras_model,
    ensemble_members,
    get_weights,
    set_hyperparameters,
    set_weights,
)

_FLOAT32_MAX = float(np.finfo(np.float32).max)


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
    def _encode_targets(self, y):
        """Validate ``y``, set target attributes, return (task, n_outputs,
        y in the engine's layout)."""

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
        _check_float32_range(X)
        return X

    def _training_data(self, X, y, sample_weight):
        """Validated training arrays: ``(X, y in the engine's layout, sample
        weights times class weights, task, n_outputs)``; sets the input and
        target attributes (``n_features_in_``, ``classes_`` ...)."""
        X, y = validate_data(
            self,
            X,
            y,
            reset=True,
            accept_sparse=["csr", "csc"],
            dtype=np.float64,
            ensure_all_finite=True,
            multi_output=True,
            y_numeric=False,
        )
        _check_float32_range(X)
        X = _densify(X)
        weights = _check_sample_weight(sample_weight, X.shape[0])
        if not np.any(weights > 0):
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        task, n_outputs, y_enc = self._encode_targets(y)
        weights = weights * self._class_weights(y_enc, task)
        return X, y_enc, weights, task, n_outputs

    def _fit(self, X, y, sample_weight=None):
        plan = _plan.plan_fit(self, X, y, sample_weight)
        result = self._train(plan)
        _plan.apply_result(self, plan.spec, result, stacklevel=3)
        return self

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
                set_hyperparameters(
                    network,
                    noise_std=self.noise_std,
                    dropout=self.dropout,
                    input_dropout=self.input_dropout,
                )
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
            step = _dense_rows_in_budget(X.shape[1])
            X = X.tocsr()
            out = np.concatenate(
                [
                    outputs(_densify(X[i : i + step]))
                    for i in range(0, X.shape[0], step)
                ],
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


def _check_float32_range(X):
    values = X.data if sparse.issparse(X) else X
    if values.size and np.max(np.abs(values)) > _FLOAT32_MAX:
        raise ValueError(
            "Input X contains values too large for float32 (the precision "
            "skrobust trains in); rescale the features, e.g. with "
            "StandardScaler."
        )


def _vectorizes(plan) -> bool:
    """Whether the members of ``plan`` train as one vectorized run: on JAX,
    without a validation set (the batched loop has no validation pass)."""
    import keras

    return keras.backend.backend() == "jax" and not plan.cfg.has_val


def _train_vectorized(plan) -> list:
    """The members of ``plan`` trained together by ``jax.vmap`` (one
    ``engine.TrainResult`` per member; each equals the member's own
    ``engine.train`` up to float rounding)."""
    from skrobust.engine import _jax_batched

    datas = [m.data(plan.data) for m in plan.members]
    data = {k: np.stack([d[k] for d in datas]) for k in plan.data}
    hyper = {k: np.stack([v] * len(datas)) for k, v in plan.hyper.items()}
    return _jax_batched.train_members(
        plan.spec,
        plan.cfg,
        [m.weights for m in plan.members],
        data,
        hyper,
        [m.seed for m in plan.members],
        plan.epochs,
    )


#: Largest dense copy, in bytes of float32, that a fit makes of sparse ``X``
#: (2 GiB). The compiled training loops index the rows of one dense array, so
#: sparse input is densified whole for training; prediction densifies a block
#: of rows at a time. Beyond this, densify ``X`` yourself (``X.toarray()``) or
#: encode fewer columns.
SPARSE_DENSIFY_BUDGET = 2 * 1024**3


def _dense_rows_in_budget(n_features):
    return max(1, SPARSE_DENSIFY_BUDGET // (4 * max(1, n_features)))


def _densify(X):
    """Sparse ``X`` as a new dense float32 array (dense ``X`` unchanged);
    a ValueError names the budget when the dense copy would exceed it."""
    if not sparse.issparse(X):
        return X
    n, d = X.shape
    need = n * d * 4
    if need > SPARSE_DENSIFY_BUDGET:
        raise ValueError(
            f"Sparse X of shape {X.shape} needs {_gib(need)} as a dense float32 "
            f"array, beyond skrobust's budget of {_gib(SPARSE_DENSIFY_BUDGET)} "
            "for densifying sparse input (the training loop works on dense "
            "arrays). Encode fewer columns (e.g. OneHotEncoder(min_frequency=...) "
            "or max_categories=...) or pass a dense array."
        )
    return X.astype(np.float32).toarray()


def _gib(n_bytes):
    return f"{n_bytes / 1024**3:.2f} GiB"


def _check_sample_weight(sample_weight, n_samples):
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float32)
    if np.isscalar(sample_weight):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    w = np.asarray(sample_weight)
    if w.dtype.kind == "c":
        raise ValueError("Complex data not supported in sample_weight.")
    if w.dtype.kind not in "biuf":
        try:
            w = w.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"sample_weight must be an array of numbers; got dtype {w.dtype}."
            ) from None
    w = w.astype(np.float64)
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(f"sample_weight.shape == {w.shape}, expected ({n_samples},)!")
    if not np.all(np.isfinite(w)):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if np.any(w < 0):
        raise ValueError("Negative values in data passed to sample_weight.")
    if np.any(w > _FLOAT32_MAX):
        raise ValueError(
            "sample_weight contains values too large for float32 (the precision "
            "skrobust trains in)."
        )
    return w.astype(np.float32)


_ATTRIBUTES_DOC = """
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
        Epochs run.
    best_epoch_ : int
        With early stopping, the (0-based) epoch whose weights were kept.
    best_loss_ : float
        With early stopping, the validation loss of that epoch.
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
        Keras name of the output activation: ``"sigmoid"``, ``"softmax"``
        or ``"linear"``.
"""


class NoisyMLPClassifier(ClassifierMixin, BaseNoisyMLP):
    __doc__ = (
        """Multi-layer perceptron classifier with noise regularization.

    A Keras MLP whose Gaussian noise, dropout, batch normalization and
    max-norm settings are ordinary scikit-learn hyperparameters, trained by a
    compiled whole-fit loop (far faster than ``keras.Model.fit`` on small
    data). Binary problems use one sigmoid unit and binary cross-entropy,
    multiclass problems softmax and categorical cross-entropy.
"""
        + _knobs.parameters_doc(_knobs.CLASSIFIER)
        + _ATTRIBUTES_DOC.format(score="accuracy")
        + """    classes_ : ndarray of shape (n_classes,)
        Class labels.

    Examples
    --------
    >>> from sklearn.datasets import make_circles
    >>> from skrobust import NoisyMLPClassifier
    >>> X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
    >>> clf = NoisyMLPClassifier((50,), noise_std=0.1, epochs=50, random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:2]).shape
    (2, 2)
"""
    )

    _score_name = "accuracy"
    _parameter_constraints = _knobs.parameter_constraints(_knobs.CLASSIFIER)

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        kernel_initializer="glorot_uniform",
        noise_std=0.0,
        noise_position="pre_activation",
        noise_type="additive",
        noise_scale="absolute",
        input_dropout=0.0,
        dropout=0.0,
        batchnorm=None,
        max_norm=None,
        weight_noise_std=0.0,
        gradient_noise_eta=0.0,
        gradient_noise_gamma=0.55,
        optimizer="adam",
        learning_rate=None,
        momentum=0.0,
        alpha=0.0,
        weight_decay=0.0,
        lr_schedule="constant",
        warmup_fraction=0.0,
        epochs=200,
        batch_size=32,
        shuffle=True,
        validation_fraction=None,
        early_stopping=False,
        patience=10,
        label_smoothing=0.0,
        label_flip_rate=0.0,
        class_weight=None,
        n_members=1,
        bootstrap=False,
        random_state=None,
        verbose=0,
    ):
        self._store_params(locals())

    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X`` and class labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (numeric; NaN and infinity are refused). A sparse
            matrix is densified for training, up to a float32 copy of
            ``SPARSE_DENSIFY_BUDGET`` bytes (2 GiB).
        y : array-like of shape (n_samples,)
            Class labels of any type (ints, strings ...).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.

        Returns
        -------
        self : NoisyMLPClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    def _encode_targets(self, y):
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. "
                "Please change the shape of y to (n_samples,), for example "
                "using ravel().",
                DataConversionWarning,
                stacklevel=4,
            )
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(
                f"{type(self).__name__} supports a single target column; got y "
                f"with shape {y.shape}."
            )
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {type_of_target(y)!r}.")
        encoder = LabelEncoder()
        y_int = encoder.fit_transform(y)
        self.classes_ = encoder.classes_
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in "
                f"the data, but the data contains only one class: "
                f"{self.classes_[0]!r}."
            )
        if n_classes == 2:
            return "binary", 1, y_int.astype(np.float32)[:, None]
        return "multiclass", n_classes, y_int.astype(np.int32)

    def _outputs_problem(self, spec):
        classes = getattr(self, "classes_", None)
        if (
            classes is None
            or spec.task not in ("binary", "multiclass")
            or (spec.n_outputs != (1 if len(classes) == 2 else len(classes)))
            or len(classes) < 2
        ):
            return "classes_ does not match the network's outputs"
        return None

    def _class_weights(self, y_enc, task):
        if self.class_weight is None:
            return 1.0
        labels = y_enc[:, 0].astype(int) if task == "binary" else y_enc
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight names labels that are not in the data: "
                    f"{sorted(unknown, key=str)!r}; the classes are "
                    f"{self.classes_.tolist()!r}."
                )
            cw = {
                i: float(self.class_weight.get(c, 1.0))
                for i, c in enumerate(self.classes_.tolist())
            }
            return compute_sample_weight(cw, labels).astype(np.float32)
        return compute_sample_weight("balanced", labels).astype(np.float32)

    def predict_proba(self, X):
        """Probability of each class for each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data (numeric; NaN and infinity are refused). Noise and
            dropout are off at prediction.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities (float64) in the order of ``classes_``; each
            row sums to 1.
        """
        out = self._forward(X)
        if self._spec.task == "binary":
            p = out[:, 0].astype(np.float64)
            return np.column_stack([1.0 - p, p])
        return out.astype(np.float64)

    def predict_members(self, X):
        """Class probabilities of each member of the ensemble.

        ``predict_proba`` is their mean over the first axis; their spread
        (e.g. ``predict_members(X).std(axis=0)``) shows how much the members
        disagree on each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data (numeric; NaN and infinity are refused).

        Returns
        -------
        proba : ndarray of shape (n_members, n_samples, n_classes)
            Each member's class probabilities (float64) in the order of
            ``classes_``; ``n_members`` is 1 for a single network.
        """
        out = self._forward_members(X).astype(np.float64)
        if self._spec.task == "binary":
            return np.stack([1.0 - out[..., 0], out[..., 0]], axis=-1)
        return out

    def predict(self, X):
        """Predict the most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data (numeric; NaN and infinity are refused).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The class labels, taken from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class NoisyMLPRegressor(RegressorMixin, BaseNoisyMLP):
    __doc__ = (
        """Multi-layer perceptron regressor with noise regularization.

    A Keras MLP (linear output, mean squared error) whose Gaussian noise,
    dropout, batch normalization and max-norm settings are ordinary
    scikit-learn hyperparameters, trained by a compiled whole-fit loop.
    Single and multi-output targets are supported.
"""
        + _knobs.parameters_doc(_knobs.REGRESSOR)
        + _ATTRIBUTES_DOC.format(score="r2")
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skrobust import NoisyMLPRegressor
    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1)
    >>> reg = NoisyMLPRegressor((16,), noise_std=0.05, epochs=20, random_state=0)
    >>> reg.fit(X, X[:, 0] ** 2).predict(X[:3]).shape
    (3,)
"""
    )

    _score_name = "r2"
    _parameter_constraints = _knobs.parameter_constraints(_knobs.REGRESSOR)

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        kernel_initializer="glorot_uniform",
        noise_std=0.0,
        noise_position="pre_activation",
        noise_type="additive",
        noise_scale="absolute",
        input_dropout=0.0,
        dropout=0.0,
        batchnorm=None,
        max_norm=None,
        weight_noise_std=0.0,
        gradient_noise_eta=0.0,
        gradient_noise_gamma=0.55,
        optimizer="adam",
        learning_rate=None,
        momentum=0.0,
        alpha=0.0,
        weight_decay=0.0,
        lr_schedule="constant",
        warmup_fraction=0.0,
        epochs=200,
        batch_size=32,
        shuffle=True,
        validation_fraction=None,
        early_stopping=False,
        patience=10,
        target_noise_std=0.0,
        n_members=1,
        bootstrap=False,
        random_state=None,
        verbose=0,
    ):
        self._store_params(locals())

    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X`` and real targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (numeric; NaN and infinity are refused). A sparse
            matrix is densified for training, up to a float32 copy of
            ``SPARSE_DENSIFY_BUDGET`` bytes (2 GiB).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.

        Returns
        -------
        self : NoisyMLPRegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    def _encode_targets(self, y):
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{type(self).__name__} needs numeric targets; got y of dtype "
                f"{np.asarray(y).dtype}."
            ) from None
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        if np.max(np.abs(y)) > _FLOAT32_MAX:
            raise ValueError("Input y contains values too large for float32.")
        self._y_ndim = y.ndim
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        return "regression", y2.shape[1], y2.astype(np.float32)

    def _outputs_problem(self, spec):
        y_ndim = getattr(self, "_y_ndim", None)
        if (
            spec.task != "regression"
            or y_ndim not in (1, 2)
            or (y_ndim == 1 and spec.n_outputs != 1)
        ):
            return "the regressor's target description is invalid"
        return None

    def predict(self, X):
        """Predict the targets of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data (numeric; NaN and infinity are refused). Noise and
            dropout are off at prediction.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted targets (float64), one column per output when the
            network was fitted on a two-dimensional ``y``.
        """
        out = self._forward(X).astype(np.float64)
        return out[:, 0] if self._y_ndim == 1 else out

    def predict_members(self, X):
        """Predictions of each member of the ensemble.

        ``predict`` is their mean over the first axis; their spread (e.g.
        ``predict_members(X).std(axis=0)``) shows how much the members
        disagree on each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data (numeric; NaN and infinity are refused).

        Returns
        -------
        y_pred : ndarray of shape (n_members, n_samples) or \
(n_members, n_samples, n_outputs)
            Each member's predicted targets (float64), shaped as ``predict``
            returns them; ``n_members`` is 1 for a single network.
        """
        out = self._forward_members(X).astype(np.float64)
        return out[..., 0] if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
