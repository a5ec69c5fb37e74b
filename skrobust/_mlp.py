"""The estimators: :class:`NoisyMLPClassifier` and :class:`NoisyMLPRegressor`.

The scikit-learn contract lives here (parameters, validation, fitted
attributes, tags); the network structure lives in ``_network.py`` and training
in ``skrobust.engine``.
"""

from __future__ import annotations

import numbers
import warnings
from abc import ABCMeta, abstractmethod

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from skrobust import engine
from skrobust._network import (
    NOISE_POSITIONS,
    NOISE_TYPES,
    NetworkSpec,
    build_keras_model,
    get_weights,
    init_weights,
    keras_initializer,
    set_hyperparameters,
    set_weights,
)
from skrobust._validation import Check, Interval, Options, validate_params
from skrobust.engine._core import DEFAULT_LEARNING_RATE

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _is_layer_sizes(value) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) > 0
        and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
            for v in value
        )
    )


def _is_noise_position(value) -> bool:
    if isinstance(value, str):
        return value in NOISE_POSITIONS
    return (
        isinstance(value, tuple | list)
        and len(value) > 0
        and all(isinstance(v, str) and v in NOISE_POSITIONS for v in value)
        and len(set(value)) == len(value)
        # One noise layer per hidden layer at most: pre and post would double
        # the same site's noise.
        and not {"pre_activation", "post_activation"} <= set(value)
    )


def _is_activation(value) -> bool:
    import keras

    return isinstance(value, str) and callable(keras.activations.get(value))


def _is_initializer(value) -> bool:
    return isinstance(value, str) and keras_initializer(value) is not None


def _noise_sites(position) -> tuple[str, ...]:
    positions = (position,) if isinstance(position, str) else tuple(position)
    return tuple(p for p in NOISE_POSITIONS if p in positions)


def _random_seeds(random_state, n: int) -> list[int]:
    """``n`` independent seeds derived from ``random_state`` without touching
    NumPy's global generator (``None`` draws fresh OS entropy)."""
    if isinstance(random_state, np.random.RandomState):
        return [int(s) for s in random_state.randint(0, 2**31 - 1, size=n)]
    if isinstance(random_state, np.random.Generator):
        return [int(s) for s in random_state.integers(0, 2**31 - 1, size=n)]
    rng = np.random.default_rng(random_state)
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=n)]


class BaseNoisyMLP(BaseEstimator, metaclass=ABCMeta):
    """Shared parameters, validation and training of the noisy MLPs.

    Not to be used directly; use :class:`NoisyMLPClassifier` or
    :class:`NoisyMLPRegressor`.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            Check(_is_layer_sizes, "a non-empty tuple of positive ints")
        ],
        "activation": [Check(_is_activation, "a Keras activation name")],
        "kernel_initializer": [Check(_is_initializer, "a Keras initializer name")],
        "noise_std": [Interval(numbers.Real, 0, None, closed="left")],
        "noise_position": [
            Check(
                _is_noise_position,
                f"one of {NOISE_POSITIONS} or a tuple of them (not both "
                "'pre_activation' and 'post_activation')",
            )
        ],
        "noise_type": [Options(NOISE_TYPES)],
        "noise_scale": [Options(("absolute", "feature"))],
        "input_dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "batchnorm": [Options((None, False, "before", "after"))],
        "max_norm": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "weight_noise_std": [Interval(numbers.Real, 0, None, closed="left")],
        "gradient_noise_eta": [Interval(numbers.Real, 0, None, closed="left")],
        "gradient_noise_gamma": [Interval(numbers.Real, 0, None, closed="left")],
        "optimizer": [Options(("adam", "sgd", "rmsprop"))],
        "learning_rate": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "epochs": [Interval(numbers.Integral, 1, None)],
        "batch_size": [Interval(numbers.Integral, 1, None)],
        "shuffle": [Options((True, False))],
        "validation_fraction": [None, Interval(numbers.Real, 0, 1, closed="neither")],
        "early_stopping": [Options((True, False))],
        "patience": [Interval(numbers.Integral, 1, None)],
        "random_state": [
            None,
            Interval(numbers.Integral, 0, 2**32 - 1),
            Check(
                lambda v: isinstance(v, np.random.RandomState | np.random.Generator),
                "a numpy RandomState or Generator",
            ),
        ],
        "verbose": [Interval(numbers.Integral, 0, None)],
    }
    # ``None`` in a constraint list means "None is allowed".
    for _constraints in _parameter_constraints.values():
        for _i, _c in enumerate(_constraints):
            if _c is None:
                _constraints[_i] = Options((None,))
    del _constraints, _i, _c

    @abstractmethod
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
        epochs=200,
        batch_size=32,
        shuffle=True,
        validation_fraction=None,
        early_stopping=False,
        patience=10,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.noise_std = noise_std
        self.noise_position = noise_position
        self.noise_type = noise_type
        self.noise_scale = noise_scale
        self.input_dropout = input_dropout
        self.dropout = dropout
        self.batchnorm = batchnorm
        self.max_norm = max_norm
        self.weight_noise_std = weight_noise_std
        self.gradient_noise_eta = gradient_noise_eta
        self.gradient_noise_gamma = gradient_noise_gamma
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    # -- what subclasses say -------------------------------------------------
    _score_name = "score"

    @abstractmethod
    def _encode_targets(self, y):
        """Validate ``y``, set target attributes, return (task, n_outputs,
        y in the engine's layout)."""

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
        validate_params(self)
        X, y_enc, weights, task, n_outputs = self._training_data(X, y, sample_weight)
        seed_init, seed_train, seed_split = _random_seeds(self.random_state, 3)
        X_val = y_val = None
        val_fraction = self.validation_fraction
        if self.early_stopping and val_fraction is None:
            val_fraction = 0.1
        if val_fraction is not None:
            stratify = (
                y_enc
                if task == "multiclass"
                else (y_enc[:, 0] if task == "binary" else None)
            )
            try:
                X, X_val, y_enc, y_val, weights, _ = train_test_split(
                    X,
                    y_enc,
                    weights,
                    test_size=val_fraction,
                    random_state=seed_split,
                    stratify=stratify,
                )
            except ValueError as exc:
                raise ValueError(
                    f"validation_fraction={val_fraction} cannot hold out a "
                    f"validation set from {X.shape[0]} samples: {exc}"
                ) from None

        spec = self._network_spec(X.shape[1], n_outputs, task)
        cfg = engine.make_config(
            optimizer=self.optimizer,
            batch_size=self.batch_size,
            n_train=X.shape[0],
            shuffle=self.shuffle,
            has_val=X_val is not None,
            early_stopping=self.early_stopping,
            patience=self.patience,
            epochs=self.epochs,
            verbose=self.verbose,
        )
        data = engine.prepare_data(X, y_enc, weights, X_val, y_val, cfg.batch_size)
        hyper = engine.hyper_arrays(**self._hyperparameters(X, y_enc))
        result = self._train(
            spec, cfg, init_weights(spec, seed_init), data, hyper, seed_train
        )

        self._spec = spec
        self._weights = result.weights
        self.__dict__.pop("_model", None)
        self.history_ = self._rename_history(result.history)
        self.loss_curve_ = list(self.history_["loss"])
        self.n_iter_ = result.n_iter
        if result.best_epoch is not None:
            self.best_epoch_ = result.best_epoch
            self.best_loss_ = self.history_["val_loss"][result.best_epoch]
        if result.diverged:
            warn_diverged(self, result.n_iter, stacklevel=4)
        return self

    def _network_spec(self, n_features, n_outputs, task) -> NetworkSpec:
        """The structure these parameters describe for data of this shape."""
        positions = _noise_sites(self.noise_position) if self.noise_std > 0 else ()
        return NetworkSpec(
            **self._output_noise_flags(),
            n_features=n_features,
            hidden_layer_sizes=tuple(int(u) for u in self.hidden_layer_sizes),
            n_outputs=n_outputs,
            task=task,
            activation=self.activation,
            kernel_initializer=self.kernel_initializer,
            noise_sites=positions,
            input_dropout=self.input_dropout > 0,
            dropout=self.dropout > 0,
            batchnorm=self.batchnorm or None,
            max_norm=None if self.max_norm is None else float(self.max_norm),
            # Without noise layers the type changes nothing; one value keeps
            # such fits on one compiled program.
            noise_type=self.noise_type if positions else "additive",
            weight_noise=self.weight_noise_std > 0,
            gradient_noise=self.gradient_noise_eta > 0,
        )

    def _output_noise_flags(self) -> dict:
        """Spec flags of the label or target noise (subclasses)."""
        return {}

    def _hyperparameters(self, X, y_enc) -> dict:
        """The engine's hyperparameters for training rows ``X`` and encoded
        targets ``y_enc`` (the data set the feature and target scales)."""
        lr = self.learning_rate
        if lr is None:
            lr = DEFAULT_LEARNING_RATE[self.optimizer]
        if self.noise_scale == "feature":
            input_scale = _column_std(X)
        else:
            input_scale = np.ones(X.shape[1])
        return {
            "noise_std": self.noise_std,
            "dropout": self.dropout,
            "input_dropout": self.input_dropout,
            "learning_rate": lr,
            "momentum": self.momentum,
            "input_noise_scale": input_scale,
            "weight_noise_std": self.weight_noise_std,
            "gradient_noise_eta": self.gradient_noise_eta,
            "gradient_noise_gamma": self.gradient_noise_gamma,
            **self._output_noise_hyper(y_enc),
        }

    def _output_noise_hyper(self, y_enc) -> dict:
        return {}

    def _train(self, spec, cfg, weights, data, hyper, seed):
        if not self.verbose:
            return engine.train(spec, cfg, weights, data, hyper, seed, self.epochs)
        from tqdm.auto import tqdm

        with tqdm(total=self.epochs, desc=type(self).__name__, unit="epoch") as bar:
            return engine.train(
                spec, cfg, weights, data, hyper, seed, self.epochs, progress=bar.update
            )

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
        always come from this model's current weights.
        """
        check_is_fitted(self)
        model = self.__dict__.get("_model")
        if model is None:
            model = build_keras_model(self._spec)
            set_weights(
                model, self._spec, self._weights["params"], self._weights["bn_state"]
            )
            set_hyperparameters(
                model,
                noise_std=self.noise_std,
                dropout=self.dropout,
                input_dropout=self.input_dropout,
            )
            self.__dict__["_model"] = model
        return model

    def _current_weights(self):
        model = self.__dict__.get("_model")
        if model is not None:
            return get_weights(model, self._spec)
        return self._weights

    def __getstate__(self):
        state = self.__dict__.copy()
        if "_model" in state:
            # Pickle plain arrays, not a Keras object: smaller, and loadable
            # under either backend.
            state["_weights"] = self._current_weights()
            del state["_model"]
        return state

    def _forward(self, X):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        weights = self._current_weights()
        if sparse.issparse(X):
            # Prediction needs no whole dense copy: rows are independent.
            step = _dense_rows_in_budget(X.shape[1])
            X = X.tocsr()
            out = np.concatenate(
                [
                    engine.predict(self._spec, weights, _densify(X[i : i + step]))
                    for i in range(0, X.shape[0], step)
                ]
            )
        else:
            out = engine.predict(self._spec, weights, X)
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


def warn_diverged(estimator, n_iter, stacklevel):
    warnings.warn(
        f"Training of {type(estimator).__name__} diverged (non-finite loss or "
        f"weights); training stopped and the weights after epoch {n_iter}, the "
        f"last known to give finite losses, were kept. Lower learning_rate or "
        f"rescale the inputs.",
        ConvergenceWarning,
        stacklevel=stacklevel,
    )


def _column_std(a):
    """Standard deviation of each column over the training rows (at most the
    largest absolute value, so it fits float32 as the validated data do)."""
    return np.std(np.asarray(a, dtype=np.float64), axis=0)


def _check_float32_range(X):
    values = X.data if sparse.issparse(X) else X
    if values.size and np.max(np.abs(values)) > _FLOAT32_MAX:
        raise ValueError(
            "Input X contains values too large for float32 (the precision "
            "skrobust trains in); rescale the features, e.g. with "
            "StandardScaler."
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


_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Units of each hidden ``Dense`` layer.
    activation : str, default="relu"
        Hidden-layer activation, any name ``keras.activations.get`` knows.
    kernel_initializer : str, default="glorot_uniform"
        Initializer of every ``Dense`` kernel, e.g. ``"he_uniform"``.
    noise_std : float, default=0.0
        Standard deviation of the Gaussian noise drawn afresh for every
        mini-batch during training at ``noise_position``. 0 disables noise.
        Values above 1 are allowed (Keras's own ``GaussianNoise`` refuses
        them). Noise acts only in training: predictions are deterministic.
    noise_position : str or tuple of str, default="pre_activation"
        Where the noise is added: ``"input"`` (to the features),
        ``"pre_activation"`` (``Dense -> noise -> activation`` in every hidden
        layer) or ``"post_activation"`` (``Dense -> activation -> noise``); a
        tuple combines sites, e.g. ``("input", "pre_activation")``. The
        default is hidden noise before the activation: it regularizes every
        layer without corrupting the features, and it is the variant the
        tutorials found best on the circles data.
    noise_type : {"additive", "multiplicative"}, default="additive"
        ``"additive"``: ``h + noise_std * eps`` (Keras's ``GaussianNoise``);
        ``"multiplicative"``: ``h * (1 + noise_std * eps)``, Gaussian dropout
        (Srivastava et al. 2014; Keras's ``GaussianDropout`` with
        ``rate = noise_std**2 / (1 + noise_std**2)``), whose size follows the
        size of each value. ``eps`` is standard normal.
    noise_scale : {"absolute", "feature"}, default="absolute"
        Unit of the data-space noise. ``"absolute"``: ``noise_std`` (and
        ``target_noise_std`` of the regressor) in the data's own units.
        ``"feature"``: relative to the standard deviation of each input
        feature (each target column) over the training rows, so features of
        different scales get comparable noise without rescaling first (a
        constant feature gets none).
        Applies to additive input noise and target noise; hidden-layer and
        multiplicative noise have no data unit and are unaffected.
    input_dropout : float, default=0.0
        Dropout rate on the inputs, in [0, 1).
    dropout : float, default=0.0
        Dropout rate after each hidden layer, in [0, 1).
    batchnorm : {None, False, "before", "after"}, default=None
        Batch normalization before or after each hidden activation.
    max_norm : float, default=None
        ``MaxNorm`` constraint on the hidden kernels (often paired with
        dropout).
    weight_noise_std : float, default=0.0
        Weight noise (Graves 2011): every mini-batch, the hidden layers'
        kernels are perturbed by Gaussian noise of this std for the forward
        and backward pass; the gradient found there updates the clean
        kernels. Biases and the output layer are not perturbed.
    gradient_noise_eta : float, default=0.0
        Annealed gradient noise (Neelakantan et al. 2015, "Adding gradient
        noise improves learning for very deep networks"): Gaussian noise of
        variance ``gradient_noise_eta / (1 + t) ** gradient_noise_gamma`` is
        added to every gradient entry at training step ``t`` (0, 1, ...),
        before the optimizer's update. The paper used eta in {0.01, 0.3, 1}.
        0 disables it.
    gradient_noise_gamma : float, default=0.55
        Decay exponent of the gradient noise variance (the paper's value).
    optimizer : {"adam", "sgd", "rmsprop"}, default="adam"
        Keras's update rule and default constants.
    learning_rate : float, default=None
        ``None`` uses Keras's default for the optimizer (0.001 for Adam and
        RMSprop, 0.01 for SGD).
    momentum : float, default=0.0
        Momentum of SGD, in [0, 1).
    epochs : int, default=200
        Passes over the training data.
    batch_size : int, default=32
        Mini-batch size (Keras's default); capped at the number of samples.
    shuffle : bool, default=True
        Reshuffle the training rows every epoch.
    validation_fraction : float, default=None
        Fraction of the training data held out to record ``val_loss`` and
        the validation score each epoch (stratified for classifiers).
        ``None`` holds nothing out, unless ``early_stopping`` is set, which
        uses 0.1.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved for ``patience``
        epochs, and keep the weights of the best epoch.
    patience : int, default=10
        Epochs without improvement before early stopping.
"""

_COMMON_TAIL_DOC = """
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling, the noise and dropout draws
        and the validation split. An int gives identical predictions across
        fits and processes. skrobust never reads or changes NumPy's, Python's
        or Keras's global random state.
    verbose : int, default=0
        Show a progress bar over the epochs when > 0.

    Attributes
    ----------
    model_ : keras.Model
        The trained network (built on first access).
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
        + _PARAMS_DOC
        + """    label_smoothing : float, default=0.0
        Keras's label smoothing, in [0, 1): targets become
        ``onehot * (1 - label_smoothing) + label_smoothing / n_classes``
        (``n_classes`` is 2 for binary problems) in the training loss.
    label_flip_rate : float, default=0.0
        Label noise, in [0, 1]: in every mini-batch each training label is
        replaced, with this probability and afresh each time, by another
        class drawn uniformly from the rest (binary: the other class). The
        data are never changed; the recorded training accuracy compares with
        the true labels.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, multiplied into ``sample_weight``.
"""
        + _COMMON_TAIL_DOC.format(score="accuracy")
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
    _parameter_constraints = {
        **BaseNoisyMLP._parameter_constraints,
        "label_smoothing": [Interval(numbers.Real, 0, 1, closed="left")],
        "label_flip_rate": [Interval(numbers.Real, 0, 1, closed="both")],
        "class_weight": [
            Options((None, "balanced")),
            Check(lambda v: isinstance(v, dict), "a dict"),
        ],
    }

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
        epochs=200,
        batch_size=32,
        shuffle=True,
        validation_fraction=None,
        early_stopping=False,
        patience=10,
        label_smoothing=0.0,
        label_flip_rate=0.0,
        class_weight=None,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            kernel_initializer=kernel_initializer,
            noise_std=noise_std,
            noise_position=noise_position,
            noise_type=noise_type,
            noise_scale=noise_scale,
            input_dropout=input_dropout,
            dropout=dropout,
            batchnorm=batchnorm,
            max_norm=max_norm,
            weight_noise_std=weight_noise_std,
            gradient_noise_eta=gradient_noise_eta,
            gradient_noise_gamma=gradient_noise_gamma,
            optimizer=optimizer,
            learning_rate=learning_rate,
            momentum=momentum,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=shuffle,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            patience=patience,
            random_state=random_state,
            verbose=verbose,
        )
        self.label_smoothing = label_smoothing
        self.label_flip_rate = label_flip_rate
        self.class_weight = class_weight

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

    def _output_noise_flags(self):
        return {
            "label_smoothing": self.label_smoothing > 0,
            "label_flip": self.label_flip_rate > 0,
        }

    def _output_noise_hyper(self, y_enc):
        return {
            "label_smoothing": self.label_smoothing,
            "label_flip_rate": self.label_flip_rate,
        }

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in the order of
        ``classes_``."""
        out = self._forward(X)
        if self._spec.task == "binary":
            p = out[:, 0].astype(np.float64)
            return np.column_stack([1.0 - p, p])
        return out.astype(np.float64)

    def predict(self, X):
        """Most probable class of each sample."""
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
        + _PARAMS_DOC
        + """    target_noise_std : float, default=0.0
        Target noise: every mini-batch, the regression targets are fitted
        with Gaussian noise of this std added (in the target's units, or
        relative to each target column's training std with
        ``noise_scale="feature"``). The data are never changed.
"""
        + _COMMON_TAIL_DOC.format(score="r2")
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
    _parameter_constraints = {
        **BaseNoisyMLP._parameter_constraints,
        "target_noise_std": [Interval(numbers.Real, 0, None, closed="left")],
    }

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
        epochs=200,
        batch_size=32,
        shuffle=True,
        validation_fraction=None,
        early_stopping=False,
        patience=10,
        target_noise_std=0.0,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            kernel_initializer=kernel_initializer,
            noise_std=noise_std,
            noise_position=noise_position,
            noise_type=noise_type,
            noise_scale=noise_scale,
            input_dropout=input_dropout,
            dropout=dropout,
            batchnorm=batchnorm,
            max_norm=max_norm,
            weight_noise_std=weight_noise_std,
            gradient_noise_eta=gradient_noise_eta,
            gradient_noise_gamma=gradient_noise_gamma,
            optimizer=optimizer,
            learning_rate=learning_rate,
            momentum=momentum,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=shuffle,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            patience=patience,
            random_state=random_state,
            verbose=verbose,
        )
        self.target_noise_std = target_noise_std

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

    def _output_noise_flags(self):
        return {"target_noise": self.target_noise_std > 0}

    def _output_noise_hyper(self, y_enc):
        if self.noise_scale == "feature":
            scale = _column_std(y_enc)
        else:
            scale = np.ones(y_enc.shape[1])
        return {"target_noise_std": self.target_noise_std, "target_noise_scale": scale}

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs)."""
        out = self._forward(X).astype(np.float64)
        return out[:, 0] if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
