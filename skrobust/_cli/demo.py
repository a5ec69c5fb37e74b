"""``skrobust demo``: its arguments and help (:func:`add_parser`), and the run
(:func:`run`): check the arguments, choose the settings, run the circles or
the CSV study from ``_demo`` and write the report."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from skrobust._cli.arguments import (
    HelpFormatter,
    check_params,
    check_variants,
    estimator_param,
    noise_levels,
    positive_int,
    variant_keys,
)
from skrobust._cli.csv_input import load_csv

# -- the arguments -------------------------------------------------------------


def _budget(name: str) -> str:
    """A constant of the CSV mode's training budget (``_demo``), for help."""
    from skrobust import _demo

    return f"{getattr(_demo, name)}"


def _quick_help() -> str:
    from skrobust._demo import (
        QUICK_CSV_MAX_STEPS,
        QUICK_LARGE_CSV_KEYS,
        QUICK_LARGE_CSV_ROWS,
    )

    return (
        "a short run: on the circles data the full study's 4000 epochs, 30 "
        "training rows and 500 units with fewer repeats, variants and grid "
        "levels and no batch-norm study, under a minute on a 2-core CPU; on a "
        f"CSV 3 repeats, at most {QUICK_CSV_MAX_STEPS} mini-batch steps per fit "
        "(see --epochs) and, from "
        f"{QUICK_LARGE_CSV_ROWS} rows, only the variants "
        f"{', '.join(QUICK_LARGE_CSV_KEYS)} (--variants runs others)"
    )


def _variants_help() -> str:
    from skrobust._demo import (
        CIRCLES_KEYS,
        LABEL_NOISE_VARIANTS,
        NOISE_KIND_VARIANTS,
        QUICK_CIRCLES_KEYS,
        TARGET_NOISE_VARIANTS,
    )

    def keys(variants):
        return ", ".join(v.key for v in variants)

    # "%%": argparse formats help strings with %.
    return (
        "comma-separated variants to run instead of all (on the circles data, "
        f"--quick runs {', '.join(QUICK_CIRCLES_KEYS)}); must include baseline "
        f"and hidden. Circles demo: {', '.join(CIRCLES_KEYS)}. With --data: the "
        f"same but no-bn and bn-*, plus {keys(NOISE_KIND_VARIANTS)}, and "
        f"{keys(LABEL_NOISE_VARIANTS)} (classification) or "
        f"{keys(TARGET_NOISE_VARIANTS)} (regression)"
    ).replace("%", "%%")


def add_parser(commands, name: str) -> argparse.ArgumentParser:
    """The ``demo`` subparser, added to ``commands`` (argparse's subparsers)."""
    demo = commands.add_parser(
        name,
        help="reproduce the tutorials' noise-regularization study (or run it on a CSV)",
        formatter_class=HelpFormatter,
        description=(
            "Fit the tutorials' variants (overfit baseline, input noise, hidden "
            "noise before/after the activation, input plus hidden noise, dropout, "
            "batch norm before/after) several times each, run a cross-validated "
            "grid search over the noise level, measure robustness to noisy test "
            "inputs, and write report.md with tables and plots. On a CSV (--data) "
            "it also compares the other noise kinds: Gaussian dropout, "
            "feature-scaled input noise, weight noise, annealed gradient noise, "
            "and label smoothing and flipping (classification) or target noise "
            "(regression)."
        ),
    )
    demo.add_argument("--quick", action="store_true", help=_quick_help())
    demo.add_argument(
        "--repeats",
        type=positive_int,
        metavar="N",
        help="fits of every variant, each with another seed (default 10; with "
        "--quick 5, or 3 on a CSV)",
    )
    demo.add_argument(
        "--epochs",
        type=positive_int,
        metavar="N",
        help="training epochs (default 4000 on the circles data, with --quick "
        "too; on a CSV 300, 100 with --quick, fewer on a large table: at most "
        f"{_budget('CSV_MAX_STEPS')} mini-batch steps per fit, "
        f"{_budget('QUICK_CSV_MAX_STEPS')} with --quick, and at least "
        f"{_budget('CSV_MIN_EPOCHS')} epochs; there the batch size also grows "
        "from 32 to at most "
        f"{_budget('CSV_MAX_BATCH_SIZE')} so that an epoch has about "
        f"{_budget('CSV_STEPS_PER_EPOCH')} mini-batches or fewer, unless --param "
        "batch_size=N sets it; report.md says what was chosen). --epochs N or "
        "--param epochs=N sets the epochs",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("skrobust-demo-out"),
        metavar="DIR",
        help="folder for report.md and the plots (default: skrobust-demo-out)",
    )
    demo.add_argument("--data", type=Path, metavar="CSV", help="run on this CSV file")
    demo.add_argument("--target", metavar="COLUMN", help="target column of --data")
    demo.add_argument(
        "--task",
        choices=("classification", "regression"),
        help="force the task of --data (default: inferred from the target)",
    )
    demo.add_argument(
        "--param",
        type=estimator_param,
        action="append",
        dest="params",
        metavar="NAME=VALUE",
        help="with --data: an estimator parameter for every variant and the grid "
        "search, e.g. --param learning_rate=0.003 --param 'hidden_layer_sizes=(64, "
        "64)'; repeatable. VALUE is a Python literal, or else a string. A "
        "variant's own noise settings take precedence",
    )
    demo.add_argument(
        "--variants", type=variant_keys, metavar="KEYS", help=_variants_help()
    )
    demo.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="N",
        help="seed of the first repeat (repeat r uses N + r; default 0)",
    )
    demo.add_argument(
        "--compilation-cache",
        nargs="?",
        const="",
        metavar="DIR",
        help="the folder of compiled training programs (they are kept on "
        "disk by default, in the user's cache folder, so that the next run "
        "skips compiling them; SKROBUST_PROGRAM_CACHE=0 turns that off)",
    )
    # Advanced knobs, hidden from --help: they let tests shrink a run further.
    for flag, kind in (
        ("--hidden-units", positive_int),
        ("--bn-epochs", positive_int),
        ("--cv", positive_int),
        ("--grid-levels", noise_levels),
        ("--robustness-levels", noise_levels),
        ("--robustness-repeats", positive_int),
    ):
        demo.add_argument(flag, type=kind, help=argparse.SUPPRESS)
    return demo


# -- the run -------------------------------------------------------------------


def _command_line(args, settings) -> str:
    """The command as the report shows it: no paths, only a file's name."""
    parts = ["skrobust demo"]
    if settings.quick:
        parts.append("--quick")
    parts += [f"--repeats {settings.repeats}", f"--epochs {settings.epochs}"]
    if args.data is not None:
        parts += [f"--data {shlex.quote(args.data.name)}"]
        parts += [f"--target {shlex.quote(args.target)}"]
        if args.task is not None:
            parts.append(f"--task {args.task}")
    for _, _, text in args.params or ():
        parts.append(f"--param {shlex.quote(text)}")
    if args.variants is not None:
        parts.append(f"--variants {','.join(args.variants)}")
    parts.append(f"--random-state {settings.random_state}")
    return " ".join(parts)


def _progress_factory(total: int, description: str):
    """One phase's progress bar; it stays on the screen with the phase's time
    once done, and the final table comes after the last one."""
    from tqdm.auto import tqdm

    # disable=None: no bar when stderr is not a terminal (logs, CI).
    return tqdm(
        total=total, desc=description, unit="fit", file=sys.stderr, disable=None
    )


def _compilation_cache(args) -> None:
    """``--compilation-cache [DIR]``: the folder of the on-disk program
    cache (on by default; the flag alone keeps the default folder)."""
    if args.compilation_cache is not None:
        import skrobust

        skrobust.enable_compilation_cache(args.compilation_cache or None)


def run(parser, args) -> int:
    """Run ``skrobust demo``; returns the exit status (argument and data
    problems exit through ``parser.error``)."""
    from skrobust import _demo

    data = None
    if args.data is not None or args.target is not None:
        if args.data is None:
            parser.error("--target needs --data CSV")
        data = load_csv(parser, args.data, args.target, args.task)
    elif args.task is not None:
        parser.error("--task needs --data CSV")
    elif args.params:
        parser.error(
            "--param needs --data CSV (the circles demo keeps the tutorials' settings)"
        )
    check_variants(parser, args.variants, None if data is None else data[2])
    params = {} if data is None else check_params(parser, args.params or (), data[2])

    _compilation_cache(args)

    overrides = {
        "repeats": args.repeats,
        "epochs": args.epochs,
        "hidden_units": args.hidden_units,
        "bn_epochs": args.bn_epochs,
        "cv": args.cv,
        "grid_levels": args.grid_levels,
        "robustness_levels": args.robustness_levels,
        "robustness_repeats": args.robustness_repeats,
        "variants": args.variants,
        "random_state": args.random_state,
        "estimator_params": params,
    }
    budget = None
    if data is not None:
        # A user's table: a smaller default network than the deliberately
        # overfitting circles study, and epochs, batch size and (with
        # --quick) variants chosen for the table's size; what the user set
        # wins (--param epochs= is what the estimators get over --epochs).
        budget = _demo.csv_budget(
            len(data[1]),
            quick=args.quick,
            epochs=params["epochs"] if "epochs" in params else args.epochs,
            batch_size=params.get("batch_size"),
            variants=args.variants,
        )
        overrides["hidden_units"] = args.hidden_units or 100
        overrides["epochs"] = budget.epochs
        overrides["batch_size"] = budget.batch_size
        overrides["variants"] = budget.variants
        overrides["budget"] = budget
    settings = _demo.Settings.make(quick=args.quick, csv=data is not None, **overrides)

    import keras

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if data is None:
        studies = _demo.run_circles(settings, out, _progress_factory)
    else:
        X, y, task, preprocessor, prep_summary, prep_section = data
        print(
            f"{args.data.name}: {task} of {args.target!r} on {X.shape[1]} columns "
            f"({'forced' if args.task else 'inferred'}; --task overrides it)"
        )
        print(f"Preprocessing: {prep_summary} (see report.md)")
        print(f"Training: {budget.summary()}")
        conflicts = _demo.param_conflicts(
            settings.select(_demo.csv_variants(task)), params
        )
        for name, keys in conflicts.items():
            print(
                f"Note: --param {name} does not apply to {', '.join(keys)}: "
                "they set it themselves."
            )
        studies = _demo.run_csv(
            X,
            y,
            task,
            args.data.name,
            settings,
            out,
            _progress_factory,
            preprocessor=preprocessor,
            preprocessing_section=prep_section,
        )
    elapsed = time.perf_counter() - start
    report = _demo.write_report(
        studies,
        settings,
        _command_line(args, settings),
        out,
        footer=f"Ran in {elapsed:.0f} s on the {keras.backend.backend()} Keras backend.",
        note=_demo.quick_note(settings, csv=data is not None) if settings.quick else "",
    )
    print()
    print(_demo.terminal_summary(studies))
    if settings.quick:
        print(
            f"\nQuick run: {settings.repeats} repeats; differences marked within "
            "noise need the full study (drop --quick) or more --repeats to tell."
        )
    print(f"\nReport: {report} ({elapsed:.0f} s)")
    return 0
