"""What the demo compares: the variants (a key, a name and estimator
parameters) of the tutorials' circles study, of the batch-norm study and,
on a user's CSV only, of the other kinds of noise; which keys each mode
runs, and which ``--param`` names a variant sets itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Variant:
    """One model of a study: a short key, a name, estimator parameters, and
    the test accuracy the tutorials reported for it from a single run."""

    key: str
    name: str
    params: dict
    tutorial: float | None = None


BASELINE = "overfit baseline"
HIDDEN_NOISE = "hidden noise 0.1 (pre-activation)"

CIRCLES_VARIANTS = (
    Variant("baseline", BASELINE, {}, 0.757),
    Variant(
        "input",
        "input noise 0.01",
        {"noise_std": 0.01, "noise_position": "input"},
        0.771,
    ),
    Variant(
        "hidden",
        HIDDEN_NOISE,
        {"noise_std": 0.1, "noise_position": "pre_activation"},
        0.814,
    ),
    Variant(
        "post",
        "hidden noise 0.1 (post-activation)",
        {"noise_std": 0.1, "noise_position": "post_activation"},
    ),
    Variant(
        "input+hidden",
        "input + hidden noise 0.1",
        {"noise_std": 0.1, "noise_position": ("input", "pre_activation")},
    ),
    Variant("dropout", "dropout 0.4", {"dropout": 0.4}),
)

BATCHNORM_VARIANTS = (
    Variant("no-bn", "no batch norm", {}),
    Variant("bn-before", "batch norm before activation", {"batchnorm": "before"}),
    Variant("bn-after", "batch norm after activation", {"batchnorm": "after"}),
)
# The other places to add noise (issue 7), compared on a user's CSV only: the
# circles study keeps the tutorials' variants. Small, common settings; every
# one is a constructor parameter that ``--param`` or a grid search can change.
NOISE_KIND_VARIANTS = (
    Variant(
        "gaussian-dropout",
        "Gaussian dropout 0.5 (post-activation)",
        {
            "noise_std": 0.5,
            "noise_type": "multiplicative",
            "noise_position": "post_activation",
        },
    ),
    Variant(
        "input-feature",
        "input noise 0.1 × feature std",
        {"noise_std": 0.1, "noise_position": "input", "noise_scale": "feature"},
    ),
    Variant("weight", "weight noise 0.05", {"weight_noise_std": 0.05}),
    Variant(
        "gradient", "annealed gradient noise eta 0.01", {"gradient_noise_eta": 0.01}
    ),
)
LABEL_NOISE_VARIANTS = (
    Variant("label-smoothing", "label smoothing 0.1", {"label_smoothing": 0.1}),
    Variant("label-flip", "label flipping 0.05", {"label_flip_rate": 0.05}),
)
TARGET_NOISE_VARIANTS = (
    Variant(
        "target",
        "target noise 0.1 × target std",
        {"target_noise_std": 0.1, "noise_scale": "feature"},
    ),
)
# The robustness curves and training histories compare these two.
REQUIRED_KEYS = ("baseline", "hidden")
CIRCLES_KEYS = tuple(v.key for v in CIRCLES_VARIANTS + BATCHNORM_VARIANTS)
CSV_ONLY_KEYS = tuple(
    v.key for v in NOISE_KIND_VARIANTS + LABEL_NOISE_VARIANTS + TARGET_NOISE_VARIANTS
)
VARIANT_KEYS = CIRCLES_KEYS + CSV_ONLY_KEYS


def csv_variants(task: str) -> tuple:
    """The variants of the CSV mode for a task: the circles variants (without
    the tutorials' circles numbers) and the noise kinds that fit the task."""
    output_noise = (
        LABEL_NOISE_VARIANTS if task == "classification" else TARGET_NOISE_VARIANTS
    )
    return (
        tuple(replace(v, tutorial=None) for v in CIRCLES_VARIANTS)
        + NOISE_KIND_VARIANTS
        + output_noise
    )


def unavailable_keys(keys, task: str | None) -> list:
    """The ``keys`` that the circles demo (``task`` None) or the CSV mode for
    ``task`` does not run."""
    allowed = CIRCLES_KEYS if task is None else {v.key for v in csv_variants(task)}
    return [k for k in keys if k not in allowed]


def param_conflicts(variants, params: dict) -> dict:
    """For each ``--param`` name, the variants that set it themselves (their
    own value wins)."""
    return {
        name: [v.key for v in variants if name in v.params]
        for name in params
        if any(name in v.params for v in variants)
    }
