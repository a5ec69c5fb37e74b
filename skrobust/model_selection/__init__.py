"""Model selection that trains many fits as one vectorized run.

:class:`BatchedGridSearchCV` and :func:`batched_cross_validate` are drop-ins
for scikit-learn's ``GridSearchCV`` and ``cross_validate`` over skrobust
estimators: candidates x folds x seeds of one network structure train
together in ``jax.vmap``-ed loops, split into runs that ``n_jobs`` workers
share (a Dask cluster's workers under joblib's ``dask`` backend), and
anything that cannot batch falls back to ordinary fits in the same workers.

:func:`compare_candidates` turns any search's ``cv_results_`` into paired,
corrected comparisons of its candidates with a baseline candidate.
"""

from skrobust.model_selection._compare import compare_candidates
from skrobust.model_selection._cross_validate import batched_cross_validate
from skrobust.model_selection._search import BatchedGridSearchCV

__all__ = ["BatchedGridSearchCV", "batched_cross_validate", "compare_candidates"]
