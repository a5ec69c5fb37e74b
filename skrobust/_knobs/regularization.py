"""Noise, dropout, batch normalization, max-norm, and the noise of weights
and gradients: what regularizes the hidden layers."""

from __future__ import annotations

import numbers

from skrobust._knobs.knob import (
    NOISE_POSITIONS,
    NOISE_TYPES,
    Knob,
    is_noise_position,
    non_negative,
    rate,
)
from skrobust._validation import Check, Interval, Options

KNOBS = (
    Knob(
        "noise_std",
        0.0,
        non_negative(),
        "float",
        """
        Standard deviation of the Gaussian noise drawn afresh for every
        mini-batch during training at ``noise_position``. 0 disables noise.
        Values above 1 are allowed (Keras's own ``GaussianNoise`` refuses
        them). Noise acts only in training: predictions are deterministic.
        """,
        sites="noise_position",
        engine="scalar",
        read_when="noise_layers",
    ),
    Knob(
        "noise_position",
        "pre_activation",
        (
            Check(
                is_noise_position,
                f"one of {NOISE_POSITIONS} or a tuple of them (not both "
                "'pre_activation' and 'post_activation')",
            ),
        ),
        "str or tuple of str",
        """
        Where the noise is added: ``"input"`` (to the features),
        ``"pre_activation"`` (``Dense -> noise -> activation`` in every hidden
        layer) or ``"post_activation"`` (``Dense -> activation -> noise``); a
        tuple combines sites, e.g. ``("input", "pre_activation")``. The
        default is hidden noise before the activation: it regularizes every
        layer without corrupting the features, and it is the variant the
        tutorials found best on the circles data.
        """,
    ),
    Knob(
        "noise_type",
        "additive",
        (Options(NOISE_TYPES),),
        '{"additive", "multiplicative"}',
        """
        ``"additive"``: ``h + noise_std * eps`` (Keras's ``GaussianNoise``);
        ``"multiplicative"``: ``h * (1 + noise_std * eps)``, Gaussian dropout
        (Srivastava et al. 2014; Keras's ``GaussianDropout`` with
        ``rate = noise_std**2 / (1 + noise_std**2)``), whose size follows the
        size of each value. ``eps`` is standard normal.
        """,
    ),
    Knob(
        "noise_scale",
        "absolute",
        (Options(("absolute", "feature")),),
        '{"absolute", "feature"}',
        """
        Unit of the data-space noise. ``"absolute"``: ``noise_std`` (and
        ``target_noise_std`` of the regressor) in the data's own units.
        ``"feature"``: relative to the standard deviation of each input
        feature (each target column) over the training rows, so features of
        different scales get comparable noise without rescaling first (a
        constant feature gets none).
        Applies to additive input noise and target noise; hidden-layer and
        multiplicative noise have no data unit and are unaffected.
        """,
        # The engine receives it as ``input_noise_scale`` and
        # ``target_noise_scale`` (``DERIVED`` in ``__init__.py``).
    ),
    Knob(
        "input_dropout",
        0.0,
        rate(),
        "float",
        "Dropout rate on the inputs, in [0, 1).",
        switches="input_dropout",
        engine="scalar",
    ),
    Knob(
        "dropout",
        0.0,
        rate(),
        "float",
        "Dropout rate after each hidden layer, in [0, 1).",
        switches="dropout",
        engine="scalar",
    ),
    Knob(
        "batchnorm",
        None,
        (Options((None, False, "before", "after")),),
        '{None, False, "before", "after"}',
        "Batch normalization before or after each hidden activation.",
    ),
    Knob(
        "max_norm",
        None,
        (None, Interval(numbers.Real, 0, None, closed="neither")),
        "float",
        """
        ``MaxNorm`` constraint on the hidden kernels (often paired with
        dropout).
        """,
    ),
    Knob(
        "weight_noise_std",
        0.0,
        non_negative(),
        "float",
        """
        Weight noise (Graves 2011): every mini-batch, the hidden layers'
        kernels are perturbed by Gaussian noise of this std for the forward
        and backward pass; the gradient found there updates the clean
        kernels. Biases and the output layer are not perturbed.
        """,
        switches="weight_noise",
        engine="scalar",
    ),
    Knob(
        "gradient_noise_eta",
        0.0,
        non_negative(),
        "float",
        """
        Annealed gradient noise (Neelakantan et al. 2015, "Adding gradient
        noise improves learning for very deep networks"): Gaussian noise of
        variance ``gradient_noise_eta / (1 + t) ** gradient_noise_gamma`` is
        added to every gradient entry at training step ``t`` (0, 1, ...),
        before the optimizer's update. The paper used eta in {0.01, 0.3, 1}.
        0 disables it.
        """,
        switches="gradient_noise",
        engine="scalar",
    ),
    Knob(
        "gradient_noise_gamma",
        0.55,
        non_negative(),
        "float",
        "Decay exponent of the gradient noise variance (the paper's value).",
        engine="scalar",
        read_when="gradient_noise",
    ),
)
