"""Every parameter of the estimators, declared once.

Each :class:`Knob` says what scikit-learn needs (name, default, constraint,
docstring text, which estimators have it) and what training does with it:
the :class:`~skrobust._network.NetworkSpec` flag a value above 0 (or one its
``is_on`` accepts) switches on (a structural change: the compiled program
gains the operation), and whether
the engine receives the value as data (``engine="scalar"``; one compiled
program then serves every value) and when a compiled loop reads it.

Read from here: the estimators' ``_parameter_constraints`` and the
parameter sections of their docstrings (``_mlp.py``), the spec a fit builds
and the engine's hyperparameters (``_plan.py``), ``engine.hyper_arrays`` and
``engine._api.used_hyper``, ``_network.TRAINING_SWITCHES`` (so
``inference_spec`` and the batched search's grouping) and the flags an older
saved file lacks (``_persistence/checks.py``). The ``__init__`` signatures stay
explicit keyword arguments, as scikit-learn requires; a test checks that they
list these knobs with these defaults.

A new training-noise knob is one :class:`Knob` here (with ``switches`` and
``engine="scalar"``), its keyword in the estimators' signatures, the spec
flag in ``NetworkSpec`` and its math in ``engine/_core.py``.
"""

from __future__ import annotations

import numbers
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from skrobust._validation import Check, Interval, Options

NOISE_POSITIONS = ("input", "pre_activation", "post_activation")
NOISE_TYPES = ("additive", "multiplicative")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
# Keras's default learning rate of each optimizer (``learning_rate=None``).
DEFAULT_LEARNING_RATE = {"adam": 1e-3, "sgd": 1e-2, "rmsprop": 1e-3}
LR_SCHEDULES = ("constant", "cosine", "flat_cosine")
# ``decay_start`` of a schedule that never decays: no step reaches it.
NO_DECAY = float(np.finfo(np.float32).max)

CLASSIFIER = "classifier"
REGRESSOR = "regressor"
BOTH = (CLASSIFIER, REGRESSOR)


@dataclass(frozen=True)
class Knob:
    """One constructor parameter and what training does with it."""

    name: str
    default: object
    constraints: tuple  # as in _parameter_constraints: None allows None
    doc_type: str  # the type part of the docstring's "name : type, default=..."
    doc: str
    owners: tuple = BOTH
    # The NetworkSpec flag that a value above 0 (or one ``is_on`` accepts)
    # switches on. Knobs that share a flag switch it on together.
    switches: str | None = None
    # Shape of the value the engine receives under this name: "scalar" (one
    # float32), or None when the engine does not receive it as data.
    engine: str | None = None
    # When a compiled loop reads the value: a NetworkSpec flag or a key of
    # READ_WHEN. Defaults to ``switches``.
    read_when: str | None = None
    # Whether a value switches ``switches`` on; None: a value above 0.
    is_on: Callable | None = None

    def __post_init__(self):
        if self.engine is not None and self.read_when is None:
            object.__setattr__(self, "read_when", self.switches)


@dataclass(frozen=True)
class EngineValue:
    """One entry of the engine's hyperparameters (``engine.hyper_arrays``)."""

    name: str
    shape: str  # "scalar", "features" (one per input feature), "targets"
    default: object
    read_when: str


# -- constraint predicates -----------------------------------------------------


def _is_layer_sizes(value) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) > 0
        and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
            for v in value
        )
    )


def _is_noise_position(value) -> bool:
    if isinstance(value, str):
        return value in NOISE_POSITIONS
    return (
        isinstance(value, tuple | list)
        and len(value) > 0
        and all(isinstance(v, str) and v in NOISE_POSITIONS for v in value)
        and len(set(value)) == len(value)
        # One noise layer per hidden layer at most: pre and post would double
        # the same site's noise.
        and not {"pre_activation", "post_activation"} <= set(value)
    )


def _is_activation(value) -> bool:
    import keras

    return isinstance(value, str) and callable(keras.activations.get(value))


def _is_initializer(value) -> bool:
    from skrobust._network import keras_initializer

    return isinstance(value, str) and keras_initializer(value) is not None


def _is_random_state(value) -> bool:
    return isinstance(value, np.random.RandomState | np.random.Generator)


def _non_negative():
    return (Interval(numbers.Real, 0, None, closed="left"),)


def _rate():
    return (Interval(numbers.Real, 0, 1, closed="left"),)


# -- the table -------------------------------------------------------------------
# In the order of the estimators' signatures.

KNOBS = (
    Knob(
        "hidden_layer_sizes",
        (100,),
        (Check(_is_layer_sizes, "a non-empty tuple of positive ints"),),
        "tuple of int",
        "Units of each hidden ``Dense`` layer.",
    ),
    Knob(
        "activation",
        "relu",
        (Check(_is_activation, "a Keras activation name"),),
        "str",
        "Hidden-layer activation, any name ``keras.activations.get`` knows.",
    ),
    Knob(
        "kernel_initializer",
        "glorot_uniform",
        (Check(_is_initializer, "a Keras initializer name"),),
        "str",
        'Initializer of every ``Dense`` kernel, e.g. ``"he_uniform"``.',
    ),
    Knob(
        "noise_std",
        0.0,
        _non_negative(),
        "float",
        """
        Standard deviation of the Gaussian noise drawn afresh for every
        mini-batch during training at ``noise_position``. 0 disables noise.
        Values above 1 are allowed (Keras's own ``GaussianNoise`` refuses
        them). Noise acts only in training: predictions are deterministic.
        """,
        engine="scalar",
        read_when="noise_layers",
    ),
    Knob(
        "noise_position",
        "pre_activation",
        (
            Check(
                _is_noise_position,
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
        # ``target_noise_scale`` (DERIVED below).
    ),
    Knob(
        "input_dropout",
        0.0,
        _rate(),
        "float",
        "Dropout rate on the inputs, in [0, 1).",
        switches="input_dropout",
        engine="scalar",
    ),
    Knob(
        "dropout",
        0.0,
        _rate(),
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
        _non_negative(),
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
        _non_negative(),
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
        _non_negative(),
        "float",
        "Decay exponent of the gradient noise variance (the paper's value).",
        engine="scalar",
        read_when="gradient_noise",
    ),
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
        _rate(),
        "float",
        "Momentum of SGD, in [0, 1).",
        engine="scalar",
        read_when="sgd",
    ),
    Knob(
        "alpha",
        0.0,
        _non_negative(),
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
        _non_negative(),
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
        _rate(),
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
        32,
        (Interval(numbers.Integral, 1, None),),
        "int",
        "Mini-batch size (Keras's default); capped at the number of samples.",
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
        Stop when the validation loss has not improved for ``patience``
        epochs, and keep the weights of the best epoch.
        """,
    ),
    Knob(
        "patience",
        10,
        (Interval(numbers.Integral, 1, None),),
        "int",
        "Epochs without improvement before early stopping.",
    ),
    Knob(
        "label_smoothing",
        0.0,
        _rate(),
        "float",
        """
        Keras's label smoothing, in [0, 1): targets become
        ``onehot * (1 - label_smoothing) + label_smoothing / n_classes``
        (``n_classes`` is 2 for binary problems) in the training loss.
        """,
        owners=(CLASSIFIER,),
        switches="label_smoothing",
        engine="scalar",
    ),
    Knob(
        "label_flip_rate",
        0.0,
        (Interval(numbers.Real, 0, 1, closed="both"),),
        "float",
        """
        Label noise, in [0, 1]: in every mini-batch each training label is
        replaced, with this probability and afresh each time, by another
        class drawn uniformly from the rest (binary: the other class). The
        data are never changed; the recorded training accuracy compares with
        the true labels.
        """,
        owners=(CLASSIFIER,),
        switches="label_flip",
        engine="scalar",
    ),
    Knob(
        "class_weight",
        None,
        (Options((None, "balanced")), Check(lambda v: isinstance(v, dict), "a dict")),
        'dict, "balanced" or None',
        "Weights of the classes in the loss, multiplied into ``sample_weight``.",
        owners=(CLASSIFIER,),
    ),
    Knob(
        "target_noise_std",
        0.0,
        _non_negative(),
        "float",
        """
        Target noise: every mini-batch, the regression targets are fitted
        with Gaussian noise of this std added (in the target's units, or
        relative to each target column's training std with
        ``noise_scale="feature"``). The data are never changed.
        """,
        owners=(REGRESSOR,),
        switches="target_noise",
        engine="scalar",
    ),
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
            Check(_is_random_state, "a numpy RandomState or Generator"),
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

KNOB = {k.name: k for k in KNOBS}

# Engine values computed from a knob and the training data rather than taken
# as given: the per-column scales of ``noise_scale="feature"``, and the
# learning-rate schedule in optimizer steps (``_plan.schedule_steps``). Their
# defaults leave the learning rate constant.
DERIVED = (
    EngineValue("input_noise_scale", "features", 1.0, "additive_input_noise"),
    EngineValue("target_noise_scale", "targets", 1.0, "target_noise"),
    EngineValue("warmup_steps", "scalar", 0.0, "lr_schedule"),
    EngineValue("decay_start", "scalar", NO_DECAY, "lr_schedule"),
    EngineValue("decay_steps", "scalar", 1.0, "lr_schedule"),
)

#: Every value the engine receives as data, in the order of ``hyper_arrays``.
ENGINE_VALUES = (
    tuple(
        EngineValue(k.name, k.engine, k.default, k.read_when)
        for k in KNOBS
        if k.engine is not None
    )
    + DERIVED
)

# When a compiled loop reads an engine value that no spec flag switches on.
READ_WHEN = {
    "always": lambda spec, cfg: True,
    "sgd": lambda spec, cfg: cfg.optimizer == "sgd",
    "noise_layers": lambda spec, cfg: bool(spec.noise_sites),
    "additive_input_noise": lambda spec, cfg: (
        "input" in spec.noise_sites and spec.noise_type == "additive"
    ),
}

#: The spec's flags that switch on a random training-time operation (besides
#: the noise layers of ``noise_sites``), each with the engine values the
#: operation reads.
TRAINING_SWITCHES = {
    k.switches: tuple(v.name for v in ENGINE_VALUES if v.read_when == k.switches)
    for k in KNOBS
    if k.switches is not None
}


def knobs_of(owner: str) -> tuple[Knob, ...]:
    """The knobs of one estimator (``"classifier"`` or ``"regressor"``), in
    its signature's order."""
    return tuple(k for k in KNOBS if owner in k.owners)


def parameter_constraints(owner: str) -> dict:
    """``_parameter_constraints`` of one estimator."""
    return {k.name: list(k.constraints) for k in knobs_of(owner)}


def read_by(spec, cfg) -> set[str]:
    """Names of the engine values that the program for ``spec`` and ``cfg``
    reads."""
    names = set()
    for v in ENGINE_VALUES:
        condition = READ_WHEN.get(v.read_when)
        if condition(spec, cfg) if condition else getattr(spec, v.read_when):
            names.add(v.name)
    return names


def _doc_default(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def parameters_doc(owner: str) -> str:
    """The numpydoc ``Parameters`` section of one estimator."""
    lines = ["", "    Parameters", "    ----------"]
    for k in knobs_of(owner):
        lines.append(f"    {k.name} : {k.doc_type}, default={_doc_default(k.default)}")
        lines.append(textwrap.indent(textwrap.dedent(k.doc).strip("\n"), " " * 8))
    return "\n".join(lines) + "\n"
