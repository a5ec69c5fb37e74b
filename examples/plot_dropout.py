"""
Dropout, and dropout with a max-norm constraint
===============================================

Dropout is the other common way to regularize with noise: it multiplies hidden
units by Bernoulli noise instead of adding Gaussian noise. On the tutorials'
overfitting circles problem we compare the baseline, dropout 0.4, and dropout
with a max-norm constraint on the hidden weights, the pairing the dropout
paper recommends.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import make_circles

from skrobust import NoisyMLPClassifier
from skrobust.inspection import TrainingHistoryDisplay

X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
X_train, y_train, X_test, y_test = X[:30], y[:30], X[30:], y[30:]

variants = {
    "baseline": {},
    "dropout 0.4": {"dropout": 0.4},
    "dropout 0.4 + max-norm 3": {"dropout": 0.4, "max_norm": 3.0},
}
for name, params in variants.items():
    scores = [
        NoisyMLPClassifier((500,), epochs=4000, random_state=seed, **params)
        .fit(X_train, y_train)
        .score(X_test, y_test)
        for seed in (0, 1, 2)
    ]
    print(f"{name:25s} test accuracy per seed: {[round(s, 3) for s in scores]}")

# %%
# Training curves
# ---------------
# Dropout, like Gaussian noise, acts only in training: the training curves are
# measured on the noisy mini-batches, the validation curves on clean inputs, so
# the training accuracy can sit below the validation accuracy.
fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), layout="constrained")
for row, name in zip(axes, ("baseline", "dropout 0.4"), strict=True):
    model = NoisyMLPClassifier(
        (500,), epochs=4000, validation_fraction=0.7, random_state=0, **variants[name]
    ).fit(X, y)
    TrainingHistoryDisplay.from_estimator(model, ax=row, name=name)
plt.show()
