"""Scale-out: GridSearchCV and BatchedGridSearchCV on a real
dask.distributed cluster (two worker processes) give the results of a local
run, and the batched search's runs train on the workers."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from skrobust import NoisyMLPClassifier
from skrobust.model_selection import BatchedGridSearchCV

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

X, Y = make_classification(n_samples=60, n_features=4, random_state=0)
TINY = dict(hidden_layer_sizes=(5,), epochs=5, random_state=0)
GRID = {"noise_std": [0.0, 0.3]}


@pytest.fixture(scope="module")
def client():
    # Worker processes are spawned fresh: they must import Keras with the
    # backend of this process, so it is passed explicitly.
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env={"KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


def test_grid_search_on_a_dask_cluster_equals_the_local_run(client):
    local = GridSearchCV(NoisyMLPClassifier(**TINY), GRID, cv=2).fit(X, Y)
    with (
        distributed.get_task_stream(client) as stream,
        joblib.parallel_config(backend="dask"),
    ):
        remote = GridSearchCV(NoisyMLPClassifier(**TINY), GRID, cv=2, n_jobs=-1).fit(
            X, Y
        )
    for key, value in local.cv_results_.items():
        if "_score" in key and "time" not in key:
            np.testing.assert_array_equal(remote.cv_results_[key], value, err_msg=key)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))
    # The fits really ran on the cluster's workers.
    assert {task["worker"] for task in stream.data} <= set(
        client.scheduler_info()["workers"]
    )
    assert len(stream.data) >= 1
    backends = client.run(lambda: __import__("keras").backend.backend())
    assert set(backends.values()) == {keras.backend.backend()}


def test_batched_search_trains_its_runs_on_the_dask_workers(client):
    # Runs of one network each: four runs for the two workers.
    search = BatchedGridSearchCV(
        NoisyMLPClassifier(**TINY), GRID, cv=2, scoring="neg_log_loss", max_members=1
    )
    local = search.fit(X, Y)
    local_results, local_proba = local.cv_results_, local.predict_proba(X)
    with (
        distributed.get_task_stream(client) as stream,
        joblib.parallel_config(backend="dask"),
    ):
        remote = BatchedGridSearchCV(**search.get_params(deep=False)).fit(X, Y)
    assert remote.batch_info_["n_runs"] == 4
    for key, value in local_results.items():
        if "time" not in key:
            np.testing.assert_array_equal(remote.cv_results_[key], value, err_msg=key)
    np.testing.assert_array_equal(remote.predict_proba(X), local_proba)
    # joblib names each dask task after the function it calls: every run
    # was a task on one of the cluster's workers.
    calls = [
        re.fullmatch(r"batch_of_train_run_(\d+)_calls-\w+", str(task["key"]))
        for task in stream.data
    ]
    assert sum(int(c[1]) for c in calls if c) == 4
    workers = set(client.scheduler_info()["workers"])
    assert {task["worker"] for task in stream.data} <= workers
