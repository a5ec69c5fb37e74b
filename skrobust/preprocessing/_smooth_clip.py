"""Robust scaling followed by smooth clipping, RealMLP's numeric
preprocessing (Holzmüller et al., 2024): outliers can neither set the scale
nor reach the network as huge inputs."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data

from skrobust._validation import Check, Interval, validate_params


def _is_quantile_range(value) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(q, numbers.Real) and not isinstance(q, bool) for q in value)
        and 0 <= value[0] < value[1] <= 100
    )


class SmoothClipScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    r"""Centre on the median, scale by a quantile range, then clip smoothly.

    Each feature :math:`x` becomes

    .. math::

        z = \frac{x - q_{50}}{s}, \qquad
        \text{out} = \frac{z}{\sqrt{1 + (z / B)^2}},

    where :math:`q_{50}` is the feature's median, :math:`B` is
    ``max_absolute_value``, and the scale :math:`s` is its quantile range
    :math:`q_{hi} - q_{lo}` (``RobustScaler``'s), or, where that range is 0,
    half its full range :math:`(\max - \min) / 2`; a constant feature
    encodes as 0. The output is nearly :math:`z` for :math:`|z| \ll B`, keeps
    the order of the values, and stays inside :math:`(-B, B)`, so that an
    outlier at prediction cannot push the network far from what it was
    trained on. This is RealMLP-TD's "robust scaling and smooth clipping" of
    numeric features (Holzmüller, Grinsztajn and Steinwart, "Better by
    Default: Strong Pre-Tuned MLPs and Boosted Trees on Tabular Data", 2024),
    the same transform as skrub's ``SquashingScaler``.

    Parameters
    ----------
    quantile_range : tuple (q_lo, q_hi), default=(25.0, 75.0)
        Percentiles (0 <= q_lo < q_hi <= 100) whose difference is the scale,
        as in ``RobustScaler``.
    max_absolute_value : float, default=3.0
        :math:`B`, the bound the output approaches for large :math:`|z|`.

    Attributes
    ----------
    center_ : ndarray of shape (n_features,)
        The median of each feature (0 for a feature without any value).
    scale_ : ndarray of shape (n_features,)
        The scale :math:`s` of each feature: the quantile range, else half
        the full range, else ``inf`` (a constant feature, which encodes as 0).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    sklearn.preprocessing.RobustScaler : the same centre and scale, without
        the clipping and with scale 1 where the quantile range is 0.
    PiecewiseLinearEncoder : piecewise-linear encoding on quantile bins.
    PeriodicEncoder : sin/cos features of random frequencies; chain it after
        this scaler, as RealMLP does.

    Notes
    -----
    Missing values are ignored in ``fit`` and kept as NaN by ``transform``, as
    ``RobustScaler`` does; impute them afterwards or before.

    ``RobustScaler`` is not used inside because where the quantile range is 0
    (a column that is mostly one value: rare flags, sparse counts, common in
    tables) it divides by 1, in the feature's units, so such a column reaches
    the network at a scale set by its units; RealMLP, and this scaler, divide
    by half the full range there. Computing the percentiles once here is
    simpler than correcting ``RobustScaler``'s ``scale_``, which does not say
    which features had a zero range.

    Examples
    --------
    >>> import numpy as np
    >>> from skrobust.preprocessing import SmoothClipScaler
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
    >>> scaler = SmoothClipScaler().fit(X)
    >>> scaler.center_, scaler.scale_
    (array([3.]), array([2.]))
    >>> scaler.transform([[3.0], [7.0], [1000.0]]).round(4)  # z = 0, 2, 498.5
    array([[0.    ],
           [1.6641],
           [2.9999]])
    """

    _parameter_constraints: dict = {
        "quantile_range": [
            Check(
                _is_quantile_range, "a tuple (q_lo, q_hi) with 0 <= q_lo < q_hi <= 100"
            )
        ],
        "max_absolute_value": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(self, *, quantile_range=(25.0, 75.0), max_absolute_value=3.0):
        self.quantile_range = quantile_range
        self.max_absolute_value = max_absolute_value

    def fit(self, X, y=None):
        """Compute each feature's median and scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The training data; NaN are ignored.
        y : None
            Ignored.

        Returns
        -------
        self : SmoothClipScaler
            The fitted scaler.
        """
        validate_params(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan")
        n_features = X.shape[1]
        self.center_ = np.zeros(n_features)
        self.scale_ = np.ones(n_features)
        # A feature without any value keeps centre 0 and scale 1 (its NaN
        # pass through); nanpercentile would warn on it.
        seen = ~np.isnan(X).all(axis=0)
        if seen.any():
            lo, hi = self.quantile_range
            q_lo, median, q_hi, low, high = np.nanpercentile(
                X[:, seen].astype(np.float64), [lo, 50.0, hi, 0.0, 100.0], axis=0
            )
            half_range = (high - low) / 2
            self.center_[seen] = median
            self.scale_[seen] = np.where(
                q_hi > q_lo,
                q_hi - q_lo,
                np.where(half_range > 0, half_range, np.inf),
            )
        return self

    def transform(self, X):
        """Scale and clip ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data; NaN stay NaN.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features)
            In ``(-max_absolute_value, max_absolute_value)``, in the dtype of
            ``X`` (float64 unless ``X`` is float32).
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan", reset=False
        )
        bound = self.max_absolute_value
        with np.errstate(over="ignore", invalid="ignore"):
            z = (X - self.center_.astype(X.dtype)) / self.scale_.astype(X.dtype)
            # hypot, not sqrt(1 + (z/B)**2): the square overflows for large z
            # (float32 from |z| ~ 1e19), which would give 0, not B.
            out = z / np.hypot(1, z / X.dtype.type(bound))
        overflow = np.isinf(z)
        if overflow.any():
            out[overflow] = np.copysign(bound, z[overflow])
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
