"""scikit-learn's estimator checks on every skrobust estimator."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from skrobust import NoisyMLPClassifier, NoisyMLPRegressor

# Tiny networks and few epochs keep the ~50 checks per estimator fast; the
# learning rate is raised so that a few epochs still fit the checks' simple
# problems well enough for their score thresholds.
FAST = dict(hidden_layer_sizes=(16,), epochs=40, learning_rate=0.02, random_state=0)

ESTIMATORS = [NoisyMLPClassifier(**FAST), NoisyMLPRegressor(**FAST)]

_WEIGHTS_VS_REPEATS = (
    "Mini-batch training is not invariant to replacing an integer sample "
    "weight by repeated rows: repeating a row adds rows to the epoch, which "
    "changes how many mini-batches there are, which rows share a batch and the "
    "per-batch mean the optimizer steps on (Keras's 'sum_over_batch_size')."
)
# Sparse X trains on its dense copy, so the same holds for sparse data.
EXPECTED_FAILED_CHECKS: dict = {
    name: {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS_VS_REPEATS,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS_VS_REPEATS,
    }
    for name in ("NoisyMLPClassifier", "NoisyMLPRegressor")
}


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}
    ),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
