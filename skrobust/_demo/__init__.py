"""The studies behind ``skrobust demo``: what is compared, and the report.

The command line (``_cli/``) parses arguments and calls :func:`run_circles`
or :func:`run_csv`. The modules, in the order a run uses them:

- ``variants``: the variants of the tutorials (and, for a user's CSV, of the
  other noise kinds) and which keys each mode runs;
- ``budget``: the CSV mode's epochs, batch size and variants by table size;
- ``settings``: how much work a run does (full and quick presets);
- ``studies``: repeated, paired fits of the variants, the noise grid search,
  robustness curves and training histories, shared by both studies;
- ``circles`` and ``csv_study``: the circles and batch-norm studies, and the
  same comparison on a user's CSV;
- ``stats``: paired differences and their confidence intervals;
- ``figures``: the plots;
- ``report``: ``report.md`` and the terminal summary.

This package re-exports the names the command line and the tests use; the
command line calls them through the package (``_demo.run_csv``), so tests can
patch them here. The budget's constants are read from ``budget`` when used:
patch them there.
"""

from skrobust._demo.budget import (
    CSV_EPOCHS,
    CSV_MAX_BATCH_SIZE,
    CSV_MAX_STEPS,
    CSV_MIN_EPOCHS,
    CSV_STEPS_PER_EPOCH,
    QUICK_CSV_EPOCHS,
    QUICK_CSV_MAX_STEPS,
    QUICK_LARGE_CSV_KEYS,
    QUICK_LARGE_CSV_ROWS,
    csv_budget,
)
from skrobust._demo.circles import circles_variants, run_circles
from skrobust._demo.csv_study import run_csv
from skrobust._demo.report import quick_note, terminal_summary, write_report
from skrobust._demo.settings import QUICK_CIRCLES_KEYS, Settings
from skrobust._demo.stats import Paired
from skrobust._demo.variants import (
    BASELINE,
    CIRCLES_KEYS,
    HIDDEN_NOISE,
    LABEL_NOISE_VARIANTS,
    NOISE_KIND_VARIANTS,
    REQUIRED_KEYS,
    TARGET_NOISE_VARIANTS,
    VARIANT_KEYS,
    csv_variants,
    param_conflicts,
    unavailable_keys,
)

__all__ = [
    "BASELINE",
    "CIRCLES_KEYS",
    "CSV_EPOCHS",
    "CSV_MAX_BATCH_SIZE",
    "CSV_MAX_STEPS",
    "CSV_MIN_EPOCHS",
    "CSV_STEPS_PER_EPOCH",
    "HIDDEN_NOISE",
    "LABEL_NOISE_VARIANTS",
    "NOISE_KIND_VARIANTS",
    "QUICK_CIRCLES_KEYS",
    "QUICK_CSV_EPOCHS",
    "QUICK_CSV_MAX_STEPS",
    "QUICK_LARGE_CSV_KEYS",
    "QUICK_LARGE_CSV_ROWS",
    "REQUIRED_KEYS",
    "TARGET_NOISE_VARIANTS",
    "VARIANT_KEYS",
    "Paired",
    "Settings",
    "circles_variants",
    "csv_budget",
    "csv_variants",
    "param_conflicts",
    "quick_note",
    "run_circles",
    "run_csv",
    "terminal_summary",
    "unavailable_keys",
    "write_report",
]
