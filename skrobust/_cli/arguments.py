"""Argument values of the command line: the types argparse converts them
with (each problem an ``argparse.ArgumentTypeError``), the help formatter, and
the checks of ``--param`` and ``--variants`` that need the task of the data
(each problem a one-line ``parser.error``)."""

from __future__ import annotations

import argparse
import ast
import difflib
import textwrap


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def noise_levels(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("noise levels must be >= 0")
    return values


def estimator_param(text: str) -> tuple[str, object, str]:
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


def variant_keys(text: str) -> tuple[str, ...]:
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


class HelpFormatter(argparse.HelpFormatter):
    """Wraps help lines between words only, never inside a hyphenated
    variant key such as ``bn-before``."""

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


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
