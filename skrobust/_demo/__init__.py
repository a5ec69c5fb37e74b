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
patch them there. The names are imported on first use (PEP 562): ``skrobust
demo --help`` reads the constants of ``budget``, ``settings`` and
``variants`` (standard library only) without importing the studies, which
import the estimators and with them Keras, its backend and JAX.
"""

from __future__ import annotations

import importlib

# Each public name and the module of this package that defines it.
_EXPORTS = {
    "CSV_EPOCHS": "budget",
    "CSV_MAX_BATCH_SIZE": "budget",
    "CSV_MAX_STEPS": "budget",
    "CSV_MIN_EPOCHS": "budget",
    "CSV_STEPS_PER_EPOCH": "budget",
    "QUICK_CSV_EPOCHS": "budget",
    "QUICK_CSV_MAX_STEPS": "budget",
    "QUICK_LARGE_CSV_KEYS": "budget",
    "QUICK_LARGE_CSV_ROWS": "budget",
    "csv_budget": "budget",
    "circles_variants": "circles",
    "run_circles": "circles",
    "run_csv": "csv_study",
    "quick_note": "report",
    "terminal_summary": "report",
    "write_report": "report",
    "QUICK_CIRCLES_KEYS": "settings",
    "Settings": "settings",
    "Paired": "stats",
    "BASELINE": "variants",
    "CIRCLES_KEYS": "variants",
    "HIDDEN_NOISE": "variants",
    "LABEL_NOISE_VARIANTS": "variants",
    "NOISE_KIND_VARIANTS": "variants",
    "REQUIRED_KEYS": "variants",
    "TARGET_NOISE_VARIANTS": "variants",
    "VARIANT_KEYS": "variants",
    "csv_variants": "variants",
    "param_conflicts": "variants",
    "unavailable_keys": "variants",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        # A module of this package (``_demo.budget``), as an eager package
        # would have had it after importing it.
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS])
