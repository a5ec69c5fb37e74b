"""How much work a demo run does: :class:`Settings`, its full and quick
presets, and which of the circles variants (and batch-norm variants) a run
fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from skrobust._demo.budget import CsvBudget
from skrobust._demo.variants import BATCHNORM_VARIANTS, CIRCLES_KEYS

# The quick circles run keeps the full study's network, data and training
# (500 units, 30 training rows, 4000 epochs: with fewer epochs the baseline has
# not yet overfit and the comparison measures something else) and saves time
# on what only adds certainty: these variants (each is a compiled program of
# its own, seconds to build on TensorFlow), fewer repeats, grid levels, folds
# and noisy copies, and no batch-norm study.
QUICK_CIRCLES_KEYS = ("baseline", "input", "hidden")


@dataclass(frozen=True)
class Settings:
    """How much work a demo run does. ``quick`` shrinks it (see ``make``)."""

    repeats: int = 10
    epochs: int = 4000
    hidden_units: int = 500
    bn_epochs: int = 100
    bn_hidden_units: int = 50
    grid_levels: tuple = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0)
    cv: int = 5
    robustness_levels: tuple = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
    robustness_repeats: int = 10
    random_state: int = 0
    quick: bool = False
    # Keys of the variants to run (None: all, or QUICK_CIRCLES_KEYS for a
    # quick circles run); lets tests run fewer compiled programs.
    variants: tuple | None = None
    # Estimator parameters for every variant of the CSV mode (``--param``);
    # a variant's own settings take precedence.
    estimator_params: dict = field(default_factory=dict)
    # The CSV mode's batch size (None: the estimators' default) and the
    # :class:`CsvBudget` that chose it, the epochs and the variants.
    batch_size: int | None = None
    budget: CsvBudget | None = None

    def select(self, variants):
        return tuple(
            v for v in variants if self.variants is None or v.key in self.variants
        )

    def circles_keys(self) -> tuple:
        """Keys of the circles study's variants that this run fits."""
        if self.variants is not None:
            return tuple(k for k in CIRCLES_KEYS if k in self.variants)
        return QUICK_CIRCLES_KEYS if self.quick else CIRCLES_KEYS

    @classmethod
    def make(cls, *, quick=False, csv=False, **overrides):
        """Defaults (full or quick; the quick circles run and the quick CSV
        run differ) with the non-None ``overrides`` applied."""
        if not quick:
            base = cls()
        elif csv:
            base = cls(
                repeats=3,
                grid_levels=(0.0, 0.1, 0.3),
                cv=3,
                robustness_levels=(0.0, 0.1, 0.3, 0.5),
                robustness_repeats=3,
                quick=True,
            )
        else:
            base = cls(
                repeats=5,
                grid_levels=(0.0, 0.1, 1.0),
                cv=2,
                robustness_levels=(0.0, 0.1, 0.3, 0.5),
                robustness_repeats=3,
                quick=True,
            )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def _bn_variants(settings: Settings) -> tuple:
    """The batch-norm study's variants of this run: none, or the reference
    (no batch norm) and the asked-for placements."""
    keys = settings.circles_keys()
    asked = [v for v in BATCHNORM_VARIANTS[1:] if v.key in keys]
    return (BATCHNORM_VARIANTS[0], *asked) if asked else ()
