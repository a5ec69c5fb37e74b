"""The estimators' former module, kept so that what names it still resolves.

The estimators now live in ``_base.py`` (:class:`BaseNoisyMLP`),
``_classifier.py`` and ``_regressor.py``. Pickles written before the split
name their class ``skrobust._mlp.NoisyMLPClassifier`` (or ``...Regressor``),
and unpickling imports it from here. Import from the new modules in new code.
"""

from skrobust._base import BaseNoisyMLP
from skrobust._classifier import NoisyMLPClassifier
from skrobust._regressor import NoisyMLPRegressor

__all__ = ["BaseNoisyMLP", "NoisyMLPClassifier", "NoisyMLPRegressor"]
