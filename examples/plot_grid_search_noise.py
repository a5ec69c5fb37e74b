"""
How much noise: a grid search and a validation curve
====================================================

The noise level is a hyperparameter like any other. Noise is added to the
features as they reach the network, so its scale only means something once the
features are standardized: put a ``StandardScaler`` in front, in a
``Pipeline``, so the scaling is learned on the training folds only. Then
``GridSearchCV`` picks the level, and scikit-learn's ``ValidationCurveDisplay``
shows the whole curve.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import make_moons
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    ValidationCurveDisplay,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrobust import NoisyMLPClassifier

# 100 noisy points and a 200-unit network trained for 1000 epochs: enough
# capacity to fit the training folds almost perfectly.
X, y = make_moons(n_samples=100, noise=0.3, random_state=0)
pipe = make_pipeline(
    StandardScaler(), NoisyMLPClassifier((200,), epochs=1000, random_state=0)
)
cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)

# %%
# Grid search over the level and the position of the noise
# --------------------------------------------------------
grid = {
    "noisymlpclassifier__noise_std": [0.0, 0.1, 0.3, 1.0],
    "noisymlpclassifier__noise_position": ["input", "pre_activation"],
}
search = GridSearchCV(pipe, grid, cv=cv, return_train_score=True).fit(X, y)
print("best:", search.best_params_, f"CV accuracy {search.best_score_:.3f}")
for params, train, test in zip(
    search.cv_results_["params"],
    search.cv_results_["mean_train_score"],
    search.cv_results_["mean_test_score"],
    strict=True,
):
    print(
        f"{params['noisymlpclassifier__noise_position']:>14s} "
        f"std {params['noisymlpclassifier__noise_std']:<4} "
        f"train {train:.3f}  test {test:.3f}"
    )

# %%
# A validation curve over ``noise_std``
# -------------------------------------
# Here for input noise. Training scores are computed on the clean training
# folds: the gap between the curves narrows as the noise grows, which is the
# regularization at work, and too much noise lowers both.
ValidationCurveDisplay.from_estimator(
    pipe.set_params(noisymlpclassifier__noise_position="input"),
    X,
    y,
    param_name="noisymlpclassifier__noise_std",
    param_range=[0.03, 0.1, 0.3, 1.0],
    cv=cv,
    std_display_style="fill_between",
)
plt.gca().set_xscale("log")
plt.show()
