"""What the encoders share: the parameter checks and the input names behind
``get_feature_names_out``."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skrobust._validation import Check, Interval

#: ``random_state`` as scikit-learn's ``check_random_state`` takes it.
RANDOM_STATE = (
    None,
    Interval(numbers.Integral, 0, 2**32 - 1),
    Check(lambda v: isinstance(v, np.random.RandomState), "a numpy RandomState"),
)


def input_names(estimator, input_features) -> np.ndarray:
    """The names of the columns ``estimator`` was fitted on, checked against
    ``input_features`` as scikit-learn's one-to-one transformers check them:
    the fitted names if any, else ``x0, x1, ...``."""
    check_is_fitted(estimator, "n_features_in_")
    fitted = getattr(estimator, "feature_names_in_", None)
    if input_features is None:
        if fitted is not None:
            return fitted
        return np.asarray(
            [f"x{i}" for i in range(estimator.n_features_in_)], dtype=object
        )
    input_features = np.asarray(input_features, dtype=object)
    if fitted is not None and not np.array_equal(fitted, input_features):
        raise ValueError("input_features is not equal to feature_names_in_")
    if len(input_features) != estimator.n_features_in_:
        raise ValueError(
            f"input_features should have length equal to number of features "
            f"({estimator.n_features_in_}), got {len(input_features)}"
        )
    return input_features
