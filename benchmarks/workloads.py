"""The benchmark workloads of issue 3, each a data set plus one model described
four ways: as skrobust parameters, as scikit-learn ``MLPClassifier``
parameters (the nearest model it can express) and as a Keras model trained by
``Model.fit`` the way the tutorials write it.

Imported by ``run.py``, ``accuracy_equivalence.py``, ``repeated_fits.py``,
``noise_kinds_cost.py``, ``warm_fits.py`` and ``ensembles.py``; importing it
loads neither Keras nor a backend. The engines and their processes are
``harness.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    data: str  # key of DATASETS
    hidden: tuple[int, ...]
    epochs: int
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float | None = None
    momentum: float = 0.0
    kernel_initializer: str = "glorot_uniform"
    noise_std: float = 0.0
    noise_position: str = "pre_activation"
    dropout: float = 0.0
    batchnorm: str | None = None
    # Keras Model.fit: the tutorials pass the test set as validation_data (it
    # costs an evaluation per epoch) on the small case studies.
    keras_validation: bool = False
    # Epochs actually run by Keras Model.fit (then scaled linearly to
    # ``epochs``) when the full run would take minutes.
    keras_epochs: int | None = None
    # What scikit-learn's MLPClassifier cannot express (it then trains the
    # model without it).
    sklearn_lacks: tuple[str, ...] = field(default=())
    smoke_epochs: int = 1
    smoke_rows: int | None = None

    def skrobust_params(self, epochs=None) -> dict:
        return dict(
            hidden_layer_sizes=self.hidden,
            kernel_initializer=self.kernel_initializer,
            noise_std=self.noise_std,
            noise_position=self.noise_position,
            dropout=self.dropout,
            batchnorm=self.batchnorm,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            momentum=self.momentum,
            epochs=epochs or self.epochs,
            batch_size=self.batch_size,
            # Every epoch runs, as in the tutorials and sklearn_model below.
            tol=None,
        )


WORKLOADS = {
    w.name: w
    for w in [
        Workload(
            "W1",
            "circles, 30 train rows, 500 ReLU, hidden noise 0.1",
            "circles100",
            hidden=(500,),
            epochs=4000,
            noise_std=0.1,
            keras_validation=True,
            keras_epochs=50,
            sklearn_lacks=("noise",),
            smoke_epochs=20,
        ),
        Workload(
            "W1-nonoise",
            "W1 without noise (the overfit baseline)",
            "circles100",
            hidden=(500,),
            epochs=4000,
            keras_validation=True,
            keras_epochs=50,
            smoke_epochs=20,
        ),
        Workload(
            "W2",
            "circles, 500 train rows, 50 ReLU + batch norm after, SGD",
            "circles1000",
            hidden=(50,),
            epochs=100,
            optimizer="sgd",
            learning_rate=0.01,
            momentum=0.9,
            kernel_initializer="he_uniform",
            batchnorm="after",
            keras_validation=True,
            sklearn_lacks=("batch norm",),
            smoke_epochs=2,
        ),
        Workload(
            "W3",
            "load_digits, input noise 0.1, (128, 64), softmax",
            "digits",
            hidden=(128, 64),
            epochs=10,
            noise_std=0.1,
            noise_position="input",
            sklearn_lacks=("noise",),
            smoke_epochs=1,
        ),
        Workload(
            "W4",
            "make_classification 200k x 100, (256, 256), dropout 0.2, batch 512",
            "classification200k",
            hidden=(256, 256),
            epochs=5,
            batch_size=512,
            dropout=0.2,
            sklearn_lacks=("dropout",),
            smoke_epochs=1,
            smoke_rows=4000,
        ),
    ]
}


def load(workload: Workload, smoke: bool = False):
    """(X_train, y_train, X_test, y_test) as float32 / int arrays."""
    from sklearn.datasets import load_digits, make_circles, make_classification
    from sklearn.model_selection import train_test_split

    if workload.data == "circles100":
        X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
        split = (X[:30], y[:30], X[30:], y[30:])
    elif workload.data == "circles1000":
        X, y = make_circles(n_samples=1000, noise=0.1, random_state=1)
        split = (X[:500], y[:500], X[500:], y[500:])
    elif workload.data == "digits":
        X, y = load_digits(return_X_y=True)
        X = X / 16.0  # pixels in [0, 1], as the MNIST tutorials scale them
        Xtr, Xte, ytr, yte = train_test_split(
            X, y, test_size=0.25, random_state=0, stratify=y
        )
        split = (Xtr, ytr, Xte, yte)
    elif workload.data == "classification200k":
        # 200,000 training rows plus 50,000 held out (a smoke run makes only
        # what it uses).
        n_train = workload.smoke_rows if smoke and workload.smoke_rows else 200_000
        X, y = make_classification(
            n_samples=n_train * 5 // 4,
            n_features=100,
            n_informative=20,
            random_state=0,
        )
        split = (X[:n_train], y[:n_train], X[n_train:], y[n_train:])
    else:  # pragma: no cover
        raise ValueError(workload.data)
    Xtr, ytr, Xte, yte = split
    if smoke and workload.smoke_rows:
        Xtr, ytr = Xtr[: workload.smoke_rows], ytr[: workload.smoke_rows]
        Xte, yte = Xte[: workload.smoke_rows], yte[: workload.smoke_rows]
    return (
        np.asarray(Xtr, np.float32),
        np.asarray(ytr),
        np.asarray(Xte, np.float32),
        np.asarray(yte),
    )


def sklearn_model(workload: Workload, seed: int, epochs: int):
    """The nearest ``MLPClassifier``: same layers, optimizer, batch and epochs;
    no L2 penalty and no early convergence stop, so it runs every epoch."""
    from sklearn.neural_network import MLPClassifier

    lr = workload.learning_rate or (0.01 if workload.optimizer == "sgd" else 0.001)
    return MLPClassifier(
        hidden_layer_sizes=workload.hidden,
        activation="relu",
        solver=workload.optimizer,
        alpha=0.0,
        batch_size=workload.batch_size,
        learning_rate_init=lr,
        momentum=workload.momentum,
        nesterovs_momentum=False,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=10**9,
        shuffle=True,
        random_state=seed,
    )


def keras_model(workload: Workload, n_features: int, n_classes: int, seed: int):
    """The tutorial's ``keras.Sequential`` model, compiled."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.Input(shape=(n_features,))]
    if workload.noise_std and workload.noise_position == "input":
        layers.append(keras.layers.GaussianNoise(workload.noise_std))
    for units in workload.hidden:
        layers.append(
            keras.layers.Dense(units, kernel_initializer=workload.kernel_initializer)
        )
        if workload.batchnorm == "before":
            layers.append(keras.layers.BatchNormalization())
        if workload.noise_std and workload.noise_position == "pre_activation":
            layers.append(keras.layers.GaussianNoise(workload.noise_std))
        layers.append(keras.layers.Activation("relu"))
        if workload.batchnorm == "after":
            layers.append(keras.layers.BatchNormalization())
        if workload.noise_std and workload.noise_position == "post_activation":
            layers.append(keras.layers.GaussianNoise(workload.noise_std))
        if workload.dropout:
            layers.append(keras.layers.Dropout(workload.dropout))
    if n_classes == 2:
        layers.append(keras.layers.Dense(1, activation="sigmoid"))
        loss = "binary_crossentropy"
    else:
        layers.append(keras.layers.Dense(n_classes, activation="softmax"))
        loss = "sparse_categorical_crossentropy"
    model = keras.Sequential(layers)
    if workload.optimizer == "sgd":
        opt = keras.optimizers.SGD(
            learning_rate=workload.learning_rate or 0.01, momentum=workload.momentum
        )
    else:
        opt = keras.optimizers.Adam(learning_rate=workload.learning_rate or 0.001)
    model.compile(loss=loss, optimizer=opt, metrics=["accuracy"])
    return model


def timed_fit(est, X, y) -> float:
    """Seconds ``est.fit(X, y)`` takes, with scikit-learn's convergence
    warnings (runs that stop at their epoch budget) silenced."""
    import time
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t = time.perf_counter()
        est.fit(X, y)
        return time.perf_counter() - t
