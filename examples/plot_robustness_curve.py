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
from sklearn.svm import SVC

from skrobust import NoisyMLPClassifier
from skrobust.inspection import RobustnessCurveDisplay, robustness_curve

# The tutorials' overfitting setting: 30 training points, 500 hidden units.
X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
X_train, y_train, X_test, y_test = X[:30], y[:30], X[30:], y[30:]

models = {
    "no noise": NoisyMLPClassifier((500,), epochs=2000, random_state=0),
    "input noise 0.1": NoisyMLPClassifier(
        (500,), noise_std=0.1, noise_position="input", epochs=2000, random_state=0
    ),
    "hidden noise 0.1": NoisyMLPClassifier(
        (500,), noise_std=0.1, epochs=2000, random_state=0
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
    scoring="accuracy",
    random_state=0,
)
print(result.noise_levels, result.mean_scores.round(3), result.std_scores.round(3))

# %%
# Several models on one axis
# --------------------------
# Any fitted scikit-learn estimator or pipeline works. All models are scored
# on the same noisy copies of the test set, and the bands show ± one standard
# deviation over those copies. Read the slopes: a model whose score falls
# more slowly as the test noise grows is the more robust one. The curves
# describe these fitted models; other seeds give other models, so compare
# several before drawing conclusions.
RobustnessCurveDisplay.from_estimators(
    models,
    X_test,
    y_test,
    [0.0, 0.05, 0.1, 0.2, 0.3, 0.4],
    n_repeats=10,
    scoring="accuracy",
    random_state=0,
)
plt.show()
