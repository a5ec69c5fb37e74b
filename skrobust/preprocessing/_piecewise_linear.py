"""Piecewise-linear encoding of numeric features on quantile bins (Gorishniy
et al., 2022): each number becomes a short vector that an MLP's first layer
reads as a learned piecewise-linear function of it."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import resample
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data

from skrobust._validation import Interval, validate_params
from skrobust.preprocessing._base import RANDOM_STATE, input_names


class PiecewiseLinearEncoder(TransformerMixin, BaseEstimator):
    r"""Encode each numeric feature piecewise-linearly on its quantile bins.

    For every feature, ``fit`` places ``n_bins + 1`` bin edges at its
    quantiles, :math:`e_0 < e_1 < \dots < e_T`. ``transform`` turns a value
    :math:`x` into the :math:`T` components

    .. math::

        p_t(x) = \begin{cases}
            1 & x \ge e_t \text{ (bins below } x\text{)} \\
            \dfrac{x - e_{t-1}}{e_t - e_{t-1}} & e_{t-1} \le x < e_t
                \text{ (its own bin)} \\
            0 & x < e_{t-1} \text{ (bins above)}
        \end{cases}

    except that the first component is not clipped below (it is negative
    for :math:`x < e_0`) and the last not above (it exceeds 1 for
    :math:`x > e_T`): values outside the training range extrapolate
    linearly, as in the paper's reference implementation, instead of being
    clipped silently. The sum of the components grows with :math:`x` by one
    per bin, so the encoding keeps the order of the values and a linear layer
    on it is any continuous piecewise-linear function with kinks at the
    edges. This is the "PLE" of Gorishniy, Rubachev and Babenko, "On
    Embeddings for Numerical Features in Tabular Deep Learning" (NeurIPS
    2022), with quantile bins.

    Parameters
    ----------
    n_bins : int, default=8
        Largest number of bins per feature (at least 1). A feature with fewer
        distinct values gets fewer bins: edges are observed values (the
        ``"inverted_cdf"`` quantiles) with duplicates dropped, so a 0/1
        column is one bin (it encodes as itself) and a column of small counts
        becomes a thermometer code of its values. A constant feature encodes
        as one column of zeros. More bins let the network bend each feature's
        effect more often and overfit small tables sooner: on scikit-learn's
        few-hundred-row tables an unregularized MLP scored lower with 16 bins
        than with 8 or 4, and each bin here holds 1/8 of the training rows.
        The paper tunes it between 2 and 128 on larger tables and its code
        defaults to 48: search it, with the regularization, on a large table.
    subsample : int or None, default=200_000
        Largest number of rows the quantiles are computed on: more rows are
        subsampled without replacement (as ``QuantileTransformer`` does).
        None uses every row.
    random_state : int, RandomState instance or None, default=None
        Draws the subsample; unused when the data have at most ``subsample``
        rows.

    Attributes
    ----------
    bin_edges_ : ndarray of shape (n_features,), dtype=object
        The edges of each feature, an array of ``n_bins_[j] + 1`` increasing
        values (one value for a constant feature), as ``KBinsDiscretizer``
        stores them.
    n_bins_ : ndarray of shape (n_features,), dtype=int
        The number of output columns of each feature.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    PeriodicEncoder : sin/cos features of random frequencies.
    SmoothClipScaler : robust scaling with smooth clipping.
    sklearn.preprocessing.KBinsDiscretizer : the same quantile bins, one-hot
        or ordinal (no position within the bin).
    sklearn.preprocessing.SplineTransformer : B-splines; degree 1 gives hat
        functions on the knots.

    Notes
    -----
    Missing values are refused ("Input X contains NaN."), as
    ``KBinsDiscretizer`` and ``SplineTransformer`` refuse them: impute first
    (:func:`make_tabular_preprocessor` does, adding a missing-indicator
    column). Sparse input is refused as well: the output is dense.

    **Why not** ``SplineTransformer(degree=1, knots="quantile")``. On the same
    knots, with ``extrapolation="linear"``, its hat functions
    :math:`h_0, \dots, h_T` relate to this encoding exactly by
    :math:`p_t = \sum_{s \ge t} h_s` (an invertible linear map of
    :math:`h_1, \dots, h_T`; :math:`h_0 = 1 - p_1`), so an MLP's first
    layer can represent the same functions from either. It is not used
    because (1) it takes one number of knots for every feature and keeps
    duplicate quantile knots, so on tied columns (0/1 flags, small counts,
    common in tables) it returns columns that are always zero, where this
    encoder drops duplicate edges per feature; and (2) training is not
    invariant to that linear map: the weights' initialization, weight decay
    and input noise act on the coordinates, and the cumulative coordinates
    here are the ones the paper measured. ``KBinsDiscretizer`` computes the
    same kind of bins but removes bins narrower than an absolute 1e-8 (wrong
    for features in small units) and warns for every tied or constant column;
    the edges are computed here with ``numpy.quantile`` instead.

    Examples
    --------
    >>> import numpy as np
    >>> from skrobust.preprocessing import PiecewiseLinearEncoder
    >>> X = np.array([[0.0], [1.0], [2.0], [4.0]])
    >>> ple = PiecewiseLinearEncoder(n_bins=2).fit(X)
    >>> ple.bin_edges_[0]
    array([0., 1., 4.])
    >>> ple.transform([[-1.0], [0.5], [1.0], [2.5], [5.5]])
    array([[-1. ,  0. ],
           [ 0.5,  0. ],
           [ 1. ,  0. ],
           [ 1. ,  0.5],
           [ 1. ,  1.5]])
    >>> ple.get_feature_names_out()
    array(['x0_bin0', 'x0_bin1'], dtype=object)
    """

    _parameter_constraints: dict = {
        "n_bins": [Interval(numbers.Integral, 1, None, closed="left")],
        "subsample": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": list(RANDOM_STATE),
    }

    def __init__(self, n_bins=8, *, subsample=200_000, random_state=None):
        self.n_bins = n_bins
        self.subsample = subsample
        self.random_state = random_state

    def fit(self, X, y=None):
        """Compute the bin edges of every feature.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The training data.
        y : None
            Ignored.

        Returns
        -------
        self : PiecewiseLinearEncoder
            The fitted encoder.
        """
        validate_params(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES)
        if self.subsample is not None and X.shape[0] > self.subsample:
            X = resample(
                X,
                replace=False,
                n_samples=self.subsample,
                random_state=self.random_state,
            )
        levels = np.linspace(0.0, 1.0, self.n_bins + 1)
        # Observed values as edges: tied values then give one edge, not
        # interpolated edges between them.
        quantiles = np.quantile(
            X.astype(np.float64), levels, axis=0, method="inverted_cdf"
        )
        self.bin_edges_ = np.empty(X.shape[1], dtype=object)
        for j in range(X.shape[1]):
            self.bin_edges_[j] = np.unique(quantiles[:, j])
        self.n_bins_ = np.array(
            [max(len(edges) - 1, 1) for edges in self.bin_edges_], dtype=int
        )
        return self

    def _columns(self, dtype):
        """Per output column: the feature it reads, its bin's left edge, the
        inverse of its width, and the bounds it is clipped to."""
        feature, left, inverse_width, low, high = [], [], [], [], []
        for j, edges in enumerate(self.bin_edges_):
            n = len(edges) - 1
            if n == 0:  # constant feature: one column of zeros
                feature.append(j)
                left.append(edges[0])
                inverse_width.append(0.0)
                low.append(0.0)
                high.append(0.0)
                continue
            lo = np.zeros(n)
            hi = np.ones(n)
            lo[0] = -np.inf  # extrapolate below the first edge
            hi[-1] = np.inf  # and above the last
            feature.extend([j] * n)
            left.extend(edges[:-1])
            # Inverted in float64: two edges that round to one float32 value
            # still give a finite slope, where a float32 width would be 0.
            inverse_width.extend(1.0 / np.diff(edges))
            low.extend(lo)
            high.extend(hi)
        return (
            np.asarray(feature, dtype=np.intp),
            *(np.asarray(v, dtype=dtype) for v in (left, inverse_width, low, high)),
        )

    def transform(self, X):
        """Encode ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data to encode.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_bins_.sum())
            The components of each feature, feature after feature, in the
            dtype of ``X`` (float64 unless ``X`` is float32).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        feature, left, inverse_width, low, high = self._columns(X.dtype)
        out = X[:, feature]  # a copy (fancy indexing), worked on in place
        out -= left
        out *= inverse_width
        return np.clip(out, low, high, out=out)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``<feature>_bin<k>``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            The input names; by default ``feature_names_in_`` or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``n_bins_[j]`` names per input feature.
        """
        names = input_names(self, input_features)
        return np.asarray(
            [
                f"{name}_bin{k}"
                for name, n in zip(names, self.n_bins_, strict=True)
                for k in range(n)
            ],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
