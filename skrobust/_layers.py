"""Keras layers skrobust adds to the ones Keras ships.

Keras's own ``keras.layers.GaussianNoise`` refuses ``stddev > 1``; noise that
large is a legitimate choice on unscaled inputs, so skrobust has its own layer.
It is registered as a serializable Keras object, so models holding it save and
load in Keras's native format with ``safe_mode=True``. :func:`keras_initializer`
gives a Keras initializer with a local seed (the knob table checks initializer
names with it, without importing the network module).
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="skrobust")
class GaussianNoise(keras.layers.Layer):
    """Additive zero-centred Gaussian noise, active only in training.

    Parameters
    ----------
    stddev : float
        Standard deviation of the noise; any value >= 0.
    seed : int, default=None
        Seed of the layer's own generator (used only when the layer is called
        in training mode outside skrobust's engine, e.g. by ``Model.fit``).
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not stddev >= 0:
            raise ValueError(f"stddev must be >= 0, got {stddev!r}.")
        self.stddev = float(stddev)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        """Add noise to ``inputs`` in training; pass them through otherwise.

        Parameters
        ----------
        inputs : tensor
            The layer's input.
        training : bool, default=False
            Whether the layer is called in training mode.

        Returns
        -------
        outputs : tensor
            ``inputs`` plus zero-mean Gaussian noise of std ``stddev`` in training,
            ``inputs`` unchanged otherwise.
        """
        if training and self.stddev > 0:
            return inputs + keras.random.normal(
                keras.ops.shape(inputs),
                stddev=self.stddev,
                dtype=self.compute_dtype,
                seed=self.seed_generator,
            )
        return inputs

    def compute_output_shape(self, input_shape):
        """The output shape: that of the input.

        Parameters
        ----------
        input_shape : tuple
            Shape of the input.

        Returns
        -------
        output_shape : tuple
            ``input_shape``.
        """
        return input_shape

    def get_config(self):
        """The layer's configuration, for Keras serialization.

        Returns
        -------
        config : dict
            Keras's layer configuration with ``stddev`` and ``seed``.
        """
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


def keras_initializer(name: str, seed: int = 0):
    """The Keras initializer ``name`` with a local seed.

    ``keras.initializers.get(name)`` alone seeds a random initializer from
    Python's global ``random`` module, which skrobust must leave untouched.
    """
    try:
        return keras.initializers.get({"class_name": name, "config": {"seed": seed}})
    except TypeError:  # an initializer without a seed (zeros, ones, ...)
        return keras.initializers.get(name)
