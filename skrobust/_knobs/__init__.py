"""Every parameter of the estimators, declared once.

Each :class:`Knob` says what scikit-learn needs (name, default, constraint,
docstring text, which estimators have it) and what training does with it:
the :class:`~skrobust._spec.NetworkSpec` flag a value above 0 (or one its
``is_on`` accepts) switches on (a structural change: the compiled program
gains the operation), and whether
the engine receives the value as data (``engine="scalar"``; one compiled
program then serves every value) and when a compiled loop reads it.

``knob.py`` says what a knob is (and holds the constraint predicates). The
table is split by group, and joined here in the order of the estimators'
signatures: ``structure.py`` (the network's structure),
``regularization.py`` (noise, dropout, batch normalization, max-norm, weight
and gradient noise), ``training.py`` (optimizer, learning-rate schedule and
training loop), ``targets.py`` (label and target noise, class weights) and
``ensembles.py`` (seed ensembles, random state, verbosity). This module reads
the table.

Read from here: the estimators' ``_parameter_constraints`` and the
parameter sections of their docstrings (``_classifier.py``,
``_regressor.py``), the spec a fit builds and the engine's hyperparameters
(``_plan.py``), ``engine.hyper_arrays`` and ``engine._api.used_hyper``,
``TRAINING_SWITCHES`` (the flag fields of ``_spec.NetworkSpec``, so
``inference_spec`` and the batched search's grouping) and the flags an
older saved file may lack (``_persistence/checks.py``). The ``__init__``
signatures stay explicit keyword arguments, as scikit-learn requires; a
test checks that they list these knobs with these defaults.

A new knob is one :class:`Knob` in its group's module (a training-noise
knob goes in ``regularization.py``, with ``switches`` and
``engine="scalar"``), its keyword at the same place in the signatures in
``_classifier.py`` and ``_regressor.py``, and its math in
``engine/_core.py`` (in ``engine/_optim.py`` when it changes the optimizer
step) behind ``if spec.<flag>:``. The spec flag itself comes from
``switches`` (``NetworkSpec`` has one field per ``TRAINING_SWITCHES``
entry), the engine receives the value through ``ENGINE_VALUES``, and
persistence, the batched search's grouping and ``inference_spec`` read the
same table. A knob that adds a Keras layer also adds it in ``_network.py``
(see docs/architecture.md, "Adding a knob").
"""

from __future__ import annotations

import textwrap

from skrobust._knobs import ensembles, regularization, structure, targets, training
from skrobust._knobs.knob import (
    ACTIVATIONS,
    BOTH,
    CLASSIFIER,
    DEFAULT_LEARNING_RATE,
    LR_SCHEDULES,
    NO_DECAY,
    NOISE_POSITIONS,
    NOISE_TYPES,
    OPTIMIZERS,
    REGRESSOR,
    SKLEARN_ACTIVATIONS,
    EngineValue,
    Knob,
)

# -- the table -------------------------------------------------------------------
# In the order of the estimators' signatures.

KNOBS = (
    structure.KNOBS
    + regularization.KNOBS
    + training.KNOBS
    + targets.KNOBS
    + ensembles.KNOBS
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
    "stopping": lambda spec, cfg: cfg.convergence or cfg.early_stopping,
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


def parameters_doc(owner: str, exclude=()) -> str:
    """The numpydoc ``Parameters`` section of one estimator (without the
    knobs named in ``exclude``)."""
    lines = ["", "    Parameters", "    ----------"]
    for k in knobs_of(owner):
        if k.name in exclude:
            continue
        lines.append(f"    {k.name} : {k.doc_type}, default={_doc_default(k.default)}")
        lines.append(textwrap.indent(textwrap.dedent(k.doc).strip("\n"), " " * 8))
    return "\n".join(lines) + "\n"


__all__ = [
    "ACTIVATIONS",
    "BOTH",
    "CLASSIFIER",
    "DEFAULT_LEARNING_RATE",
    "DERIVED",
    "ENGINE_VALUES",
    "KNOB",
    "KNOBS",
    "LR_SCHEDULES",
    "NOISE_POSITIONS",
    "NOISE_TYPES",
    "NO_DECAY",
    "OPTIMIZERS",
    "READ_WHEN",
    "REGRESSOR",
    "SKLEARN_ACTIVATIONS",
    "TRAINING_SWITCHES",
    "EngineValue",
    "Knob",
    "knobs_of",
    "parameter_constraints",
    "parameters_doc",
    "read_by",
]
