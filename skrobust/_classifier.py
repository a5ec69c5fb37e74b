""":class:`NoisyMLPClassifier`: class labels encoded for the network (one
sigmoid unit for two classes, softmax for more), class weights, and class
probabilities back."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from skrobust import _knobs
from skrobust._base import ATTRIBUTES_DOC, BaseNoisyMLP


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
        + ATTRIBUTES_DOC.format(score="accuracy")
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
        batch_size="auto",
        shuffle=True,
        validation_fraction=None,
        early_stopping=False,
        tol=1e-4,
        patience=10,
        warm_start=False,
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

        With ``warm_start`` on a fitted estimator, training carries on from
        its weights and optimizer state (``y`` must hold the same classes).

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

    def partial_fit(self, X, y, sample_weight=None, classes=None):
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
        y : array-like of shape (n_samples,)
            Class labels; each must be one of ``classes``.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole data set, e.g. ``np.unique(y_all)``:
            required on the first call (a chunk need not hold them all),
            and if given later, the same as on the first.

        Returns
        -------
        self : NoisyMLPClassifier
            The updated estimator.
        """
        first = not hasattr(self, "_weights")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first and classes is not None:
            if not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last "
                    f"call to partial_fit, was: {self.classes_!r}"
                )
        return self._fit(
            X,
            y,
            sample_weight,
            incremental=True,
            classes=None if classes is None else np.unique(classes),
        )

    def _encode_targets(self, y, reset=True, classes=None):
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
        if classes is None and not reset:
            classes = self.classes_
        if classes is None:
            encoder = LabelEncoder()
            y_int = encoder.fit_transform(y)
            self.classes_ = encoder.classes_
        else:
            unknown = np.setdiff1d(np.unique(y), classes)
            if len(unknown):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` "
                    f"has {classes}. 'y' has {np.unique(y)}."
                )
            self.classes_ = classes
            y_int = np.searchsorted(classes, y)
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
