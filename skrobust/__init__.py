"""skrobust: noise regularization for Keras MLPs as fast scikit-learn estimators.

The estimators :class:`NoisyMLPClassifier` and :class:`NoisyMLPRegressor`
expose Gaussian noise, dropout, batch normalization and max-norm as ordinary
hyperparameters, so ``Pipeline``, ``GridSearchCV`` and ``cross_validate``
handle repeated evaluation and searches over noise levels natively.
"""

from skrobust._compilation_cache import enable_compilation_cache
from skrobust._layers import GaussianNoise
from skrobust._mlp import NoisyMLPClassifier, NoisyMLPRegressor
from skrobust._persistence import load, save
from skrobust._preprocessing import make_tabular_preprocessor
from skrobust._validation import InvalidParameterError

__version__ = "0.1.0"

__all__ = [
    "GaussianNoise",
    "InvalidParameterError",
    "NoisyMLPClassifier",
    "NoisyMLPRegressor",
    "__version__",
    "enable_compilation_cache",
    "load",
    "make_tabular_preprocessor",
    "save",
]
