"""The studies behind ``skrobust demo``: what is compared, and the report.

The command line (``_cli.py``) parses arguments and calls :func:`run_circles`
or :func:`run_csv`; this module defines the variants of the tutorials (and,
for a user's CSV, of the other noise kinds), repeats them with different
seeds, runs the grid search, robustness curves and training histories, draws
the figures and writes ``report.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
from scipy import stats
from sklearn.base import clone, is_classifier
from sklearn.datasets import make_circles
from sklearn.metrics import check_scoring
from sklearn.model_selection import (
    StratifiedShuffleSplit,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrobust import NoisyMLPClassifier, NoisyMLPRegressor
from skrobust._preprocessing import dense_inputs
from skrobust.inspection import (
    RobustnessCurveDisplay,
    TrainingHistoryDisplay,
    robustness_curve,
)
from skrobust.model_selection import BatchedGridSearchCV
from skrobust.model_selection._batched import evaluate, take


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


# The quick circles run keeps the full study's network, data and training
# (500 units, 30 training rows, 4000 epochs: with fewer epochs the baseline has
# not yet overfit and the comparison measures something else) and saves time
# on what only adds certainty: these variants (each is a compiled program of
# its own, seconds to build on TensorFlow), fewer repeats, grid levels, folds
# and noisy copies, and no batch-norm study.
QUICK_CIRCLES_KEYS = ("baseline", "input", "hidden")


# -- the CSV mode's training budget --------------------------------------------
#
# A user's table may have 40 rows or 100,000. At the estimators' batch size of
# 32 and a fixed number of epochs, a fit's cost grows with the rows (100 epochs
# on 7,000 training rows are 22,000 mini-batch steps, 40 s on a loaded 2-core
# CPU, and a quick run makes ~45 fits). So the demo ties the training to the
# rows: a larger batch on a large table (at most ~64 mini-batches per epoch),
# and fewer epochs where the default ones would exceed a number of mini-batch
# steps per fit. The quick run also fits fewer variants on a large table.
# ``--epochs``, ``--param epochs=``, ``--param batch_size=`` and
# ``--variants`` always win over these choices.

CSV_EPOCHS = 300
QUICK_CSV_EPOCHS = 100
CSV_MAX_STEPS = 4000
QUICK_CSV_MAX_STEPS = 1000
CSV_MIN_EPOCHS = 5
CSV_BATCH_SIZE = 32  # the estimators' default
CSV_MAX_BATCH_SIZE = 256
CSV_STEPS_PER_EPOCH = 64
CSV_TEST_SIZE = 0.3
# From this many rows a quick CSV run fits only these variants: the
# tutorials' main comparison (input noise, hidden noise, dropout against the
# baseline); every variant is a compiled program and a full set of fits.
QUICK_LARGE_CSV_ROWS = 2000
QUICK_LARGE_CSV_KEYS = ("baseline", "input", "hidden", "dropout")


def csv_train_rows(n_rows: int) -> int:
    """Rows in each repeat's training split (``train_test_split``'s 70%)."""
    return n_rows - math.ceil(CSV_TEST_SIZE * n_rows)


@dataclass(frozen=True)
class CsvBudget:
    """The CSV mode's training for a table of ``n_rows`` rows: what
    :func:`csv_budget` chose and why, for the settings and the report."""

    n_rows: int
    n_train: int
    epochs: int
    batch_size: int
    variants: tuple | None  # keys, or None for every variant
    quick: bool
    default_epochs: int
    max_steps: int
    epochs_from_user: bool = False
    batch_size_from_user: bool = False
    variants_from_user: bool = False

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.batch_size)

    @property
    def steps(self) -> int:
        """Mini-batch steps of one fit on a repeat's training split."""
        return self.epochs * self.steps_per_epoch

    @property
    def epochs_capped(self) -> bool:
        return not self.epochs_from_user and self.epochs < self.default_epochs

    @property
    def batch_size_raised(self) -> bool:
        return not self.batch_size_from_user and self.batch_size > CSV_BATCH_SIZE

    @property
    def variants_cut(self) -> bool:
        return not self.variants_from_user and self.variants is not None

    def summary(self) -> str:
        """One line for the terminal."""
        parts = [
            f"{self.n_train:,} training rows per split: batch size "
            f"{self.batch_size}, {self.epochs} epochs ({self.steps:,} "
            "mini-batch steps per fit)"
        ]
        if self.variants_cut:
            parts.append(
                f"{len(self.variants)} variants ({', '.join(self.variants)}) as "
                f"--quick does from {QUICK_LARGE_CSV_ROWS:,} rows"
            )
        auto = self.epochs_capped or self.batch_size_raised or self.variants_cut
        return "; ".join(parts) + (
            " (chosen for the table's size; --epochs, --param batch_size=N and "
            "--variants override)"
            if auto
            else ""
        )

    def section(self, task: str) -> str:
        """The report's paragraph on the training budget."""
        run = "quick run" if self.quick else "full run"
        lines = ["### Training budget\n"]
        text = (
            f"{self.n_rows:,} rows, {self.n_train:,} in each training split. "
            f"Every fit: batch size {self.batch_size}, {self.epochs} epochs, "
            f"{self.steps_per_epoch:,} mini-batches per epoch, {self.steps:,} "
            "mini-batch steps on a repeat's training split (fewer on the grid "
            "search's folds)."
        )
        if self.batch_size_from_user:
            text += " The batch size is `--param batch_size`'s."
        elif self.batch_size_raised:
            text += (
                f" The batch size is raised from the estimators' {CSV_BATCH_SIZE} "
                f"so that an epoch has at most about {CSV_STEPS_PER_EPOCH} "
                "mini-batches (up to a batch of "
                f"{CSV_MAX_BATCH_SIZE}; `--param batch_size=N` sets it)."
            )
        if self.epochs_from_user:
            text += " The epochs are `--epochs`'s."
        elif self.epochs_capped:
            text += (
                f" The epochs are cut from the {run}'s {self.default_epochs} "
                f"to keep each fit within {self.max_steps:,} mini-batch steps "
                f"(at least {CSV_MIN_EPOCHS} epochs): on a table this size "
                f"{self.default_epochs} epochs would be "
                f"{self.default_epochs * self.steps_per_epoch:,} steps per fit. "
                "The models see many updates either way, but a regularizer "
                "whose benefit shows only after long training (when the "
                "baseline overfits) can look smaller than with more epochs "
                "(`--epochs N` sets them)."
            )
        lines.append(text + "\n")
        if self.variants_cut:
            left = [v for v in csv_variants(task) if v.key not in self.variants]
            lines.append(
                f"Variants: on a table of {QUICK_LARGE_CSV_ROWS:,} rows or more "
                f"the quick run fits {len(self.variants)} of the "
                f"{len(csv_variants(task))} (the baseline and the tutorials' "
                "input noise, hidden noise and dropout); each variant costs a "
                "compiled program and a fit per repeat. Left out: "
                + ", ".join(f"{v.name} (`{v.key}`)" for v in left)
                + ". `--variants` runs them; the full run (no `--quick`) fits "
                "all.\n"
            )
        return "\n".join(lines)


def csv_budget(
    n_rows: int,
    *,
    quick: bool,
    epochs: int | None = None,
    batch_size: int | None = None,
    variants: tuple | None = None,
) -> CsvBudget:
    """Epochs, batch size and variants of the CSV mode for a table of
    ``n_rows`` rows (with a target). The user's ``epochs``, ``batch_size``
    and ``variants`` (None: not given) win over the automatic choices:

    - batch size: the estimators' 32, doubled until an epoch on a training
      split has at most about ``CSV_STEPS_PER_EPOCH`` mini-batches, up to
      ``CSV_MAX_BATCH_SIZE``;
    - epochs: 100 with ``quick``, 300 without, cut so that a fit takes at
      most ``QUICK_CSV_MAX_STEPS`` (``CSV_MAX_STEPS``) mini-batch steps, but
      never below ``CSV_MIN_EPOCHS``;
    - variants: all, except a quick run on ``QUICK_LARGE_CSV_ROWS`` rows or
      more, which fits ``QUICK_LARGE_CSV_KEYS``.
    """
    n_train = max(1, csv_train_rows(n_rows))
    if batch_size is None:
        chosen_batch = CSV_BATCH_SIZE
        while (
            chosen_batch < CSV_MAX_BATCH_SIZE
            and math.ceil(n_train / chosen_batch) > CSV_STEPS_PER_EPOCH
        ):
            chosen_batch *= 2
    else:
        chosen_batch = batch_size
    default_epochs = QUICK_CSV_EPOCHS if quick else CSV_EPOCHS
    max_steps = QUICK_CSV_MAX_STEPS if quick else CSV_MAX_STEPS
    if epochs is None:
        per_epoch = math.ceil(n_train / chosen_batch)
        chosen_epochs = min(default_epochs, max(CSV_MIN_EPOCHS, max_steps // per_epoch))
    else:
        chosen_epochs = epochs
    if variants is None and quick and n_rows >= QUICK_LARGE_CSV_ROWS:
        chosen_variants = QUICK_LARGE_CSV_KEYS
    else:
        chosen_variants = variants
    return CsvBudget(
        n_rows=n_rows,
        n_train=n_train,
        epochs=chosen_epochs,
        batch_size=chosen_batch,
        variants=chosen_variants,
        quick=quick,
        default_epochs=default_epochs,
        max_steps=max_steps,
        epochs_from_user=epochs is not None,
        batch_size_from_user=batch_size is not None,
        variants_from_user=variants is not None,
    )


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


@dataclass
class VariantResult:
    variant: Variant
    train_scores: list = field(default_factory=list)
    test_scores: list = field(default_factory=list)
    model: object = None  # the first repeat's fitted model


@dataclass
class Study:
    """Everything a report needs."""

    title: str
    description: str
    score_name: str
    variants: list
    grid: object = None
    grid_param: str = "noise_std"
    grid_text: str = ""
    robustness: dict = field(default_factory=dict)
    robustness_relative: bool = False
    extra_sections: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    # The tables show the tutorials' numbers (the circles data only).
    tutorial_column: bool = True


# -- running ------------------------------------------------------------------


def repeat_variants(
    variants, estimator, X, y, split, repeats, random_state, progress, prefix=""
):
    """Fit every variant ``repeats`` times; repeat ``r`` uses the seed
    ``random_state + r`` and the rows ``split(r)`` (train and test indices into
    ``X`` and ``y``), shared by all variants, so differences between variants
    are paired.

    Each variant is ``estimator`` with the variant's parameters set (named
    with ``prefix``, e.g. a pipeline step's ``"noisymlpclassifier__"``). On
    a backend that batches (JAX), the variants and repeats that share a split
    train together in one vectorized run; elsewhere each fit runs alone, so
    ``progress`` moves with every fit.
    """
    results = [VariantResult(v) for v in variants]
    for res in results:
        res.train_scores = [None] * repeats
        res.test_scores = [None] * repeats
    splits: dict = {}
    for r in range(repeats):
        train, test = split(r)
        key = (np.asarray(train).tobytes(), np.asarray(test).tobytes())
        splits.setdefault(key, (train, test, []))[2].append(r)
    scorer = check_scoring(estimator)
    for train, test, reps in splits.values():
        members = [(res, r) for r in reps for res in results]
        # The batched engine is JAX's; on other backends the members are
        # ordinary fits, one call each so that the bar moves.
        size = len(members) if keras.backend.backend() == "jax" else 1
        for i in range(0, len(members), size):
            chunk = members[i : i + size]
            candidates = [
                {
                    **{prefix + k: v for k, v in res.variant.params.items()},
                    prefix + "random_state": random_state + r,
                }
                for res, r in chunk
            ]
            out, _ = evaluate(
                estimator,
                candidates,
                X,
                y,
                [(train, test)],
                scorer,
                return_train_score=True,
                return_estimator=True,
                error_score="raise",
            )
            for (res, r), (member,) in zip(chunk, out, strict=True):
                res.train_scores[r] = float(member["train"]["score"])
                res.test_scores[r] = float(member["test"]["score"])
                if r == 0:
                    res.model = member["estimator"]
            progress(len(chunk))
    return results


def _noise_grid_search(estimator, param_grid, X, y, cv):
    """Cross-validated search over the noise level.

    ``BatchedGridSearchCV`` gives ``GridSearchCV``'s results; on the JAX
    backend it trains every (noise level, split) pair as one vectorized run.
    """
    # refit=False: the demo reports the scores, not a refitted best model.
    return BatchedGridSearchCV(estimator, param_grid, cv=cv, refit=False).fit(X, y)


def _grid_best(study: Study):
    """Index, noise level and mean score of the grid's best level (the first
    of tied ones, as ``GridSearchCV`` picks)."""
    cv = study.grid.cv_results_
    best = int(np.argmin(cv["rank_test_score"]))
    level = float(cv[f"param_{study.grid_param}"][best])
    return best, level, float(cv["mean_test_score"][best])


def _history_figure(models: dict, path: Path):
    """Training vs validation curves, one row per model."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.4 * len(models)), layout="constrained")
    axes = fig.subplots(len(models), 2, squeeze=False)
    for row, (name, model) in zip(axes, models.items(), strict=True):
        TrainingHistoryDisplay.from_estimator(model, ax=row, name=name)
    fig.savefig(path, dpi=100)


def _variants_figure(study: Study, path: Path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 0.55 * len(study.variants) + 1.6), layout="constrained")
    ax = fig.subplots()
    ypos = np.arange(len(study.variants))[::-1]
    for y, res in zip(ypos, study.variants, strict=True):
        ax.errorbar(
            np.mean(res.test_scores),
            y,
            xerr=np.std(res.test_scores),
            fmt="o",
            color="C0",
            capsize=4,
            label="test, mean ± std" if y == ypos[0] else None,
        )
        ax.plot(res.test_scores, [y] * len(res.test_scores), "|", color="C0", alpha=0.4)
        if res.variant.tutorial is not None:
            ax.plot(
                res.variant.tutorial,
                y,
                "x",
                color="C3",
                markersize=9,
                label="tutorial, single run" if res is study.variants[0] else None,
            )
    ax.set_yticks(ypos, [res.variant.name for res in study.variants])
    ax.set_xlabel(f"Test {study.score_name}")
    ax.set_title(f"{study.title}: {len(study.variants[0].test_scores)} repeats")
    ax.legend(loc="best")
    fig.savefig(path, dpi=100)


def _grid_figure(search, param, score_name, path: Path):
    from matplotlib.figure import Figure

    cv = search.cv_results_
    levels = np.asarray(cv[f"param_{param}"], dtype=float)
    order = np.argsort(levels)
    x = levels[order]
    mean, sd = cv["mean_test_score"][order], cv["std_test_score"][order]
    fig = Figure(figsize=(5.5, 4), layout="constrained")
    ax = fig.subplots()
    # Level 0 on a log axis: draw it at a small positive stand-in.
    positive = x[x > 0]
    x_plot = np.where(x > 0, x, positive.min() / 3 if positive.size else 1e-3)
    ax.errorbar(x_plot, mean, yerr=sd, marker="o", capsize=4)
    ax.set_xscale("log")
    ax.set_xticks(x_plot, [f"{v:g}" for v in x])
    ax.set_xlabel("noise_std (hidden noise, pre-activation)")
    ax.set_ylabel(f"Cross-validated {score_name}")
    ax.set_title("Grid search over the noise level")
    fig.savefig(path, dpi=100)


def _robustness_figure(curves, path: Path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4), layout="constrained")
    RobustnessCurveDisplay.from_results(curves, ax=fig.subplots())
    fig.savefig(path, dpi=100)


def _check_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise SystemExit(
            "skrobust demo draws figures with matplotlib, which is not "
            'installed: pip install "skrobust[plot]"'
        ) from None


# The tutorials' split: the first 30 rows of 100 train, the other 70 test.
CIRCLES_TRAIN, CIRCLES_TEST = np.arange(30), np.arange(30, 100)


def circles_data():
    return make_circles(n_samples=100, noise=0.1, random_state=1)


def circles_model(settings: Settings, params=None, seed=0, **extra):
    """The tutorials' network, with ``settings``' units and epochs."""
    return NoisyMLPClassifier(
        (settings.hidden_units,),
        epochs=settings.epochs,
        batch_size=32,
        random_state=seed,
        **(params or {}),
        **extra,
    )


def circles_variants(settings: Settings, progress=lambda n: None) -> list:
    """The circles study's variants of this run, each fitted
    ``settings.repeats`` times on the tutorials' split."""
    X, y = circles_data()
    keys = settings.circles_keys()
    return repeat_variants(
        [v for v in CIRCLES_VARIANTS if v.key in keys],
        circles_model(settings, seed=settings.random_state),
        X,
        y,
        lambda r: (CIRCLES_TRAIN, CIRCLES_TEST),
        settings.repeats,
        settings.random_state,
        progress,
    )


def _bn_model(settings: Settings, params=None, seed=0, **extra):
    return NoisyMLPClassifier(
        (settings.bn_hidden_units,),
        kernel_initializer="he_uniform",
        optimizer="sgd",
        learning_rate=0.01,
        momentum=0.9,
        epochs=settings.bn_epochs,
        random_state=seed,
        **(params or {}),
        **extra,
    )


def _bn_variants(settings: Settings) -> tuple:
    """The batch-norm study's variants of this run: none, or the reference
    (no batch norm) and the asked-for placements."""
    keys = settings.circles_keys()
    asked = [v for v in BATCHNORM_VARIANTS[1:] if v.key in keys]
    return (BATCHNORM_VARIANTS[0], *asked) if asked else ()


def run_circles(settings: Settings, out: Path, progress_factory) -> list[Study]:
    """The tutorials' circles case study and batch-norm study, one progress
    bar per phase (``progress_factory(total, description)``)."""
    _check_matplotlib()
    rs = settings.random_state
    X, y = circles_data()
    X_test, y_test = X[CIRCLES_TEST], y[CIRCLES_TEST]
    n_variants = len(settings.circles_keys()) - len(_bn_variants(settings))
    with progress_factory(settings.repeats * n_variants, "circles variants") as bar:
        results = circles_variants(settings, bar.update)
    # Splits like the tutorials' (30 rows to train, 70 to test) drawn from all
    # 100 rows: 70 test rows per split score a level far more stably than
    # k-fold on the 30 training rows (6 rows per fold) would.
    cv = StratifiedShuffleSplit(
        settings.cv, train_size=30, test_size=70, random_state=rs
    )
    n_grid = len(settings.grid_levels) * settings.cv
    with progress_factory(n_grid, "noise grid search") as bar:
        search = _noise_grid_search(
            circles_model(settings, {"noise_position": "pre_activation"}, rs),
            {"noise_std": list(settings.grid_levels)},
            X,
            y,
            cv,
        )
        bar.update(n_grid)
    by_name = {res.variant.name: res.model for res in results}
    with progress_factory(2, "robustness curves") as bar:
        robust = _robustness_curves(
            {"baseline": by_name[BASELINE], "hidden noise 0.1": by_name[HIDDEN_NOISE]},
            X_test,
            y_test,
            settings,
            relative=False,
            progress=bar.update,
        )
    with progress_factory(2, "training histories") as bar:
        # validation_fraction=0.7 of all 100 rows: 30 training rows, 70
        # validation rows, like the tutorials' split (stratified, random).
        history_models, history_text = _history_models(
            settings,
            by_name,
            lambda params: circles_model(
                settings, params, rs, validation_fraction=0.7
            ).fit(X, y),
            "Refits of the baseline and of hidden noise 0.1 on all 100 rows with "
            "`validation_fraction=0.7` (30 training rows, 70 validation rows, a "
            "stratified random split rather than the first 30 rows).",
        )
        _history_figure(history_models, out / "history.png")
        bar.update(2)

    bn_variants = _bn_variants(settings)
    bn_results, bn_history = [], {}
    if bn_variants:
        Xb, yb = make_circles(n_samples=1000, noise=0.1, random_state=1)
        total = settings.repeats * len(bn_variants)
        if not settings.quick:
            total += len(bn_variants) - 1
        with progress_factory(total, "batch-norm study") as bar:
            bn_results = repeat_variants(
                bn_variants,
                _bn_model(settings, seed=rs),
                Xb,
                yb,
                lambda r: (np.arange(500), np.arange(500, 1000)),
                settings.repeats,
                rs,
                bar.update,
            )
            if not settings.quick:
                # More compiled programs (fits with a validation split): the
                # quick run skips them.
                for v in bn_variants[1:]:
                    bn_history[v.name] = _bn_model(
                        settings, v.params, rs, validation_fraction=0.5
                    ).fit(Xb, yb)
                    bar.update(1)
        if bn_history:
            _history_figure(bn_history, out / "batchnorm_history.png")

    circles = Study(
        title="Circles case study",
        description=(
            "`make_circles(n_samples=100, noise=0.1, random_state=1)`, the first "
            "30 rows for training and the other 70 for testing; one hidden layer "
            f"of {settings.hidden_units} ReLU units, Adam, batch size 32, "
            f"{settings.epochs} epochs."
        ),
        score_name="accuracy",
        variants=results,
        grid=search,
        grid_text=(
            f"scored on {settings.cv} stratified random splits of the 100 rows "
            "into 30 training and 70 test rows (the tutorials' proportions)"
        ),
        robustness=robust,
        extra_sections=[_history_section("history.png", history_text)],
    )
    studies = [circles]
    if bn_results:
        studies.append(
            Study(
                title="Batch-norm study",
                description=(
                    "`make_circles(n_samples=1000, noise=0.1, random_state=1)`, "
                    "500 rows for training and 500 for testing; "
                    f"{settings.bn_hidden_units} ReLU units with `he_uniform` "
                    "initialization, SGD (learning rate 0.01, momentum 0.9), "
                    f"{settings.bn_epochs} epochs; batch normalization before or "
                    "after the activation."
                ),
                score_name="accuracy",
                variants=bn_results,
                extra_sections=[
                    _history_section(
                        "batchnorm_history.png",
                        "Refits on all 1000 rows with `validation_fraction=0.5`.",
                    )
                ]
                if bn_history
                else [],
                tutorial_column=False,
            )
        )
    _variants_figure(circles, out / "variants.png")
    _grid_figure(search, "noise_std", "accuracy", out / "grid_search.png")
    _robustness_figure(robust, out / "robustness.png")
    circles.figures = ["variants.png", "grid_search.png", "robustness.png"]
    return studies


def _robustness_curves(models, X, y, settings, relative, progress=None):
    # The estimators' own score, named so the plot's axis says what it is.
    scoring = "accuracy" if is_classifier(next(iter(models.values()))) else "r2"
    curves = {}
    for name, model in models.items():
        curves[name] = robustness_curve(
            model,
            X,
            y,
            settings.robustness_levels,
            n_repeats=settings.robustness_repeats,
            scoring=scoring,
            relative=relative,
            random_state=settings.random_state,
        )
        if progress is not None:
            progress(1)
    return curves


def _history_models(settings, by_name, refit, text):
    """The models whose training curves are drawn, and a sentence on them.

    Fits with a validation split are compiled programs of their own, so the
    quick run draws the first repeat's training curves instead.
    """
    if settings.quick:
        return {
            "baseline": by_name[BASELINE],
            "hidden noise 0.1": by_name[HIDDEN_NOISE],
        }, (
            "Training curves of the first repeat's baseline and hidden-noise "
            "models (the quick run fits no validation split)."
        )
    return {
        "baseline": refit({}),
        "hidden noise 0.1": refit({"noise_std": 0.1}),
    }, text


def _history_section(png, text):
    return f"### Training history\n\n{text}\n\n![training history]({png})\n"


def run_csv(
    X,
    y,
    task: str,
    source: str,
    settings: Settings,
    out: Path,
    progress_factory,
    preprocessor=None,
    preprocessing_section: str = "",
) -> list[Study]:
    """The circles variants and the other noise kinds on a user's data:
    features encoded by ``preprocessor`` (an unfitted transformer, cloned
    into every model's pipeline; default ``StandardScaler``), a different
    train/test split (70/30) and seed for every repeat."""
    _check_matplotlib()
    rs = settings.random_state
    classification = task == "classification"
    Model = NoisyMLPClassifier if classification else NoisyMLPRegressor
    if not classification:
        # A target in the hundreds leaves a network at its default learning
        # rate underfitting and makes absolute noise settings meaningless;
        # R^2 does not change with the target's unit.
        y = np.asarray(y, dtype=float)
        y = (y - y.mean()) / (y.std() or 1.0)
    step = Model.__name__.lower()
    # Every variant: the demo's network, then ``--param``, then its own
    # settings (a variant stays what its name says).
    common = {
        "hidden_layer_sizes": (settings.hidden_units,),
        "epochs": settings.epochs,
        **({} if settings.batch_size is None else {"batch_size": settings.batch_size}),
        **settings.estimator_params,
    }

    def make_model(params, seed, **extra):
        return make_pipeline(
            StandardScaler() if preprocessor is None else clone(preprocessor),
            Model(**{**common, **params, **extra, "random_state": seed}),
        )

    rows = np.arange(len(y))

    def split(r):
        stratify = y if classification else None
        return train_test_split(
            rows, test_size=CSV_TEST_SIZE, random_state=rs + r, stratify=stratify
        )

    variants = settings.select(csv_variants(task))
    with progress_factory(settings.repeats * len(variants), "variants") as bar:
        results = repeat_variants(
            variants,
            make_model({}, rs),
            X,
            y,
            split,
            settings.repeats,
            rs,
            bar.update,
            prefix=f"{step}__",
        )
    train, test = split(0)
    X_tr, y_tr, X_te, y_te = take(X, train), y[train], take(X, test), y[test]
    n_grid = len(settings.grid_levels) * settings.cv
    with progress_factory(n_grid, "noise grid search") as bar:
        search = _noise_grid_search(
            make_model({}, rs),
            {f"{step}__noise_std": list(settings.grid_levels)},
            X_tr,
            y_tr,
            settings.cv,
        )
        bar.update(n_grid)
    with progress_factory(2, "robustness curves") as bar:
        by_name = {res.variant.name: res.model for res in results}
        robust_models = {
            "baseline": by_name[BASELINE],
            "hidden noise 0.1": by_name[HIDDEN_NOISE],
        }
        X_rob = X_te
        if preprocessor is not None:
            # Gaussian noise has no meaning on a category: perturb the network's
            # inputs instead. Both pipelines fitted the same deterministic
            # preprocessor on the same rows, so one transform serves both.
            X_rob = dense_inputs(by_name[BASELINE][:-1], X_te)
            robust_models = {k: m[-1] for k, m in robust_models.items()}
        robust = _robustness_curves(
            robust_models,
            X_rob,
            y_te,
            settings,
            relative=True,
            progress=bar.update,
        )
    with progress_factory(2, "training histories") as bar:
        history_models, history_text = _history_models(
            settings,
            by_name,
            lambda params: make_model(params, rs, validation_fraction=0.3).fit(
                X_tr, y_tr
            ),
            "Refits of the baseline and of hidden noise 0.1 on the first training "
            "split with `validation_fraction=0.3`.",
        )
        bar.update(2)

    score_name = "accuracy" if classification else "r2"
    study = Study(
        title=f"{source} ({task})",
        description=(
            f"{len(y)} rows, "
            + (
                f"{X.shape[1]} numeric features standardized by a "
                f"`StandardScaler` in a Pipeline"
                if preprocessor is None
                else f"{X.shape[1]} columns encoded in a Pipeline as Preprocessing "
                "below says"
            )
            + f"{'' if classification else '; the target standardized once (R² is unchanged by its unit)'}"
            f"; a new "
            f"{'stratified ' if classification else ''}70/30 train/test split "
            f"for every repeat; {_network_text(Model(**common))}."
        ),
        score_name=score_name,
        variants=results,
        grid=search,
        grid_param=f"{step}__noise_std",
        grid_text=(
            f"{settings.cv}-fold cross-validation on the first repeat's training split"
        ),
        robustness=robust,
        robustness_relative=True,
        extra_sections=[
            *([preprocessing_section] if preprocessing_section else []),
            *([settings.budget.section(task)] if settings.budget else []),
            _variant_parameters_section(variants, settings.estimator_params),
            _history_section("history.png", history_text),
        ],
        tutorial_column=False,
    )
    _history_figure(history_models, out / "history.png")
    _variants_figure(study, out / "variants.png")
    _grid_figure(search, study.grid_param, score_name, out / "grid_search.png")
    _robustness_figure(robust, out / "robustness.png")
    study.figures = ["variants.png", "grid_search.png", "robustness.png"]
    return [study]


def _network_text(estimator) -> str:
    """The network and training of ``estimator`` in a few words."""
    sizes = tuple(estimator.hidden_layer_sizes)
    layers = (
        f"one hidden layer of {sizes[0]}"
        if len(sizes) == 1
        else f"{len(sizes)} hidden layers of {', '.join(map(str, sizes))}"
    )
    act = estimator.activation
    act = "ReLU" if act == "relu" else f"`{act}`"
    optimizer = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}.get(
        estimator.optimizer, estimator.optimizer
    )
    return (
        f"{layers} {act} units, {optimizer}, batch size {estimator.batch_size}, "
        f"{estimator.epochs} epochs"
    )


def _format_params(params: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def param_conflicts(variants, params: dict) -> dict:
    """For each ``--param`` name, the variants that set it themselves (their
    own value wins)."""
    return {
        name: [v.key for v in variants if name in v.params]
        for name in params
        if any(name in v.params for v in variants)
    }


def _variant_parameters_section(variants, params: dict) -> str:
    rows = [
        [v.name, f"`{_format_params(v.params)}`" if v.params else "(none)"]
        for v in variants
    ]
    lines = [
        "### What each variant changes\n",
        "Each variant is the baseline with these estimator parameters set; all "
        "variants share the splits and seeds of a repeat, so their differences "
        "are paired.\n",
        markdown_table(["variant", "parameters"], rows) + "\n",
    ]
    if params:
        lines.append(
            f"Set for every variant with `--param`: `{_format_params(params)}`.\n"
        )
        for name, keys in param_conflicts(variants, params).items():
            lines.append(
                f"`--param {name}` does not apply to {', '.join(keys)}: they set "
                "it themselves.\n"
            )
    if any(v.key == "input-feature" for v in variants):
        lines.append(
            "The features are standardized on each training split, so "
            '`noise_scale="feature"` gives every feature noise of 0.1 of its '
            "standard deviation, as absolute noise 0.1 on the standardized "
            "features would; the feature scale matters on features that are "
            "not standardized.\n"
        )
    return "\n".join(lines)


# -- reporting ----------------------------------------------------------------


def _pm(values) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def summary_rows(study: Study, paired: bool = True) -> list[list[str]]:
    """Rows of the summary table: variant, train, test, then the tutorials'
    number (circles) and, with ``paired``, the paired difference from the
    first variant with its confidence interval and what it says."""
    rows = []
    for res in study.variants:
        row = [res.variant.name, _pm(res.train_scores), _pm(res.test_scores)]
        if study.tutorial_column:
            tutorial = res.variant.tutorial
            row.append("" if tutorial is None else f"{tutorial:.3f}")
        if paired:
            row.append(_paired_cell(study, res))
        rows.append(row)
    return rows


def summary_header(study: Study, paired: bool = True) -> list[str]:
    label = "R²" if study.score_name == "r2" else study.score_name
    header = ["variant", f"train {label}", f"test {label}"]
    if study.tutorial_column:
        header.append("tutorial (1 run)")
    if paired:
        header.append(f"test - {_reference_label(study)} [95% CI]")
    return header


def _reference_label(study: Study) -> str:
    name = study.variants[0].variant.name
    return "baseline" if name == BASELINE else name


def text_table(header, rows) -> str:
    """A plain aligned table for the terminal."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines)


def markdown_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


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


def _paired_cell(study: Study, res: VariantResult) -> str:
    if res is study.variants[0]:
        return ""
    p = _paired(study, res)
    if p.n < 2:
        return f"{p.mean:+.3f}, 1 repeat: within noise"
    return f"{p.mean:+.3f} [{_signed(p.low)}, {_signed(p.high)}] {p.verdict}"


def _signed(x: float) -> str:
    """``x`` with its sign and 3 decimals, or 1 significant digit when 3
    decimals would show a bound that excludes 0 as 0."""
    if x != 0 and abs(x) < 0.0005:
        return f"{x:+.{-math.floor(math.log10(abs(x)))}f}"
    return f"{x:+.3f}"


def paired_difference(study: Study, name: str) -> str | None:
    """One sentence on variant ``name`` minus the study's first variant (its
    reference) in test score, paired by repeat, and what it shows."""
    reference = study.variants[0].variant.name
    by_name = {res.variant.name: res for res in study.variants}
    if name not in by_name or reference not in by_name:
        return None
    p = _paired(study, by_name[name])
    return (
        f"{name} minus {reference}, test {study.score_name} paired by seed: "
        f"{p.mean:+.3f} on average (std {p.std:.3f}, {p.interval()}); better in "
        f"{p.wins} of {p.n} repeats, tied in {p.ties}: "
        f"{p.conclusion(reference)}."
    )


def _grid_comparison(study: Study) -> str | None:
    """The best noise level minus no noise, paired by split, or None when
    the grid has no level 0 or 0 is best."""
    search = study.grid
    cv = search.cv_results_
    levels = np.asarray(cv[f"param_{study.grid_param}"], dtype=float)
    best, _, _ = _grid_best(study)
    zero = np.flatnonzero(levels == 0)
    if zero.size == 0:
        return None
    if levels[best] == 0:
        return "No noise level scored better than no noise."
    n_splits = sum(1 for k in cv if k.startswith("split") and k.endswith("_test_score"))
    split = [cv[f"split{i}_test_score"] for i in range(n_splits)]
    p = Paired.of([s[best] - s[zero[0]] for s in split])
    return (
        f"Best level ({levels[best]:g}) minus no noise, {study.score_name} paired "
        f"by split: {p.mean:+.3f} on average ({p.interval()}); better on {p.wins} of "
        f"{p.n} splits: {p.conclusion('no noise', 'splits')}."
    )


def _grid_section(study: Study) -> str:
    search = study.grid
    cv = search.cv_results_
    levels = np.asarray(cv[f"param_{study.grid_param}"], dtype=float)
    rows = [
        [f"{lvl:g}", f"{m:.3f} ± {s:.3f}"]
        for lvl, m, s in sorted(
            zip(levels, cv["mean_test_score"], cv["std_test_score"], strict=True)
        )
    ]
    _, best, best_score = _grid_best(study)
    return (
        "## Grid search over the noise level\n\n"
        f"`BatchedGridSearchCV` over `noise_std` (hidden noise before the activation), "
        f"{study.grid_text}.\n\n"
        + markdown_table(["noise_std", f"CV {study.score_name} (mean ± std)"], rows)
        + f"\n\nBest level: **{best:g}**, cross-validated {study.score_name} "
        f"{best_score:.3f}. {_grid_comparison(study) or ''}\n\n"
        "![grid search](grid_search.png)\n"
    )


def _robustness_section(study: Study) -> str:
    names = list(study.robustness)
    levels = study.robustness[names[0]].noise_levels
    rows = [
        [f"{lvl:g}"]
        + [
            f"{study.robustness[n].mean_scores[i]:.3f} ± "
            f"{study.robustness[n].std_scores[i]:.3f}"
            for n in names
        ]
        for i, lvl in enumerate(levels)
    ]
    what = (
        "relative to each feature's standard deviation"
        if study.robustness_relative
        else "absolute"
    )
    return (
        "## Robustness to noisy test inputs\n\n"
        f"Test {study.score_name} of the first repeat's models as Gaussian noise "
        f"({what} std) is added to the test inputs, "
        f"{len(study.robustness[names[0]].scores[0])} noisy copies per level "
        "(the same draws for both models).\n\n"
        + markdown_table(["noise std", *names], rows)
        + "\n\n![robustness](robustness.png)\n"
    )


def quick_note(settings: Settings, csv: bool = False) -> str:
    """What a quick run (``settings.quick``) leaves out of the full one, and
    why its numbers can still be read: one paragraph for the report."""
    full = Settings()
    changes = []
    caveat = ""
    if settings.repeats < full.repeats:
        changes.append(f"{settings.repeats} repeats instead of {full.repeats}")
    if csv:
        budget = settings.budget
        if budget is None:
            changes.append("fewer epochs")
        elif not budget.epochs_from_user:
            full_epochs = csv_budget(
                budget.n_rows,
                quick=False,
                batch_size=budget.batch_size if budget.batch_size_from_user else None,
            ).epochs
            if settings.epochs < full_epochs:
                changes.append(
                    f"{settings.epochs} epochs instead of {full_epochs}"
                    + (
                        f" (at most {budget.max_steps:,} mini-batch steps per "
                        f"fit instead of {CSV_MAX_STEPS:,})"
                        if budget.epochs_capped
                        else ""
                    )
                )
                caveat = (
                    " With fewer epochs the baseline overfits less than in the "
                    "full run, so a regularizer can look smaller here (or "
                    "within noise) than it is there."
                )
        if budget is not None and budget.variants_cut:
            changes.append(
                f"{len(budget.variants)} variants instead of all on a table of "
                f"{QUICK_LARGE_CSV_ROWS:,} rows or more (Training budget below "
                "says which are left out and why)"
            )
    else:
        keys = settings.circles_keys()
        n_all = len(CIRCLES_VARIANTS)
        n_run = len([v for v in CIRCLES_VARIANTS if v.key in keys])
        if n_run < n_all:
            changes.append(
                f"{n_run} of the {n_all} circles variants (`--variants` adds others)"
            )
        if not _bn_variants(settings):
            changes.append("no batch-norm study")
    grid, full_grid = len(settings.grid_levels), len(full.grid_levels)
    if (grid, settings.cv) != (full_grid, full.cv):
        changes.append(
            f"{grid} noise levels on {settings.cv} splits in the grid search "
            f"instead of {full_grid} on {full.cv}"
        )
    if settings.robustness_repeats < full.robustness_repeats:
        changes.append(
            f"{settings.robustness_repeats} noisy copies per level instead of "
            f"{full.robustness_repeats}"
        )
    same = (settings.epochs, settings.hidden_units) == (full.epochs, full.hidden_units)
    if csv:
        kept = "the full run's network and batch size"
    elif same:
        kept = (
            "the full study's data, network and training (30 training rows, "
            f"{full.hidden_units} units, {full.epochs} epochs), so it measures "
            "the same thing"
        )
    else:
        kept = (
            f"{settings.hidden_units} units and {settings.epochs} epochs instead "
            f"of the full study's {full.hidden_units} and {full.epochs}, so it "
            "does not measure what the full study measures"
        )
    return (
        f"> **Quick run** (`--quick`): {kept}; it saves time with "
        f"{', '.join(changes)}. With fewer repeats a difference must be larger "
        "to stand out from noise: each paired difference says whether its 95% "
        "confidence interval excludes 0 (better or worse) or not (within noise "
        f"for that many repeats).{caveat} Run without `--quick` for the full "
        "study.\n"
    )


def write_report(
    studies,
    settings: Settings,
    command: str,
    out: Path,
    footer: str = "",
    note: str = "",
) -> Path:
    """Write ``report.md`` into ``out``; ``note`` (e.g. :func:`quick_note`)
    follows the command line."""
    parts = ["# skrobust demo report\n"]
    parts.append(
        f"Command: `{command}`. Every variant fitted {settings.repeats} times "
        f"(seeds {settings.random_state} to {settings.random_state + settings.repeats - 1}); "
        "scores are mean ± standard deviation over the repeats.\n"
    )
    if note:
        parts.append(note)
    for study in studies:
        parts.append(f"## {study.title}\n\n{study.description}\n")
        parts.append(markdown_table(summary_header(study), summary_rows(study)) + "\n")
        parts.append(_paired_legend(study) + "\n")
        notes = [
            paired_difference(study, res.variant.name) for res in study.variants[1:]
        ]
        notes = [n for n in notes if n]
        if notes:
            parts.append("\n".join(f"- {n}" for n in notes) + "\n")
        if "variants.png" in study.figures:
            parts.append("![variants](variants.png)\n")
        for section in study.extra_sections:
            parts.append(section)
        if study.grid is not None:
            parts.append(_grid_section(study))
        if study.robustness:
            parts.append(_robustness_section(study))
    if footer:
        parts.append(footer + "\n")
    path = out / "report.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _paired_legend(study: Study) -> str:
    n = len(study.variants[0].test_scores)
    return (
        f"Last column: test {study.score_name} minus that of "
        f"{study.variants[0].variant.name} on the same split and seed, mean "
        f"over the {n} repeats with its 95% confidence interval (Student's t); "
        "better or worse when the interval excludes 0, else within noise for "
        f"{n} repeats."
    )


def terminal_summary(studies) -> str:
    """The tables and the headline sentences, for the end of the output."""
    blocks = []
    for study in studies:
        blocks.append(
            f"{study.title}\n"
            + text_table(summary_header(study), summary_rows(study))
            + "\n"
            + _paired_legend(study)
        )
        if study.tutorial_column:
            diff = paired_difference(study, HIDDEN_NOISE)
            if diff:
                blocks.append(diff[0].upper() + diff[1:])
        if study.grid is not None:
            _, best, best_score = _grid_best(study)
            comparison = _grid_comparison(study)
            blocks.append(
                f"Grid search: best noise_std {best:g}, cross-validated "
                f"{study.score_name} {best_score:.3f}."
                + (f" {comparison}" if comparison else "")
            )
    return "\n\n".join(blocks)
