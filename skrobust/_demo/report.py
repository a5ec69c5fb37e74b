"""The demo's words: the summary tables, the paired differences and the
grid search and robustness sections, the quick run's note, ``report.md``
(:func:`write_report`) and the terminal summary.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# The budget's constants are read from their module when a note is written,
# as the budget's own code reads them (tests patch them there).
from skrobust._demo import budget as _budget
from skrobust._demo.settings import Settings, _bn_variants
from skrobust._demo.stats import Paired, _grid_best, _paired, _signed
from skrobust._demo.studies import Study, VariantResult
from skrobust._demo.variants import BASELINE, CIRCLES_VARIANTS, HIDDEN_NOISE


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


def _paired_cell(study: Study, res: VariantResult) -> str:
    if res is study.variants[0]:
        return ""
    p = _paired(study, res)
    if p.n < 2:
        return f"{p.mean:+.3f}, 1 repeat: within noise"
    return f"{p.mean:+.3f} [{_signed(p.low)}, {_signed(p.high)}] {p.verdict}"


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
            full_epochs = _budget.csv_budget(
                budget.n_rows,
                quick=False,
                batch_size=budget.batch_size if budget.batch_size_from_user else None,
            ).epochs
            if settings.epochs < full_epochs:
                changes.append(
                    f"{settings.epochs} epochs instead of {full_epochs}"
                    + (
                        f" (at most {budget.max_steps:,} mini-batch steps per "
                        f"fit instead of {_budget.CSV_MAX_STEPS:,})"
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
                f"{_budget.QUICK_LARGE_CSV_ROWS:,} rows or more (Training budget below "
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
