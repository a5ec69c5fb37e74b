"""The optimizer, its learning-rate schedule and the training loop (epochs,
batches, validation, early stopping)."""

from __future__ import annotations

import numbers

from skrobust._knobs.knob import LR_SCHEDULES, OPTIMIZERS, Knob, non_negative, rate
from skrobust._validation import Interval, Options

KNOBS = (
    Knob(
        "optimizer",
        "adam",
        (Options(OPTIMIZERS),),
        '{"adam", "sgd", "rmsprop"}',
        "Keras's update rule and default constants.",
    ),
    Knob(
        "learning_rate",
        None,
        (None, Interval(numbers.Real, 0, None, closed="neither")),
        "float",
        """
        ``None`` uses Keras's default for the optimizer (0.001 for Adam and
        RMSprop, 0.01 for SGD).
        """,
        engine="scalar",
        read_when="always",
    ),
    Knob(
        "momentum",
        0.0,
        rate(),
        "float",
        "Momentum of SGD, in [0, 1).",
        engine="scalar",
        read_when="sgd",
    ),
    Knob(
        "alpha",
        0.0,
        non_negative(),
        "float",
        """
        L2 penalty on the kernels of every ``Dense`` layer (not the biases),
        with the meaning of scikit-learn's ``MLPClassifier`` and
        ``MLPRegressor``, so a value tuned there means the same here: each
        mini-batch's mean loss gains ``0.5 * alpha * sum(||W||**2) /
        n_rows`` (``n_rows``: the rows of the mini-batch). The regressor's
        loss is Keras's mean squared error, twice scikit-learn's
        ``squared_error / 2``, so its penalty is doubled with it: both
        objectives are scikit-learn's, times 2 for the regressor. The
        penalty's gradient joins the loss's, so Adam rescales it with the
        rest (see ``weight_decay`` for the decoupled kind); the recorded
        training loss includes it, as scikit-learn's ``loss_curve_`` does.
        0 disables it (scikit-learn's default is 1e-4).
        """,
        switches="l2_penalty",
        engine="scalar",
    ),
    Knob(
        "weight_decay",
        0.0,
        non_negative(),
        "float",
        """
        Decoupled weight decay, as Keras's optimizers apply their
        ``weight_decay`` (with ``optimizer="adam"`` this is AdamW, Loshchilov
        and Hutter 2019): before each update every kernel ``W`` becomes
        ``W - W * weight_decay * lr``, ``lr`` the step's learning rate (after
        ``lr_schedule``). The same tensors as ``alpha`` are decayed: the
        kernels of every ``Dense`` layer, not the biases or batch-norm
        parameters (Keras decays every trainable variable unless told
        otherwise). 0 disables it.
        """,
        switches="weight_decay",
        engine="scalar",
    ),
    Knob(
        "lr_schedule",
        "constant",
        (Options(LR_SCHEDULES),),
        '{"constant", "cosine", "flat_cosine"}',
        """
        How the learning rate moves over the fit's ``T = epochs *
        ceil(n_train / batch_size)`` optimizer steps (all of them, even when
        early stopping ends the fit sooner). ``"constant"``:
        ``learning_rate`` throughout. ``"cosine"``: from ``learning_rate``
        down to 0 along half a cosine, reached when the fit ends (Keras's
        ``CosineDecay`` with ``alpha=0``). ``"flat_cosine"``: constant for
        the first half of the steps, then the cosine decay to 0 over the
        second half (RealMLP's ``flat_cos``, Holzmüller et al. 2024). Any
        warm-up comes first; the decay starts after it.
        """,
        switches="lr_schedule",
        is_on=lambda value: value != "constant",
    ),
    Knob(
        "warmup_fraction",
        0.0,
        rate(),
        "float",
        """
        Fraction of the fit's ``T`` optimizer steps, in [0, 1), over which
        the learning rate rises linearly from 0 before ``lr_schedule`` takes
        over: step ``t`` (counted from 0) uses ``t / (warmup_fraction * T)``
        of it, as Keras's ``CosineDecay`` warm-up does. 0 disables warm-up.
        """,
        switches="lr_schedule",
    ),
    Knob(
        "epochs",
        200,
        (Interval(numbers.Integral, 1, None),),
        "int",
        "Passes over the training data.",
    ),
    Knob(
        "batch_size",
        "auto",
        (Interval(numbers.Integral, 1, None), Options(("auto",))),
        'int or "auto"',
        """
        Mini-batch size, capped at the number of training samples.
        ``"auto"`` is scikit-learn's ``min(200, n_samples)``; the
        tutorials' Keras loops use 32.
        """,
    ),
    Knob(
        "shuffle",
        True,
        (Options((True, False)),),
        "bool",
        "Reshuffle the training rows every epoch.",
    ),
    Knob(
        "validation_fraction",
        None,
        (None, Interval(numbers.Real, 0, 1, closed="neither")),
        "float",
        """
        Fraction of the training data held out to record ``val_loss`` and
        the validation score each epoch (stratified for classifiers).
        ``None`` holds nothing out, unless ``early_stopping`` is set, which
        uses 0.1.
        """,
    ),
    Knob(
        "early_stopping",
        False,
        (Options((True, False)),),
        "bool",
        """
        Hold out ``validation_fraction`` (0.1 by default) of the training
        data, stop when the validation loss has not improved by at least
        ``tol`` for more than ``patience`` epochs, and keep the weights of
        the epoch with the lowest validation loss.
        """,
    ),
    Knob(
        "tol",
        1e-4,
        (None, Interval(numbers.Real, 0, None, closed="left")),
        "float or None",
        """
        The convergence stop, as scikit-learn's MLP: when the training loss
        (with ``early_stopping``, the validation loss) has not improved by
        at least ``tol`` for more than ``patience`` consecutive epochs,
        training stops. If the fit runs all its ``epochs`` without
        stopping, a ``ConvergenceWarning`` says so. ``None`` switches the
        stop off (every fit runs all ``epochs``, without the warning), as
        the tutorials' fixed-epoch studies need.
        """,
        engine="scalar",
        read_when="stopping",
    ),
    Knob(
        "patience",
        10,
        (Interval(numbers.Integral, 1, None),),
        "int",
        """
        Epochs in a row without an improvement of at least ``tol`` that
        are tolerated: one more stops training (scikit-learn's
        ``n_iter_no_change``).
        """,
    ),
    Knob(
        "warm_start",
        False,
        (Options((True, False)),),
        "bool",
        """
        When set, ``fit`` on a fitted estimator with the same network
        structure continues from its weights and optimizer state instead of
        starting afresh (as scikit-learn's ``warm_start``).
        """,
    ),
)
