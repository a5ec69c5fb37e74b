"""Periodic features of numeric inputs: sines and cosines of random
frequencies per feature, drawn once at fit (random Fourier features of one
variable), after Gorishniy et al. (2022) and RealMLP's periodic embeddings."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data

from skrobust._validation import Interval, validate_params
from skrobust.preprocessing._base import RANDOM_STATE, input_names


class PeriodicEncoder(TransformerMixin, BaseEstimator):
    r"""Encode each numeric feature as sines and cosines of random frequencies.

    ``fit`` draws ``n_frequencies`` frequencies :math:`c_{j1}, \dots, c_{jk}`
    per feature from :math:`\mathcal{N}(0, \sigma^2)`; ``transform`` maps
    a value :math:`x_j` to

    .. math::

        \left(\sin(2\pi c_{j1} x_j), \dots, \sin(2\pi c_{jk} x_j),
              \cos(2\pi c_{j1} x_j), \dots, \cos(2\pi c_{jk} x_j)\right).

    These are the periodic embeddings of Gorishniy, Rubachev and Babenko,
    "On Embeddings for Numerical Features in Tabular Deep Learning" (NeurIPS
    2022), with the frequencies fixed at fit rather than trained with the
    network (the engine trains the MLP's weights only). A smaller ``sigma``
    gives smoother features: with the default :math:`\sigma = 0.1` and
    inputs of unit scale the components vary over about 1.6 units
    (:math:`1/(2\pi\sigma)`), as the random Fourier features of a Gaussian
    kernel of that width.

    The frequencies are in the units of the input, so scale it first:
    :class:`SmoothClipScaler` (as RealMLP does) or ``StandardScaler``.
    ``make_tabular_preprocessor(X, numeric_encoding="periodic")`` chains
    ``SmoothClipScaler`` and this encoder.

    Parameters
    ----------
    n_frequencies : int, default=16
        Frequencies per feature; each gives a sine and a cosine column.
    sigma : float, default=0.1
        Standard deviation of the frequencies (positive), in cycles per unit
        of the input. 0.1 is RealMLP's (where the frequencies then train);
        fixed frequencies of scale 1 made an MLP score lower on scikit-learn's
        small tables than 0.1 did. The paper tunes it between 0.01 and 100 on
        a log scale.
    random_state : int, RandomState instance or None, default=None
        Draws the frequencies. Pass an int for the same frequencies at every
        fit.

    Attributes
    ----------
    frequencies_ : ndarray of shape (n_features, n_frequencies)
        The frequencies of each feature.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    PiecewiseLinearEncoder : piecewise-linear encoding on quantile bins.
    SmoothClipScaler : robust scaling with smooth clipping.
    sklearn.preprocessing.SplineTransformer : its ``extrapolation="periodic"``
        makes splines periodic with one known period, not random ones.
    sklearn.kernel_approximation.RBFSampler : random Fourier features of all
        features together (each column mixes every feature), not per feature.

    Notes
    -----
    Missing values are refused ("Input X contains NaN."), as by scikit-learn's
    other encoders that expand a value into several columns: impute first.
    ``fit`` reads only the number of features (and their names) from ``X``.
    scikit-learn has no per-feature periodic encoder: ``RBFSampler`` draws its
    frequencies for the whole row, so its columns cannot be traced to one
    feature or ordered next to its other encodings.

    Examples
    --------
    >>> import numpy as np
    >>> from skrobust.preprocessing import PeriodicEncoder
    >>> X = np.array([[0.0, 1.0], [0.5, -1.0]])
    >>> enc = PeriodicEncoder(n_frequencies=2, random_state=0).fit(X)
    >>> enc.transform(X).shape  # 2 features x (2 sines + 2 cosines)
    (2, 8)
    >>> enc.get_feature_names_out()[:4]
    array(['x0_sin0', 'x0_sin1', 'x0_cos0', 'x0_cos1'], dtype=object)
    >>> enc.transform([[0.0, 0.0]])[0, :4]  # sin 0 = 0, cos 0 = 1
    array([0., 0., 1., 1.])
    """

    _parameter_constraints: dict = {
        "n_frequencies": [Interval(numbers.Integral, 1, None, closed="left")],
        "sigma": [Interval(numbers.Real, 0, None, closed="neither")],
        "random_state": list(RANDOM_STATE),
    }

    def __init__(self, n_frequencies=16, *, sigma=0.1, random_state=None):
        self.n_frequencies = n_frequencies
        self.sigma = sigma
        self.random_state = random_state

    def fit(self, X, y=None):
        """Draw the frequencies of every feature.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The training data (only its shape and names are read).
        y : None
            Ignored.

        Returns
        -------
        self : PeriodicEncoder
            The fitted encoder.
        """
        validate_params(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES)
        rng = check_random_state(self.random_state)
        self.frequencies_ = rng.normal(
            0.0, self.sigma, size=(X.shape[1], self.n_frequencies)
        )
        return self

    def transform(self, X):
        """Encode ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data to encode.

        Returns
        -------
        X_out : ndarray of shape (n_samples, 2 * n_features * n_frequencies)
            For each feature in turn, its sines then its cosines, in the
            dtype of ``X`` (float64 unless ``X`` is float32).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        omega = (2 * np.pi * self.frequencies_).astype(X.dtype)
        n_samples, n_features = X.shape
        k = omega.shape[1]
        # One output array, filled in place: the angles go where the sines
        # go, the cosines are taken from them before the sines overwrite them.
        out = np.empty((n_samples, n_features, 2 * k), dtype=X.dtype)
        angles = out[:, :, :k]
        np.multiply(X[:, :, None], omega, out=angles)
        np.cos(angles, out=out[:, :, k:])
        np.sin(angles, out=angles)
        return out.reshape(n_samples, -1)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``<feature>_sin<k>``, then
        ``<feature>_cos<k>``, feature after feature.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            The input names; by default ``feature_names_in_`` or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``2 * n_frequencies`` names per input feature.
        """
        names = input_names(self, input_features)
        k = self.frequencies_.shape[1]
        return np.asarray(
            [
                f"{name}_{kind}{i}"
                for name in names
                for kind in ("sin", "cos")
                for i in range(k)
            ],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
