"""The training engine: whole fits as compiled loops, one module per backend.

Private to skrobust; the estimators are its only users.
"""

from skrobust.engine._api import (
    TrainConfig,
    TrainResult,
    clear_cache,
    hyper_arrays,
    make_config,
    predict,
    prepare_data,
    train,
)

__all__ = [
    "TrainConfig",
    "TrainResult",
    "clear_cache",
    "hyper_arrays",
    "make_config",
    "predict",
    "prepare_data",
    "train",
]
