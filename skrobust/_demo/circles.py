"""The tutorials' circles case study (the variants, the noise grid search,
robustness curves and training histories) and the batch-norm study:
:func:`run_circles`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import make_circles
from sklearn.model_selection import StratifiedShuffleSplit

from skrobust import NoisyMLPClassifier
from skrobust._demo.figures import (
    _check_matplotlib,
    _grid_figure,
    _history_figure,
    _robustness_figure,
    _variants_figure,
)
from skrobust._demo.settings import Settings, _bn_variants
from skrobust._demo.studies import (
    Study,
    _history_models,
    _history_section,
    _noise_grid_search,
    _robustness_curves,
    repeat_variants,
)
from skrobust._demo.variants import BASELINE, CIRCLES_VARIANTS, HIDDEN_NOISE

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
        # The tutorials train a fixed 4000 epochs: no convergence stop.
        tol=None,
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
        batch_size=32,
        tol=None,
        random_state=seed,
        **(params or {}),
        **extra,
    )


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
