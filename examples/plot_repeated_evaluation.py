"""
Repeated evaluation with cross_validate
=======================================

One train/test split and one seed say little about a 0.02 difference in
accuracy. Because skrobust's estimators are ordinary scikit-learn estimators,
``cross_validate`` with ``RepeatedStratifiedKFold`` evaluates a variant on many
splits, each fit with a fresh clone.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_circles
from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate

from skrobust import NoisyMLPClassifier

X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)

models = {
    "baseline": NoisyMLPClassifier((500,), epochs=1000, random_state=0),
    "hidden noise 0.1": NoisyMLPClassifier(
        (500,), noise_std=0.1, epochs=1000, random_state=0
    ),
}
results = {
    name: cross_validate(model, X, y, cv=cv, return_train_score=True)
    for name, model in models.items()
}
for name, res in results.items():
    print(
        f"{name:17s} train {res['train_score'].mean():.3f} ± {res['train_score'].std():.3f}"
        f"   test {res['test_score'].mean():.3f} ± {res['test_score'].std():.3f}"
    )

# %%
# The same splits serve both models, so their differences are paired: the
# difference per split is what to look at.
diff = results["hidden noise 0.1"]["test_score"] - results["baseline"]["test_score"]
print(
    f"hidden noise minus baseline: {diff.mean():+.3f} ± {diff.std():.3f} "
    f"(better on {np.sum(diff > 0)} of {diff.size} splits)"
)

fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.boxplot([res["test_score"] for res in results.values()])
ax.set_xticks([1, 2], list(results))
ax.set_ylabel("Test accuracy per split")
ax.set_title("5-fold cross-validation, repeated twice")
plt.show()
