"""Parameter validation in scikit-learn's style, on public APIs only.

scikit-learn's own ``_parameter_constraints`` machinery lives in a private
module, so skrobust keeps a small equivalent: each estimator declares a
``_parameter_constraints`` dict of checks, and :func:`validate_params` raises
:class:`InvalidParameterError` (a ``ValueError`` and a ``TypeError``, like
scikit-learn's) with a message that names the parameter.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has an invalid type or value."""


@dataclass(frozen=True)
class Interval:
    """A real (or integral) number in [left, right] with open/closed ends."""

    kind: type
    left: float | None
    right: float | None
    closed: str = "both"  # "both", "left", "right", "neither"

    def __call__(self, value) -> bool:
        if self.kind is numbers.Integral:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                return False
        elif isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        # Infinity is outside every range (the message shows open ends).
        if not np.isfinite(value):
            return False
        lo_ok = (
            self.left is None
            or value > self.left
            or (value == self.left and self.closed in ("both", "left"))
        )
        hi_ok = (
            self.right is None
            or value < self.right
            or (value == self.right and self.closed in ("both", "right"))
        )
        return bool(lo_ok and hi_ok)

    def __str__(self) -> str:
        name = "an int" if self.kind is numbers.Integral else "a float"
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        lo = "-inf" if self.left is None else self.left
        hi = "inf" if self.right is None else self.right
        return f"{name} in the range {lb}{lo}, {hi}{rb}"


@dataclass(frozen=True)
class Options:
    values: tuple

    def __call__(self, value) -> bool:
        return isinstance(value, str | type(None) | bool) and value in self.values

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Check:
    """A named predicate, for constraints no interval or option list says."""

    predicate: object
    description: str

    def __call__(self, value) -> bool:
        try:
            return bool(self.predicate(value))
        except Exception:
            return False

    def __str__(self) -> str:
        return self.description


def validate_params(estimator) -> None:
    """Raise if any constructor parameter breaks its constraints (``None`` in
    a list of constraints means that ``None`` is allowed, as in
    scikit-learn)."""
    params = estimator.get_params(deep=False)
    for name, constraints in estimator._parameter_constraints.items():
        value = params[name]
        if any(value is None if c is None else c(value) for c in constraints):
            continue
        allowed = " or ".join(str(c) for c in constraints)
        raise InvalidParameterError(
            f"The {name!r} parameter of {type(estimator).__name__} must be "
            f"{allowed}. Got {value!r} instead."
        )
