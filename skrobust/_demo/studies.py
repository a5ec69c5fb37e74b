"""What every study shares: its results (:class:`VariantResult`,
:class:`Study`), the repeated and paired fits of its variants, the grid
search over the noise level, the robustness curves and the models whose
training histories are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring

from skrobust._demo.variants import BASELINE, HIDDEN_NOISE, Variant
from skrobust.inspection import robustness_curve
from skrobust.model_selection import BatchedGridSearchCV
from skrobust.model_selection._batched import evaluate


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


def repeat_variants(
    variants, estimator, X, y, split, repeats, random_state, progress, prefix=""
):
    """Fit every variant ``repeats`` times; repeat ``r`` uses the seed
    ``random_state + r`` and the rows ``split(r)`` (train and test indices into
    ``X`` and ``y``), shared by all variants, so differences between variants
    are paired.

    Each variant is ``estimator`` with the variant's parameters set (named
    with ``prefix``, e.g. a pipeline step's ``"noisymlpclassifier__"``). The
    variants and repeats that share a split train together in one vectorized
    run.
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
        size = len(members)
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

    ``BatchedGridSearchCV`` gives ``GridSearchCV``'s results; it trains every
    (noise level, split) pair as one vectorized run.
    """
    # refit=False: the demo reports the scores, not a refitted best model.
    return BatchedGridSearchCV(estimator, param_grid, cv=cv, refit=False).fit(X, y)


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
