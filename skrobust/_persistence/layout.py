"""What a skrobust model file holds: its members, its format version, the
fitted attributes it stores (and the check each must pass) and the estimator
classes it may name."""

from __future__ import annotations

FORMAT_NAME = "skrobust-estimator"
FORMAT_VERSION = 1

META = "skrobust.json"
MODEL = "model.keras"
ARRAY_DIR = "arrays/"
# Cap on the JSON member: real files hold a few kB (history of a long fit
# included); anything far larger is not a skrobust file.
MAX_META_BYTES = 64 * 2**20

# Attributes restored from JSON, with the check each value must pass.
SCALAR_ATTRIBUTES = {
    "n_features_in_": "int",
    "n_iter_": "int",
    "best_epoch_": "int",
    "best_loss_": "float",
    "_y_ndim": "int",
    "loss_curve_": "floats",
    "t_": "int",
    "history_": "history",
    # Ensembles (n_members > 1) only.
    "members_history_": "histories",
    "members_n_iter_": "ints",
    "members_best_epoch_": "ints",
}
ARRAY_ATTRIBUTES = ("classes_", "feature_names_in_")
# Array dtypes a file may hold: booleans, numbers and fixed-width strings.
ARRAY_KINDS = "biufU"


def estimator_classes() -> dict:
    from skrobust._classifier import NoisyMLPClassifier
    from skrobust._regressor import NoisyMLPRegressor

    return {cls.__name__: cls for cls in (NoisyMLPClassifier, NoisyMLPRegressor)}
