"""skrobust: noise regularization for Keras MLPs as fast scikit-learn estimators.

The estimators :class:`NoisyMLPClassifier` and :class:`NoisyMLPRegressor`
expose Gaussian noise, dropout, batch normalization and max-norm as ordinary
hyperparameters, so ``Pipeline``, ``GridSearchCV`` and ``cross_validate``
handle repeated evaluation and searches over noise levels natively.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# Public names and the private modules that define them. They are imported
# on first use (PEP 562), so that ``import skrobust`` alone, and the
# ``skrobust`` command before it has set up its own process (the
# frameworks' start-up logging), load neither Keras nor a backend.
_EXPORTS = {
    "GaussianNoise": "skrobust._layers",
    "InvalidParameterError": "skrobust._validation",
    "NoisyMLPClassifier": "skrobust._classifier",
    "NoisyMLPClassifierCV": "skrobust._cv",
    "NoisyMLPRegressor": "skrobust._regressor",
    "NoisyMLPRegressorCV": "skrobust._cv",
    "enable_compilation_cache": "skrobust._compilation_cache",
    "load": "skrobust._persistence",
    "make_tabular_preprocessor": "skrobust._preprocessing",
    "save": "skrobust._persistence",
    "set_program_cache": "skrobust._compilation_cache",
}

__all__ = [
    "GaussianNoise",
    "InvalidParameterError",
    "NoisyMLPClassifier",
    "NoisyMLPClassifierCV",
    "NoisyMLPRegressor",
    "NoisyMLPRegressorCV",
    "__version__",
    "enable_compilation_cache",
    "load",
    "make_tabular_preprocessor",
    "save",
    "set_program_cache",
]

if TYPE_CHECKING:
    from skrobust._classifier import NoisyMLPClassifier
    from skrobust._compilation_cache import enable_compilation_cache, set_program_cache
    from skrobust._cv import NoisyMLPClassifierCV, NoisyMLPRegressorCV
    from skrobust._layers import GaussianNoise
    from skrobust._persistence import load, save
    from skrobust._preprocessing import make_tabular_preprocessor
    from skrobust._regressor import NoisyMLPRegressor
    from skrobust._validation import InvalidParameterError


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'skrobust' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS])
