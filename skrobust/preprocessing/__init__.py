"""Input encodings for MLPs on tables, as scikit-learn transformers.

scikit-learn has the scalers and discretizers that tree models and linear
models need; these are the encodings that the tabular deep-learning papers
found to help networks on many tables, and that it does not have:

- :class:`PiecewiseLinearEncoder`: each number as its position among its
  feature's quantile bins (Gorishniy et al., 2022);
- :class:`PeriodicEncoder`: sines and cosines of random frequencies per
  feature (the same paper; RealMLP);
- :class:`SmoothClipScaler`: median-centred, robustly scaled and smoothly
  clipped numbers (RealMLP, Holzmüller et al., 2024).

Each has ``fit``/``transform``, ``get_feature_names_out`` and ``set_output``,
and fits in a ``Pipeline`` or ``ColumnTransformer``.
:func:`skrobust.make_tabular_preprocessor`, the recipe for a whole table,
uses them through its ``numeric_encoding`` parameter, and a search reaches
them as the ``numeric__encode`` step of its result.
"""

from skrobust.preprocessing._periodic import PeriodicEncoder
from skrobust.preprocessing._piecewise_linear import PiecewiseLinearEncoder
from skrobust.preprocessing._smooth_clip import SmoothClipScaler

__all__ = [
    "PeriodicEncoder",
    "PiecewiseLinearEncoder",
    "SmoothClipScaler",
]
