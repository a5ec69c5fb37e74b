"""The Keras model built from a :class:`~skrobust._spec.NetworkSpec`.

:func:`build_keras_model` builds the ``keras.Model`` users get as ``model_``
(inspectable, savable in Keras's native format) with the layers the
tutorials use; :func:`init_weights` draws initial weights as Keras's
initializers draw them; :func:`set_weights` / :func:`get_weights` move the
engine's weights in and out of the model; :func:`set_hyperparameters`
writes the training-time rates into its layers. The spec itself lives in
``_spec.py`` (no Keras); ``NetworkSpec`` and ``inference_spec`` are
importable from here too, as pickles written before the split name
``skrobust._network.NetworkSpec``.
"""

from __future__ import annotations

import keras
import numpy as np

from skrobust._layers import GaussianNoise, keras_initializer
from skrobust._spec import NetworkSpec, inference_spec

__all__ = [
    "NetworkSpec",
    "build_ensemble_model",
    "build_keras_model",
    "ensemble_members",
    "get_weights",
    "inference_spec",
    "init_weights",
    "keras_initializer",
    "set_hyperparameters",
    "set_weights",
]


def _initial_kernel(name: str, shape: tuple[int, int], rng) -> np.ndarray:
    """A kernel drawn as Keras's initializer ``name`` draws it.

    The variance-scaling family (glorot, he, lecun: uniform, normal and
    truncated normal) is drawn with NumPy from the initializer's own config,
    which avoids compiling a backend op per shape on every fit; any other
    initializer is called through Keras with a local seed.
    """
    init = keras_initializer(name, int(rng.integers(2**31 - 1)))
    if isinstance(init, keras.initializers.VarianceScaling):
        # The subclasses' get_config hides the scaling; the base class's shows it.
        cfg = keras.initializers.VarianceScaling.get_config(init)
        fan_in, fan_out = shape
        fan = {"fan_in": fan_in, "fan_out": fan_out}.get(
            cfg["mode"], (fan_in + fan_out) / 2.0
        )
        scale = cfg["scale"] / max(1.0, fan)
        if cfg["distribution"] == "uniform":
            limit = np.sqrt(3.0 * scale)
            out = rng.uniform(-limit, limit, size=shape)
        elif cfg["distribution"] == "truncated_normal":
            # Keras's constant: std of a unit normal truncated to [-2, 2].
            std = np.sqrt(scale) / 0.87962566103423978
            out = rng.normal(0.0, 1.0, size=shape)
            bad = np.abs(out) > 2
            while bad.any():
                out[bad] = rng.normal(0.0, 1.0, size=int(bad.sum()))
                bad = np.abs(out) > 2
            out *= std
        else:
            out = rng.normal(0.0, np.sqrt(scale), size=shape)
        return out.astype("float32")
    return np.asarray(init(shape, dtype="float32"))


def init_weights(spec: NetworkSpec, seed: int) -> dict:
    """Initial trainable weights and batch-norm statistics, as NumPy arrays.

    Layout: ``{"kernels": [...], "biases": [...], "gammas": [...],
    "betas": [...]}`` for the trainable part and ``{"means": [...],
    "vars": [...]}`` for the batch-norm moving statistics.
    """
    rng = np.random.default_rng(seed)
    sizes = spec.layer_sizes
    kernels, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        kernels.append(_initial_kernel(spec.kernel_initializer, (fan_in, fan_out), rng))
        biases.append(np.zeros(fan_out, dtype="float32"))
    params = {"kernels": kernels, "biases": biases}
    bn_state = {}
    if spec.batchnorm:
        hidden = spec.hidden_layer_sizes
        params["gammas"] = [np.ones(u, dtype="float32") for u in hidden]
        params["betas"] = [np.zeros(u, dtype="float32") for u in hidden]
        bn_state = {
            "means": [np.zeros(u, dtype="float32") for u in hidden],
            "vars": [np.ones(u, dtype="float32") for u in hidden],
        }
    return {"params": params, "bn_state": bn_state}


def build_keras_model(spec: NetworkSpec, name: str = "noisy_mlp") -> keras.Model:
    """The ``keras.Model`` a spec describes, with the layers the tutorials use.

    Layer order per hidden layer: ``Dense -> [BatchNormalization if "before"]
    -> [GaussianNoise if "pre_activation"] -> Activation -> [BatchNormalization
    if "after"] -> [GaussianNoise if "post_activation"] -> [Dropout]``.
    Multiplicative noise uses ``keras.layers.GaussianDropout`` in place of
    ``GaussianNoise``. Noise and dropout layers are identities at inference.
    Rates are set later by :func:`set_hyperparameters`. Weight, gradient,
    label and target noise are part of training, not of the network, and
    have no layer.

    Every random layer and initializer gets an explicit seed: Keras draws an
    unseeded one from Python's global ``random`` module, and skrobust must not
    change global random state.
    """
    seeds = iter(range(1, 1000))

    def kernel_init():
        return keras_initializer(spec.kernel_initializer, next(seeds))

    constraint = keras.constraints.MaxNorm(spec.max_norm) if spec.max_norm else None

    def noise_layer(name):
        if spec.noise_type == "multiplicative":
            # Built with a placeholder rate: a GaussianDropout built with
            # rate 0 has no seed generator and fails if the rate is raised.
            return keras.layers.GaussianDropout(0.5, seed=next(seeds), name=name)
        return GaussianNoise(0.0, seed=next(seeds), name=name)

    inputs = keras.Input(shape=(spec.n_features,), name="input")
    x = inputs
    if "input" in spec.noise_sites:
        x = noise_layer("input_noise")(x)
    if spec.input_dropout:
        x = keras.layers.Dropout(0.0, seed=next(seeds), name="input_dropout")(x)
    for i, units in enumerate(spec.hidden_layer_sizes):
        x = keras.layers.Dense(
            units,
            kernel_initializer=kernel_init(),
            kernel_constraint=constraint,
            name=f"dense_{i}",
        )(x)
        if spec.batchnorm == "before":
            x = keras.layers.BatchNormalization(name=f"batchnorm_{i}")(x)
        if "pre_activation" in spec.noise_sites:
            x = noise_layer(f"noise_{i}")(x)
        x = keras.layers.Activation(spec.activation, name=f"activation_{i}")(x)
        if spec.batchnorm == "after":
            x = keras.layers.BatchNormalization(name=f"batchnorm_{i}")(x)
        if "post_activation" in spec.noise_sites:
            x = noise_layer(f"noise_{i}")(x)
        if spec.dropout:
            x = keras.layers.Dropout(0.0, seed=next(seeds), name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(
        spec.n_outputs,
        activation=spec.output_activation,
        kernel_initializer=kernel_init(),
        name="output",
    )(x)
    return keras.Model(inputs, outputs, name=name)


def set_hyperparameters(model: keras.Model, params: dict) -> None:
    """Write the training-time rates of the estimator parameters ``params``
    into the Keras layers (for inspection, saving and any later
    ``Model.fit`` by the user). A ``GaussianDropout`` layer gets the rate
    whose multiplicative std is ``noise_std`` (``std = sqrt(rate / (1 -
    rate))``)."""
    noise_std, dropout = params["noise_std"], params["dropout"]
    input_dropout = params["input_dropout"]
    for layer in model.layers:
        if isinstance(layer, GaussianNoise):
            layer.stddev = float(noise_std)
        elif isinstance(layer, keras.layers.GaussianDropout):
            var = float(noise_std) ** 2
            # Below 1 even where var / (1 + var) rounds to 1 (std >= 1e8):
            # Keras divides by 1 - rate.
            layer.rate = min(var / (1.0 + var), float(np.nextafter(1.0, 0.0)))
        elif isinstance(layer, keras.layers.Dropout):
            rate = input_dropout if layer.name == "input_dropout" else dropout
            layer.rate = float(rate)


def set_weights(model: keras.Model, spec: NetworkSpec, params, bn_state) -> None:
    """Copy engine weights (NumPy arrays) into the Keras model's layers."""
    n_hidden = len(spec.hidden_layer_sizes)
    for i in range(n_hidden):
        model.get_layer(f"dense_{i}").set_weights(
            [params["kernels"][i], params["biases"][i]]
        )
        if spec.batchnorm:
            model.get_layer(f"batchnorm_{i}").set_weights(
                [
                    params["gammas"][i],
                    params["betas"][i],
                    bn_state["means"][i],
                    bn_state["vars"][i],
                ]
            )
    model.get_layer("output").set_weights([params["kernels"][-1], params["biases"][-1]])


def get_weights(model: keras.Model, spec: NetworkSpec) -> dict:
    """Inverse of :func:`set_weights`: engine layout from a Keras model."""
    n_hidden = len(spec.hidden_layer_sizes)
    params = {"kernels": [], "biases": []}
    bn_state = {}
    if spec.batchnorm:
        params.update(gammas=[], betas=[])
        bn_state = {"means": [], "vars": []}
    for i in range(n_hidden):
        k, b = model.get_layer(f"dense_{i}").get_weights()
        params["kernels"].append(k)
        params["biases"].append(b)
        if spec.batchnorm:
            g, be, m, v = model.get_layer(f"batchnorm_{i}").get_weights()
            params["gammas"].append(g)
            params["betas"].append(be)
            bn_state["means"].append(m)
            bn_state["vars"].append(v)
    k, b = model.get_layer("output").get_weights()
    params["kernels"].append(k)
    params["biases"].append(b)
    return {"params": params, "bn_state": bn_state}


def build_ensemble_model(
    spec: NetworkSpec, n_members: int, name: str = "noisy_mlp_ensemble"
) -> keras.Model:
    """The ``keras.Model`` of a seed ensemble: ``n_members`` networks of
    :func:`build_keras_model` (named ``member_0``, ``member_1`` ...) side by
    side on one input, their outputs averaged by a ``keras.layers.Average``
    layer named ``average`` (the mean of the probabilities for classifiers,
    of the outputs for regressors)."""
    inputs = keras.Input(shape=(spec.n_features,), name="input")
    outputs = [
        build_keras_model(spec, name=f"member_{i}")(inputs) for i in range(n_members)
    ]
    average = keras.layers.Average(name="average")(outputs)
    return keras.Model(inputs, average, name=name)


def ensemble_members(model: keras.Model, n_members: int) -> list:
    """The member networks of a model built by :func:`build_ensemble_model`."""
    return [model.get_layer(f"member_{i}") for i in range(n_members)]
