"""Inspection tools: how a model's score holds up under noisy test inputs, and
how it trained.

:func:`robustness_curve` measures the score of a fitted estimator as Gaussian
noise of growing standard deviation is added to the test inputs;
:class:`RobustnessCurveDisplay` draws such curves for several estimators on one
axis and :class:`TrainingHistoryDisplay` draws a skrobust estimator's training
and validation curves per epoch. The displays need matplotlib
(``pip install "skrobust[plot]"``).
"""

from skrobust.inspection._displays import RobustnessCurveDisplay, TrainingHistoryDisplay
from skrobust.inspection._robustness import robustness_curve

__all__ = ["RobustnessCurveDisplay", "TrainingHistoryDisplay", "robustness_curve"]
