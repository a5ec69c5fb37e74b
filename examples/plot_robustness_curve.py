"""
Robustness to noisy test inputs
===============================

Training with noise is meant to make a model less sensitive to small changes
of its inputs. :func:`~skrobust.inspection.robustness_curve` measures exactly
that: the score of a fitted model as Gaussian noise of growing standard
deviation is added to the test inputs. :class:`~skrobust.inspection.RobustnessCurveDisplay`
puts several models on one axis, all scored on the same noisy copies.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import make_circles
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from skrobust import NoisyMLPClassifier
from skrobust.inspection import RobustnessCurveDisplay, robustness_curve

X, y = make_circles(n_samples=400, noise=0.1, factor=0.5, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

models = {
    "no noise": NoisyMLPClassifier((100,), epochs=300, random_state=0),
    "input noise 0.2": NoisyMLPClassifier(
        (100,), noise_std=0.2, noise_position="input", epochs=300, random_state=0
    ),
    "hidden noise 0.3": NoisyMLPClassifier(
        (100,), noise_std=0.3, epochs=300, random_state=0
    ),
    "SVC (RBF kernel)": SVC(),
}
for model in models.values():
    model.fit(X_train, y_train)

# %%
# One curve: a Bunch of levels, means and standard deviations
# -----------------------------------------------------------
result = robustness_curve(
    models["no noise"],
    X_test,
    y_test,
    [0.0, 0.1, 0.2, 0.4],
    n_repeats=10,
    random_state=0,
)
print(result.noise_levels, result.mean_scores.round(3), result.std_scores.round(3))

# %%
# Several models on one axis
# --------------------------
# Any fitted scikit-learn estimator or pipeline works. Bands show ± one
# standard deviation over the noisy copies.
RobustnessCurveDisplay.from_estimators(
    models,
    X_test,
    y_test,
    [0.0, 0.05, 0.1, 0.2, 0.3, 0.4],
    n_repeats=10,
    random_state=0,
)
plt.show()
