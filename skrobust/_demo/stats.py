"""How sure a difference is: :class:`Paired` (paired differences, their
mean, a 95% Student's t interval and a verdict), a variant's difference
from a study's reference, and the grid search's best level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from skrobust._demo.studies import Study, VariantResult


@dataclass(frozen=True)
class Paired:
    """Paired differences (one per repeat or split) and what they show: the
    mean with a 95% confidence interval from Student's t, and the counts of
    positive and zero differences."""

    mean: float
    std: float
    low: float
    high: float
    wins: int
    ties: int
    n: int

    @classmethod
    def of(cls, diff) -> Paired:
        diff = np.asarray(diff, dtype=float)
        n = diff.size
        mean = float(np.mean(diff))
        if n > 1:
            half = stats.t.ppf(0.975, n - 1) * np.std(diff, ddof=1) / math.sqrt(n)
        else:
            half = float("nan")
        return cls(
            mean=mean,
            std=float(np.std(diff)),
            low=mean - half,
            high=mean + half,
            wins=int(np.sum(diff > 0)),
            ties=int(np.sum(diff == 0)),
            n=n,
        )

    @property
    def verdict(self) -> str:
        """Better or worse when the interval excludes 0, else within noise
        (also for a single pair, which measures no noise)."""
        if self.n > 1 and self.low > 0:
            return "better"
        if self.n > 1 and self.high < 0:
            return "worse"
        return "within noise"

    def interval(self) -> str:
        if self.n < 2:
            return "no interval from 1 pair"
        return f"95% CI {_signed(self.low)} to {_signed(self.high)}"

    def conclusion(self, reference: str, unit: str = "repeats") -> str:
        if self.verdict == "within noise":
            unit = unit if self.n > 1 else unit.rstrip("s")
            return (
                f"within noise for {self.n} {unit} (the interval includes 0), "
                "so no winner"
            )
        return f"{self.verdict} than {reference} (the interval excludes 0)"


def _paired(study: Study, res: VariantResult) -> Paired:
    """Test score of ``res`` minus the study's first variant's, paired by
    repeat."""
    return Paired.of(
        np.asarray(res.test_scores) - np.asarray(study.variants[0].test_scores)
    )


def _signed(x: float) -> str:
    """``x`` with its sign and 3 decimals, or 1 significant digit when 3
    decimals would show a bound that excludes 0 as 0."""
    if x != 0 and abs(x) < 0.0005:
        return f"{x:+.{-math.floor(math.log10(abs(x)))}f}"
    return f"{x:+.3f}"


def _grid_best(study: Study):
    """Index, noise level and mean score of the grid's best level (the first
    of tied ones, as ``GridSearchCV`` picks)."""
    cv = study.grid.cv_results_
    best = int(np.argmin(cv["rank_test_score"]))
    level = float(cv[f"param_{study.grid_param}"][best])
    return best, level, float(cv["mean_test_score"][best])
