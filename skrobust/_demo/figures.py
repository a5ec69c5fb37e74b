"""The demo's figures (matplotlib, imported only when drawing): the variants'
test scores, the grid search, the robustness curves and the training
histories.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skrobust._demo.studies import Study
from skrobust.inspection import RobustnessCurveDisplay, TrainingHistoryDisplay


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
