"""A user's CSV file for ``skrobust demo --data CSV --target COLUMN``: the
table read and checked, its task inferred (or forced by ``--task``), its
preprocessing chosen, and the report's recipe for the same model in a
script. Every problem in the file is a one-line ``parser.error`` (exit status
2, no traceback)."""

from __future__ import annotations

from pathlib import Path


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
