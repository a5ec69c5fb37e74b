"""The CSV mode's training budget: how the epochs, the batch size and (with
``--quick``) the variants scale with the rows of a user's table, what
:func:`csv_budget` chose and why (for the terminal and the report).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from skrobust._demo.variants import csv_variants

# -- the CSV mode's training budget --------------------------------------------
#
# A user's table may have 40 rows or 100,000. At the estimators' batch size
# (``"auto"``: min(200, rows)) and a fixed number of epochs, a fit's cost
# grows with the rows (300 epochs on 70,000 training rows are 105,000
# mini-batch steps, and a quick run makes ~45 fits). So the demo ties the training to the
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
CSV_BATCH_SIZE = 200  # the estimators' default ("auto": min(200, rows))
CSV_MAX_BATCH_SIZE = 1600
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

    - batch size: the estimators' ``"auto"`` (min(200, rows)), doubled until
      an epoch on a training split has at most about ``CSV_STEPS_PER_EPOCH``
      mini-batches, up to ``CSV_MAX_BATCH_SIZE``;
    - epochs: 100 with ``quick``, 300 without, cut so that a fit takes at
      most ``QUICK_CSV_MAX_STEPS`` (``CSV_MAX_STEPS``) mini-batch steps, but
      never below ``CSV_MIN_EPOCHS``;
    - variants: all, except a quick run on ``QUICK_LARGE_CSV_ROWS`` rows or
      more, which fits ``QUICK_LARGE_CSV_KEYS``.
    """
    n_train = max(1, csv_train_rows(n_rows))
    if batch_size is None:
        chosen_batch = min(CSV_BATCH_SIZE, n_train)
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
