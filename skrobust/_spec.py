"""The network that an estimator's parameters describe, without Keras.

:class:`NetworkSpec` is the single description of a skrobust MLP's structure
(layer sizes, where the noise, dropout and batch-norm layers sit). It is
hashable, so the training engine keys its compiled programs on it, and it has
two realizations that must agree:

* the ``keras.Model`` users get as ``model_`` (``_network.py``:
  inspectable, savable in Keras's native format);
* the engine's functional forward pass (``skrobust/engine/_core.py``), which
  trains the same weights inside one compiled loop.

Only *structure* lives in the spec: the layers, and which kinds of
training-time noise, weight decay and learning-rate schedule are switched on
(each adds operations to the compiled training step, so a fit without it pays
nothing). Values that do not change shapes (noise std, dropout rates,
learning rate, label-noise rates) are *hyperparameters*, handed to the engine
as data so that one compiled program serves a whole grid.

This module imports no framework: the engine, the plan and the batched
search's grouping read the spec without loading Keras.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from skrobust._knobs import TRAINING_SWITCHES


@dataclass(frozen=True)
class _Structure:
    """The layers of a noisy MLP (the part of :class:`NetworkSpec` that is
    not a knob's flag)."""

    n_features: int
    hidden_layer_sizes: tuple[int, ...]
    n_outputs: int
    task: str
    activation: str = "relu"
    kernel_initializer: str = "glorot_uniform"
    noise_sites: tuple[str, ...] = ()
    batchnorm: str | None = None
    max_norm: float | None = None
    noise_type: str = "additive"

    @property
    def output_activation(self) -> str:
        return {"binary": "sigmoid", "multiclass": "softmax"}.get(self.task, "linear")

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.n_features, *self.hidden_layer_sizes, self.n_outputs)


_DOC = """Structure of a noisy MLP.

    Attributes
    ----------
    n_features : int
        Width of the input.
    hidden_layer_sizes : tuple of int
        Units of each hidden layer.
    n_outputs : int
        Units of the output layer.
    task : {"binary", "multiclass", "regression"}
        Decides the output activation, the loss and the score
        (``engine._tasks.TASKS``).
    activation : str
        Hidden activation (a name Keras knows).
    kernel_initializer : str
        Initializer of every Dense kernel (a name Keras knows).
    noise_sites : tuple of str
        Subset of ``_knobs.NOISE_POSITIONS`` where a noise layer exists.
    batchnorm : {None, "before", "after"}
        Batch normalization before or after each hidden activation.
    max_norm : float or None
        MaxNorm constraint on hidden kernels.
    noise_type : {"additive", "multiplicative"}
        What the noise layers do: ``h + std * eps`` or ``h * (1 + std * eps)``
        (Gaussian dropout).
    <flag> : bool, default=False
        One per entry of ``_knobs.TRAINING_SWITCHES``, in the knob table's
        order: whether the operation of the knob that declares it
        (``Knob.switches``) is in the network or its training step.
    """

# The flags are the knob table's: a knob declared with ``switches=`` adds its
# flag here, and nothing else needs to name it.
NetworkSpec = dataclasses.make_dataclass(
    "NetworkSpec",
    [(flag, bool, dataclasses.field(default=False)) for flag in TRAINING_SWITCHES],
    bases=(_Structure,),
    frozen=True,
    namespace={"__doc__": _DOC},
)
# Pickles name the class by module and name.
NetworkSpec.__module__ = __name__


def inference_spec(spec: NetworkSpec) -> NetworkSpec:
    """The spec with everything that acts only in training switched off: two
    specs with the same inference spec predict with the same program."""
    return dataclasses.replace(
        spec,
        noise_sites=(),
        noise_type="additive",
        **dict.fromkeys(TRAINING_SWITCHES, False),
    )
