""":class:`NoisyMLPRegressor`: real targets (one column or several) for a
linear output layer, and predictions back in the shape ``y`` had."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from skrobust import _knobs
from skrobust._base import ATTRIBUTES_DOC, BaseNoisyMLP
from skrobust._inputs import FLOAT32_MAX


class NoisyMLPRegressor(RegressorMixin, BaseNoisyMLP):
    __doc__ = (
        """Multi-layer perceptron regressor with noise regularization.

    A Keras MLP (linear output, mean squared error) whose Gaussian noise,
    dropout, batch normalization and max-norm settings are ordinary
    scikit-learn hyperparameters, trained by a compiled whole-fit loop.
    Single and multi-output targets are supported.
"""
        + _knobs.parameters_doc(_knobs.REGRESSOR)
        + ATTRIBUTES_DOC.format(score="r2")
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
        batch_size="auto",
        shuffle=True,
        validation_fraction=None,
        early_stopping=False,
        tol=1e-4,
        patience=10,
        warm_start=False,
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

    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``X`` and ``y``, carrying on from earlier calls.

        It keeps the weights and optimizer state of earlier calls (or of
        ``fit``). Each call is one pass over the given rows in mini-batches of
        ``batch_size``, as scikit-learn's ``partial_fit``: a table too
        large for memory can be trained on chunk by chunk. Calls with
        chunks of equal size reuse one compiled program. ``early_stopping``
        and the convergence stop do not apply.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data of this call.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.

        Returns
        -------
        self : NoisyMLPRegressor
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _encode_targets(self, y, reset=True, classes=None):
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{type(self).__name__} needs numeric targets; got y of dtype "
                f"{np.asarray(y).dtype}."
            ) from None
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        if np.max(np.abs(y)) > FLOAT32_MAX:
            raise ValueError("Input y contains values too large for float32.")
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        if not reset and (y.ndim != self._y_ndim or y2.shape[1] != self.n_outputs_):
            raise ValueError(
                f"y has {y2.shape[1]} target column(s) of {y.ndim} dimension(s), "
                f"but {type(self).__name__} was fitted on "
                f"{self.n_outputs_} of {self._y_ndim}."
            )
        self._y_ndim = y.ndim
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
