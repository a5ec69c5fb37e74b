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
class NetworkSpec:
    """Structure of a noisy MLP.

    Attributes
    ----------
    n_features : int
        Width of the input.
    hidden_layer_sizes : tuple of int
        Units of each hidden layer.
    n_outputs : int
        Units of the output layer.
    task : {"binary", "multiclass", "regression"}
        Decides the output activation and the loss.
    activation : str
        Hidden activation (a name Keras knows).
    kernel_initializer : str
        Initializer of every Dense kernel (a name Keras knows).
    noise_sites : tuple of str
        Subset of ``_knobs.NOISE_POSITIONS`` where a noise layer exists.
    noise_type : {"additive", "multiplicative"}
        What the noise layers do: ``h + std * eps`` or ``h * (1 + std * eps)``
        (Gaussian dropout).
    input_dropout, dropout : bool
        Whether an input / hidden dropout layer exists.
    batchnorm : {None, "before", "after"}
        Batch normalization before or after each hidden activation.
    max_norm : float or None
        MaxNorm constraint on hidden kernels.
    weight_noise, gradient_noise : bool
        Whether hidden kernels / gradients get Gaussian noise each step.
    label_smoothing, label_flip : bool
        Whether classification targets are smoothed / randomly flipped.
    target_noise : bool
        Whether regression targets get Gaussian noise each step.
    l2_penalty, weight_decay : bool
        Whether the loss has an L2 penalty on the kernels / the optimizer
        decays the kernels before each update.
    lr_schedule : bool
        Whether the learning rate follows a schedule (warm-up, decay).
    """

    n_features: int
    hidden_layer_sizes: tuple[int, ...]
    n_outputs: int
    task: str
    activation: str = "relu"
    kernel_initializer: str = "glorot_uniform"
    noise_sites: tuple[str, ...] = ()
    input_dropout: bool = False
    dropout: bool = False
    batchnorm: str | None = None
    max_norm: float | None = None
    noise_type: str = "additive"
    weight_noise: bool = False
    gradient_noise: bool = False
    label_smoothing: bool = False
    label_flip: bool = False
    target_noise: bool = False
    l2_penalty: bool = False
    weight_decay: bool = False
    lr_schedule: bool = False

    @property
    def output_activation(self) -> str:
        return {"binary": "sigmoid", "multiclass": "softmax"}.get(self.task, "linear")

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.n_features, *self.hidden_layer_sizes, self.n_outputs)


def inference_spec(spec: NetworkSpec) -> NetworkSpec:
    """The spec with everything that acts only in training switched off: two
    specs with the same inference spec predict with the same program."""
    return dataclasses.replace(
        spec,
        noise_sites=(),
        noise_type="additive",
        **dict.fromkeys(TRAINING_SWITCHES, False),
    )
