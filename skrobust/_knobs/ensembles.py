"""Seed ensembles, the random state and verbosity."""

from __future__ import annotations

import numbers

from skrobust._knobs.knob import Knob, is_random_state
from skrobust._validation import Check, Interval, Options

KNOBS = (
    Knob(
        "n_members",
        1,
        (Interval(numbers.Integral, 1, None),),
        "int",
        """
        Number of networks in a seed ensemble. Members differ in their
        initial weights and in their shuffling, noise and dropout draws
        (their seeds derive from ``random_state``); ``predict_proba``
        averages their probabilities and ``predict`` of the regressor their
        outputs; ``predict_members`` returns each member's. On the JAX
        backend the members train together as one vectorized run (with
        ``validation_fraction`` or ``early_stopping``, one after the other);
        on TensorFlow one after the other. 1 (the default) is one network.
        """,
    ),
    Knob(
        "bootstrap",
        False,
        (Options((True, False)),),
        "bool",
        """
        Train each member on a bootstrap resample of the training rows:
        ``n`` rows drawn with replacement, given to the loss as weights (a
        row drawn twice weighs twice, times its ``sample_weight``; a row not
        drawn weighs 0). Drawn afresh for every member, after any validation
        rows are held out.
        """,
    ),
    Knob(
        "random_state",
        None,
        (
            None,
            Interval(numbers.Integral, 0, 2**32 - 1),
            Check(is_random_state, "a numpy RandomState or Generator"),
        ),
        "int, RandomState instance or None",
        """
        Seeds the initial weights, the shuffling, the noise and dropout draws
        and the validation split. An int gives identical predictions across
        fits and processes. skrobust never reads or changes NumPy's, Python's
        or Keras's global random state.
        """,
    ),
    Knob(
        "verbose",
        0,
        (Interval(numbers.Integral, 0, None),),
        "int",
        "Show a progress bar over the epochs when > 0.",
    ),
)
