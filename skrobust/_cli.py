"""The ``skrobust`` command line.

``skrobust demo`` reproduces the noise-regularization tutorials' case studies
with repeated fits, a grid search, robustness curves and training histories,
or runs the same comparison, plus the other kinds of noise, on a user's CSV
file (``--param`` sets any estimator parameter there). The studies themselves live
in ``_demo/``; this module parses arguments and checks the input data.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import shlex
import sys
import textwrap
import time
from pathlib import Path


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _levels(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("noise levels must be >= 0")
    return values


def _param(text: str) -> tuple[str, object, str]:
    """``NAME=VALUE`` as (name, value, text): the value is a Python literal
    (``0.1``, ``(64, 32)``, ``None``, ``'adam'``) or, if it is none, the
    string as written (``adam``)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE (an estimator parameter), got {text!r}"
        )
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        parsed = value.strip()
    return name, parsed, text


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


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps help lines between words only, never inside a hyphenated
    variant key such as ``bn-before``."""

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skrobust",
        description="Noise regularization for Keras MLPs as scikit-learn estimators.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo",
        help="reproduce the tutorials' noise-regularization study (or run it on a CSV)",
        formatter_class=_HelpFormatter,
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
        type=_positive_int,
        metavar="N",
        help="fits of every variant, each with another seed (default 10; with "
        "--quick 5, or 3 on a CSV)",
    )
    demo.add_argument(
        "--epochs",
        type=_positive_int,
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
        type=_param,
        action="append",
        dest="params",
        metavar="NAME=VALUE",
        help="with --data: an estimator parameter for every variant and the grid "
        "search, e.g. --param learning_rate=0.003 --param 'hidden_layer_sizes=(64, "
        "64)'; repeatable. VALUE is a Python literal, or else a string. A "
        "variant's own noise settings take precedence",
    )
    demo.add_argument(
        "--variants", type=_variant_keys, metavar="KEYS", help=_variants_help()
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
        help="keep compiled training programs on disk (default folder "
        "~/.cache/skrobust) so that the next run skips compiling them "
        "(skrobust.enable_compilation_cache)",
    )
    # Advanced knobs, hidden from --help: they let tests shrink a run further.
    for flag, kind in (
        ("--hidden-units", _positive_int),
        ("--bn-epochs", _positive_int),
        ("--cv", _positive_int),
        ("--grid-levels", _levels),
        ("--robustness-levels", _levels),
        ("--robustness-repeats", _positive_int),
    ):
        demo.add_argument(flag, type=kind, help=argparse.SUPPRESS)
    return parser


def _variant_keys(text: str) -> tuple[str, ...]:
    from skrobust._demo import REQUIRED_KEYS, VARIANT_KEYS

    keys = tuple(k.strip() for k in text.split(","))
    unknown = [k for k in keys if k not in VARIANT_KEYS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown variants {unknown}; choose from {', '.join(VARIANT_KEYS)}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in keys]
    if missing:
        raise argparse.ArgumentTypeError(f"the variants must include {missing}")
    return keys


def _infer_task(y) -> str:
    """Classification for a text, boolean or categorical target, and for
    whole numbers with at most 20 distinct values (class codes such as 0/1);
    regression for other numbers."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return "classification"
    values = y.dropna().to_numpy(dtype=float)
    if (values == values.round()).all() and y.nunique() <= 20:
        return "classification"
    return "regression"


def _first_line(exc) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def load_csv(parser, path: Path, target: str | None, task: str | None):
    """Features (a DataFrame), target, task and preprocessing of a CSV file:
    ``(X, y, task, preprocessor, summary, section)``, where ``preprocessor``
    is :func:`skrobust.make_tabular_preprocessor`'s choice for ``X``, and
    ``summary`` and ``section`` say what it is for the terminal and the
    report. Rows without a target are dropped. Every problem becomes a
    one-line error from ``parser.error`` (exit status 2, no traceback)."""
    import pandas as pd

    from skrobust._preprocessing import describe, make_tabular_preprocessor

    if target is None:
        parser.error("--data needs --target COLUMN (the column to predict)")
    if not path.is_file():
        parser.error(f"--data: no such file: {path.name!r}")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        parser.error(f"--data: {path.name!r} is empty (no header, no rows)")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        parser.error(f"--data: cannot read {path.name!r} as CSV: {_first_line(exc)}")
    if target not in frame.columns:
        parser.error(
            f"--target: column {target!r} is not in {path.name!r}; its columns "
            f"are {', '.join(map(repr, frame.columns))}"
        )
    if len(frame) == 0:
        parser.error(f"--data: {path.name!r} has a header but no rows")
    unlabeled = frame[target].isna()
    if unlabeled.all():
        parser.error(f"--target {target!r} has no values in {path.name!r}")
    frame = frame[~unlabeled]
    y = frame[target]
    X = frame.drop(columns=[target])
    if X.shape[1] == 0:
        parser.error(f"--data: {path.name!r} has no feature columns besides {target!r}")
    if y.nunique() < 2:
        parser.error(
            f"--target {target!r} has a single value ({y.iloc[0]!r}) in every "
            "row; there is nothing to predict"
        )
    if len(frame) < 20:
        parser.error(
            f"--data: {path.name!r} has {len(frame)} rows"
            f"{' with a target' if unlabeled.any() else ''}; the demo needs >= 20"
        )
    inferred = _infer_task(y)
    task = task or inferred
    if task == "regression" and not _is_number(y):
        parser.error(f"--task regression needs a numeric target; {target!r} is not")
    if task == "classification":
        counts = y.value_counts()
        if counts.min() < 2:
            parser.error(
                f"--target {target!r}: some classes have a single row; use "
                "--task regression if the target is a quantity"
            )
    try:
        preprocessor = make_tabular_preprocessor(X)
        summary, section = describe(X, preprocessor)
    except ValueError as exc:
        parser.error(f"--data: {_first_line(exc)}")
    n_dropped = int(unlabeled.sum())
    if n_dropped:
        rows = "1 row" if n_dropped == 1 else f"{n_dropped} rows"
        section += f"\n{rows} without a value of `{target}` dropped.\n"
        summary += f"; {rows} without a target dropped"
    section += _reproduce_text(path.name, target, task, n_dropped)
    if task == "regression" or _is_number(y):
        y = y.to_numpy(dtype=float if task == "regression" else None)
    elif pd.api.types.is_bool_dtype(y):
        y = y.to_numpy(dtype=bool)
    else:
        # Text, categories and mixed objects (booleans with gaps read from a
        # CSV) as text labels: an object array of Python objects is not a
        # label type scikit-learn recognizes.
        y = y.astype(str).to_numpy()
    return X, y, task, preprocessor, summary, section


def _reproduce_text(name: str, target: str, task: str, n_dropped: int) -> str:
    """The report's recipe for the same model in a script."""
    model = "NoisyMLPClassifier" if task == "classification" else "NoisyMLPRegressor"
    drop = f".dropna(subset=[{target!r}])" if n_dropped else ""
    return (
        "\nThe same model in a script:\n\n```python\n"
        "import pandas as pd\n"
        "from sklearn.pipeline import make_pipeline\n"
        f"from skrobust import {model}, make_tabular_preprocessor\n\n"
        f"frame = pd.read_csv({name!r}){drop}\n"
        f"X, y = frame.drop(columns=[{target!r}]), frame[{target!r}]\n"
        f"model = make_pipeline(make_tabular_preprocessor(X), {model}())\n"
        "```\n"
    )


def _is_number(y) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)


def check_variants(parser, keys, task: str | None) -> None:
    """``--variants`` keys that this mode does not run are an error."""
    from skrobust._demo import unavailable_keys

    if keys is None:
        return
    bad = unavailable_keys(keys, task)
    if bad:
        where = (
            "the circles demo (only with --data)" if task is None else f"a {task} CSV"
        )
        parser.error(f"--variants: {', '.join(bad)} cannot run on {where}; see --help")


def check_params(parser, pairs, task: str) -> dict:
    """The ``--param`` settings as a dict, checked like the estimator's own
    constructor parameters; every problem is a one-line ``parser.error``."""
    from skrobust import NoisyMLPClassifier, NoisyMLPRegressor
    from skrobust._validation import InvalidParameterError, validate_params

    Model = NoisyMLPClassifier if task == "classification" else NoisyMLPRegressor
    names = sorted(Model().get_params())
    params = {}
    for name, value, text in pairs:
        if name == "random_state":
            parser.error(
                "--param random_state: use --random-state N (repeat r is seeded N + r)"
            )
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            parser.error(
                f"--param {text}: {name!r} is not a parameter of "
                f"{Model.__name__}, the estimator for {task}{hint}"
            )
        params[name] = value
    try:
        validate_params(Model(**params))
    except InvalidParameterError as exc:
        # The message names the parameter; show it as the user wrote it.
        texts = [text for name, _, text in pairs if repr(name) in str(exc)]
        parser.error(f"--param {texts[-1] if texts else ''}: {exc}")
    return params


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


# Environment variables that keep the frameworks' start-up and compiler
# logging (TensorFlow's C++ and absl lines) out of the command's terminal.
# Set only in the command line's own process, before TensorFlow is imported,
# and never over a user's own setting: importing skrobust as a library
# leaves logging alone.
QUIET_FRAMEWORKS = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def _quiet_frameworks() -> None:
    import os

    for name, value in QUIET_FRAMEWORKS.items():
        os.environ.setdefault(name, value)


def _compilation_cache(args) -> None:
    """``--compilation-cache [DIR]``: the backend's on-disk program cache."""
    if args.compilation_cache is not None:
        import skrobust

        skrobust.enable_compilation_cache(args.compilation_cache or None)


def demo(parser, args) -> int:
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


COMMANDS = {"demo": demo}


def main(argv: list[str] | None = None) -> int:
    """Run the ``skrobust`` command line; returns the exit status."""
    _quiet_frameworks()
    parser = build_parser()
    args = parser.parse_args(argv)
    # argparse accepts only the commands named here (the subparsers are
    # required), so every parsed command has its function.
    return COMMANDS[args.command](parser, args)


if __name__ == "__main__":
    sys.exit(main())
