"""The same comparison on a user's CSV (the circles variants plus the other
kinds of noise, in a Pipeline with the table's preprocessing):
:func:`run_csv`, and the report's paragraph on what each variant changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrobust import NoisyMLPClassifier, NoisyMLPRegressor
from skrobust._demo.budget import CSV_TEST_SIZE
from skrobust._demo.figures import (
    _check_matplotlib,
    _grid_figure,
    _history_figure,
    _robustness_figure,
    _variants_figure,
)
from skrobust._demo.report import markdown_table
from skrobust._demo.settings import Settings
from skrobust._demo.studies import (
    Study,
    _history_models,
    _history_section,
    _noise_grid_search,
    _robustness_curves,
    repeat_variants,
)
from skrobust._demo.variants import (
    BASELINE,
    HIDDEN_NOISE,
    csv_variants,
    param_conflicts,
)
from skrobust._preprocessing import dense_inputs
from skrobust.model_selection._fit_and_score import take


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
        # Every variant trains the budget's epochs, so the comparison is of
        # equal training (``--param tol=...`` turns the stop back on).
        "tol": None,
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
