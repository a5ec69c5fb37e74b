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

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.datasets import make_circles
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


@dataclass(frozen=True)
class Settings:
    """How much work a demo run does. ``quick`` shrinks everything."""

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
    # Keys of the variants to run (None: all); lets tests run fewer compiled
    # programs.
    variants: tuple | None = None
    # Estimator parameters for every variant of the CSV mode (``--param``);
    # a variant's own settings take precedence.
    estimator_params: dict = field(default_factory=dict)

    def select(self, variants):
        return tuple(
            v for v in variants if self.variants is None or v.key in self.variants
        )

    @classmethod
    def make(cls, *, quick=False, **overrides):
        """Defaults (full or quick) with the non-None ``overrides`` applied."""
        base = (
            cls(
                repeats=3,
                epochs=800,
                bn_epochs=20,
                grid_levels=(0.0, 0.1, 0.3),
                cv=3,
                robustness_levels=(0.0, 0.1, 0.3, 0.5),
                robustness_repeats=3,
                quick=True,
            )
            if quick
            else cls()
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
    # The terminal table adds each variant's paired difference from the first.
    paired_column: bool = False


# -- running ------------------------------------------------------------------


def repeat_variants(variants, make_model, split, repeats, random_state, progress):
    """Fit every variant ``repeats`` times; repeat ``r`` uses the seed
    ``random_state + r`` and the data ``split(r)``, shared by all variants, so
    differences between variants are paired."""
    results = [VariantResult(v) for v in variants]
    for r in range(repeats):
        X_train, y_train, X_test, y_test = split(r)
        for res in results:
            model = make_model(res.variant.params, random_state + r)
            model.fit(X_train, y_train)
            res.train_scores.append(float(model.score(X_train, y_train)))
            res.test_scores.append(float(model.score(X_test, y_test)))
            if r == 0:
                res.model = model
            progress(1)
    return results


def _noise_grid_search(estimator, param_grid, X, y, cv):
    """Cross-validated search over the noise level.

    ``BatchedGridSearchCV`` gives ``GridSearchCV``'s results; on the JAX
    backend it trains every (noise level, split) pair as one vectorized run.
    """
    return BatchedGridSearchCV(estimator, param_grid, cv=cv).fit(X, y)


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


def run_circles(settings: Settings, out: Path, progress_factory) -> list[Study]:
    """The tutorials' circles case study and batch-norm study."""
    _check_matplotlib()
    rs = settings.random_state
    X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
    X_train, y_train, X_test, y_test = X[:30], y[:30], X[30:], y[30:]

    def circles_model(params, seed, **extra):
        return NoisyMLPClassifier(
            (settings.hidden_units,),
            epochs=settings.epochs,
            batch_size=32,
            random_state=seed,
            **params,
            **extra,
        )

    Xb, yb = make_circles(n_samples=1000, noise=0.1, random_state=1)
    bn_split = (Xb[:500], yb[:500], Xb[500:], yb[500:])

    def bn_model(params, seed, **extra):
        return NoisyMLPClassifier(
            (settings.bn_hidden_units,),
            kernel_initializer="he_uniform",
            optimizer="sgd",
            learning_rate=0.01,
            momentum=0.9,
            epochs=settings.bn_epochs,
            random_state=seed,
            **params,
            **extra,
        )

    # Every variant is a compiled program of its own (seconds to build on
    # TensorFlow); the quick run leaves out the batch-norm study's reference.
    bn_variants = settings.select(
        BATCHNORM_VARIANTS[1:] if settings.quick else BATCHNORM_VARIANTS
    )
    n_grid = len(settings.grid_levels) * settings.cv + 1
    total = settings.repeats * (
        len(settings.select(CIRCLES_VARIANTS)) + len(bn_variants)
    )
    total += n_grid + 2 + len(bn_variants)
    with progress_factory(total) as bar:
        bar.set_description("circles variants")
        results = repeat_variants(
            settings.select(CIRCLES_VARIANTS),
            circles_model,
            lambda r: (X_train, y_train, X_test, y_test),
            settings.repeats,
            rs,
            bar.update,
        )
        bar.set_description("noise grid search")
        # Splits like the tutorials' (30 rows to train, 70 to test) drawn from
        # all 100 rows: 70 test rows per split score a level far more stably
        # than k-fold on the 30 training rows (6 rows per fold) would.
        cv = StratifiedShuffleSplit(
            settings.cv, train_size=30, test_size=70, random_state=rs
        )
        search = _noise_grid_search(
            circles_model({"noise_position": "pre_activation"}, rs),
            {"noise_std": list(settings.grid_levels)},
            X,
            y,
            cv,
        )
        bar.update(n_grid)
        bar.set_description("robustness curves")
        by_name = {res.variant.name: res.model for res in results}
        robust = _robustness_curves(
            {"baseline": by_name[BASELINE], "hidden noise 0.1": by_name[HIDDEN_NOISE]},
            X_test,
            y_test,
            settings,
            relative=False,
        )
        bar.set_description("training histories")
        # validation_fraction=0.7 of all 100 rows: 30 training rows, 70
        # validation rows, like the tutorials' split (stratified, random).
        history_models, history_text = _history_models(
            settings,
            by_name,
            lambda params: circles_model(params, rs, validation_fraction=0.7).fit(X, y),
            "Refits of the baseline and of hidden noise 0.1 on all 100 rows with "
            "`validation_fraction=0.7` (30 training rows, 70 validation rows, a "
            "stratified random split rather than the first 30 rows).",
        )
        bar.update(2)
        _history_figure(history_models, out / "history.png")

        bar.set_description("batch-norm study")
        bn_results = repeat_variants(
            bn_variants,
            bn_model,
            lambda r: bn_split,
            settings.repeats,
            rs,
            bar.update,
        )
        bn_history = {}
        if not settings.quick:
            # More compiled programs (fits with a validation split): the quick
            # run skips them.
            bn_history = {
                v.name: bn_model(v.params, rs, validation_fraction=0.5).fit(Xb, yb)
                for v in bn_variants
                if v.params
            }
        if bn_history:
            _history_figure(bn_history, out / "batchnorm_history.png")
        bar.update(len(bn_variants))

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
    batchnorm = Study(
        title="Batch-norm study",
        description=(
            "`make_circles(n_samples=1000, noise=0.1, random_state=1)`, 500 rows "
            f"for training and 500 for testing; {settings.bn_hidden_units} ReLU "
            "units with `he_uniform` initialization, SGD (learning rate 0.01, "
            f"momentum 0.9), {settings.bn_epochs} epochs; batch normalization "
            "before or after the activation."
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
    )
    _variants_figure(circles, out / "variants.png")
    _grid_figure(search, "noise_std", "accuracy", out / "grid_search.png")
    _robustness_figure(robust, out / "robustness.png")
    circles.figures = ["variants.png", "grid_search.png", "robustness.png"]
    return [circles, batchnorm] if bn_results else [circles]


def _robustness_curves(models, X, y, settings, relative):
    # The estimators' own score, named so the plot's axis says what it is.
    scoring = "accuracy" if is_classifier(next(iter(models.values()))) else "r2"
    return {
        name: robustness_curve(
            model,
            X,
            y,
            settings.robustness_levels,
            n_repeats=settings.robustness_repeats,
            scoring=scoring,
            relative=relative,
            random_state=settings.random_state,
        )
        for name, model in models.items()
    }


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
        **settings.estimator_params,
    }

    def make_model(params, seed, **extra):
        return make_pipeline(
            StandardScaler() if preprocessor is None else clone(preprocessor),
            Model(**{**common, **params, **extra, "random_state": seed}),
        )

    def split(r):
        stratify = y if classification else None
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, random_state=rs + r, stratify=stratify
        )
        return X_tr, y_tr, X_te, y_te

    variants = settings.select(csv_variants(task))
    n_grid = len(settings.grid_levels) * settings.cv + 1
    total = settings.repeats * len(variants) + n_grid + 2
    with progress_factory(total) as bar:
        bar.set_description("variants")
        results = repeat_variants(
            variants, make_model, split, settings.repeats, rs, bar.update
        )
        X_tr, y_tr, X_te, y_te = split(0)
        bar.set_description("noise grid search")
        search = _noise_grid_search(
            make_model({}, rs),
            {f"{step}__noise_std": list(settings.grid_levels)},
            X_tr,
            y_tr,
            settings.cv,
        )
        bar.update(n_grid)
        bar.set_description("robustness curves")
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
        )
        bar.set_description("training histories")
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
            _variant_parameters_section(variants, settings.estimator_params),
            _history_section("history.png", history_text),
        ],
        tutorial_column=False,
        paired_column=True,
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


def summary_rows(study: Study, paired: bool = False) -> list[list[str]]:
    """Rows of the summary table: variant, train, test, then the tutorials'
    number (circles) and, with ``paired``, the paired difference from the
    first variant."""
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


def summary_header(study: Study, paired: bool = False) -> list[str]:
    label = "R²" if study.score_name == "r2" else study.score_name
    header = ["variant", f"train {label}", f"test {label}"]
    if study.tutorial_column:
        header.append("tutorial (1 run)")
    if paired:
        header.append("test - baseline (s.e.), better")
    return header


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


def _paired(study: Study, res: VariantResult):
    """Test score of ``res`` minus the study's first variant's, paired by
    repeat: mean, std, standard error, wins, ties, repeats."""
    diff = np.asarray(res.test_scores) - np.asarray(study.variants[0].test_scores)
    n = diff.size
    sem = np.std(diff, ddof=1) / math.sqrt(n) if n > 1 else float("nan")
    wins, ties = int(np.sum(diff > 0)), int(np.sum(diff == 0))
    return np.mean(diff), np.std(diff), sem, wins, ties, n


def _paired_cell(study: Study, res: VariantResult) -> str:
    if res is study.variants[0]:
        return ""
    mean, _, sem, wins, _, n = _paired(study, res)
    return f"{mean:+.3f} ({sem:.3f}), {wins}/{n}"


def paired_difference(study: Study, name: str) -> str | None:
    """One sentence on variant ``name`` minus the study's first variant (its
    reference) in test score, paired by repeat."""
    reference = study.variants[0].variant.name
    by_name = {res.variant.name: res for res in study.variants}
    if name not in by_name or reference not in by_name:
        return None
    mean, std, sem, wins, ties, n = _paired(study, by_name[name])
    return (
        f"{name} minus {reference}, test {study.score_name} paired by seed: "
        f"{mean:+.3f} on average (std {std:.3f}, standard error "
        f"{sem:.3f}); better in {wins} of {n} repeats, tied in {ties}."
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
    best = search.best_params_[study.grid_param]
    return (
        "## Grid search over the noise level\n\n"
        f"`BatchedGridSearchCV` over `noise_std` (hidden noise before the activation), "
        f"{study.grid_text}.\n\n"
        + markdown_table(["noise_std", f"CV {study.score_name} (mean ± std)"], rows)
        + f"\n\nBest level: **{best:g}**, cross-validated {study.score_name} "
        f"{search.best_score_:.3f}.\n\n![grid search](grid_search.png)\n"
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


def write_report(
    studies, settings: Settings, command: str, out: Path, footer: str = ""
) -> Path:
    parts = ["# skrobust demo report\n"]
    parts.append(
        f"Command: `{command}`. Every variant fitted {settings.repeats} times "
        f"(seeds {settings.random_state} to {settings.random_state + settings.repeats - 1}); "
        "scores are mean ± standard deviation over the repeats.\n"
    )
    if settings.quick:
        parts.append(
            "> **Quick run** (`--quick`): fewer repeats, epochs, grid levels and "
            "folds than the full study, so the numbers are rough and not "
            "comparable with the tutorials'. Run without `--quick` for the real "
            "study.\n"
        )
    for study in studies:
        parts.append(f"## {study.title}\n\n{study.description}\n")
        parts.append(markdown_table(summary_header(study), summary_rows(study)) + "\n")
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


def terminal_summary(studies) -> str:
    blocks = []
    for study in studies:
        paired = study.paired_column
        blocks.append(
            f"{study.title}\n"
            + text_table(summary_header(study, paired), summary_rows(study, paired))
        )
        if paired:
            blocks.append(
                f"Last column: test {study.score_name} minus the "
                f"{study.variants[0].variant.name}'s on the same split and seed, "
                f"mean over the {len(study.variants[0].test_scores)} repeats "
                "(standard error), and the repeats in which the variant did better."
            )
        else:
            diff = paired_difference(study, HIDDEN_NOISE)
            if diff:
                blocks.append(diff)
        if study.grid is not None:
            best = study.grid.best_params_[study.grid_param]
            blocks.append(
                f"Grid search: best noise_std {best:g}, cross-validated "
                f"{study.score_name} {study.grid.best_score_:.3f}."
            )
    return "\n\n".join(blocks)
