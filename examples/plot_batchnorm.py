"""
Batch normalization before or after the activation
==================================================

The tutorials' batch-norm study: 1000 points of the circles problem, half for
training, a 50-unit ReLU layer initialized with ``he_uniform`` and trained by
SGD (learning rate 0.01, momentum 0.9) for 100 epochs, with batch normalization
placed before or after the activation.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import make_circles

from skrobust import NoisyMLPClassifier
from skrobust.inspection import TrainingHistoryDisplay

X, y = make_circles(n_samples=1000, noise=0.1, random_state=1)
common = dict(
    hidden_layer_sizes=(50,),
    kernel_initializer="he_uniform",
    optimizer="sgd",
    learning_rate=0.01,
    momentum=0.9,
    epochs=100,
)

# %%
# Fit each placement with half of the data held out for validation
# -----------------------------------------------------------------
fig, axes = plt.subplots(3, 2, figsize=(9, 9.5), layout="constrained")
for row, batchnorm in zip(axes, (None, "before", "after"), strict=True):
    model = NoisyMLPClassifier(
        batchnorm=batchnorm, validation_fraction=0.5, random_state=0, **common
    ).fit(X, y)
    name = "no batch norm" if batchnorm is None else f"batch norm {batchnorm}"
    print(
        f"{name:18s} final validation accuracy {model.history_['val_accuracy'][-1]:.3f}"
    )
    TrainingHistoryDisplay.from_estimator(model, ax=row, name=name)

# %%
# Batch normalization speeds up the early epochs. Its statistics are noisy
# mini-batch estimates during training, itself a mild regularizer; when it is
# combined with dropout or Gaussian noise, the noise shifts the batch statistics
# that inference later uses, so the two are best tuned together.
plt.show()
