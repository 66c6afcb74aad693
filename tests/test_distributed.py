"""Hyper-parameter search on a Dask cluster through joblib's "dask" backend.

GridSearchCV and RandomizedSearchCV dispatch their (candidate, fold) fits
through joblib, so ``joblib.parallel_backend("dask")`` runs them on the
workers of a dask.distributed cluster. These tests check that the results
are those of a sequential search and that ``SuperpixelTransformer(memory=...)``
lets the workers share the label maps: each batch of images is segmented by
whichever worker first needs it and loaded by the others.
"""

import contextlib
import logging
import os
from collections import Counter

import joblib
import numpy as np
import pytest
import torch
from scipy.stats import loguniform
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, check_cv
from sklearn.pipeline import make_pipeline

from sklearn_p2p import P2PClassifier, SuperpixelTransformer, _superpixels
from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.utils import check_images

distributed = pytest.importorskip("distributed")

N_WORKERS = 2
SCORING = ("accuracy", "neg_log_loss")
N_CANDIDATES = 2
CV = 2

# Each worker process runs one task at a time (threads_per_worker=1), but
# torch would give each one an intra-op pool of one thread per core: two
# workers on a two-core machine then fight over the cores, and the search ran
# 3-30x slower here. torch sizes its pool from OMP_NUM_THREADS and then
# MKL_NUM_THREADS, read when it is imported. The Nanny of each worker sets
# `env` in the worker process at start-up, before torch is imported there
# (it is imported when the first task is unpickled), overriding the values
# inherited from this process. (distributed's own default,
# distributed.nanny.pre-spawn-environ, also sets both to 1, but yields to
# whatever this process's environment says.)
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread_here():
    """One torch thread in this process too, for the whole module.

    This process runs the sequential reference searches and, for the
    ``processes=False`` cluster, hosts the worker threads: one thread avoids
    the same oversubscription and computes the reference with the same
    number of threads as the workers.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@contextlib.contextmanager
def _local_client(processes):
    kwargs = dict(
        n_workers=N_WORKERS,
        threads_per_worker=1,
        processes=processes,
        # None would still start the scheduler's HTTP server on port 8787,
        # the default; a free port avoids colliding with another cluster.
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    )
    if processes:
        kwargs["env"] = ONE_THREAD_ENV
    with distributed.LocalCluster(**kwargs) as cluster:
        # set_as_default=False: the searches name their client explicitly,
        # so that the two clusters of this module cannot be mixed up.
        with distributed.Client(cluster, set_as_default=False) as client:
            yield client


@pytest.fixture(scope="module")
def process_client():
    """Two single-threaded worker processes, as on a real cluster."""
    with _local_client(processes=True) as client:
        yield client


@pytest.fixture(scope="module")
def thread_client():
    """Two single-threaded workers running as threads of this process.

    Segmentations in the workers then go through this process's
    ``_superpixels`` module, so monkeypatching it counts all of them.
    """
    with _local_client(processes=False) as client:
        yield client


@pytest.fixture(scope="module")
def data():
    bunch = make_cluttered_objects(n_samples=24, image_size=16, n_classes=2, random_state=0)
    return bunch.images, bunch.target


def make_search(kind, memory=None):
    pipe = make_pipeline(
        SuperpixelTransformer(n_segments=8, memory=memory),
        P2PClassifier(superpixels="precomputed", max_epochs=1, batch_size=8,
                      random_state=0, verbose=0),
    )
    # Two learning rates far enough apart to score differently, so equal
    # results cannot come from candidates that all score the same.
    common = dict(cv=CV, scoring=SCORING, refit="neg_log_loss", error_score="raise")
    if kind == "grid":
        return GridSearchCV(pipe, {"p2pclassifier__lr": [1e-3, 3e-2]}, **common)
    return RandomizedSearchCV(
        pipe, {"p2pclassifier__lr": loguniform(1e-3, 3e-2)}, n_iter=N_CANDIDATES,
        random_state=0, **common,
    )


def on_dask(client):
    return joblib.parallel_backend("dask", client=client)


@pytest.fixture(scope="module")
def sequential(data):
    """The searches run with joblib's default backend, without a cache."""
    return {kind: make_search(kind).fit(*data) for kind in ("grid", "random")}


def assert_same_results(search, reference):
    results, expected = search.cv_results_, reference.cv_results_
    assert list(results["params"]) == list(expected["params"])
    keys = [k for k in expected if k.startswith("split") or k.startswith("rank_")]
    assert len(keys) == (CV + 1) * len(SCORING)
    for key in keys:
        np.testing.assert_array_equal(results[key], expected[key], err_msg=key)
    assert search.best_index_ == reference.best_index_


def distinct_batches(X, y):
    """Hashes of the inputs the search segments, as ``_segment_images`` sees them.

    The train and test parts of every split, and all of X for the refit.
    With cv=2 the train part of one split is the test part of the other, so
    there are three.
    """
    cv = check_cv(CV, y, classifier=True)
    parts = [idx for split in cv.split(X, y) for idx in split]
    folds = {joblib.hash(check_images(X[idx])) for idx in parts}
    return folds, joblib.hash(check_images(X))


@pytest.fixture
def segmentations(monkeypatch):
    """Record every batch segmented in this process: (hash, worker or None).

    Patching the callee leaves the cache key (which holds the code of
    ``_segment_images_keyed``) unchanged.
    """
    calls = []
    segment_images = _superpixels._segment_images

    def counting(images, *args, **kwargs):
        try:
            worker = distributed.get_worker().address
        except ValueError:  # not in a task: the refit, or a sequential search
            worker = None
        calls.append((joblib.hash(images), worker))
        return segment_images(images, *args, **kwargs)

    monkeypatch.setattr(_superpixels, "_segment_images", counting)
    return calls


def cache_entries(location):
    """(inode, mtime, size) of every stored label-map batch.

    joblib writes an entry to a temporary file and renames it into place, so
    segmenting a batch again would give its entry a new inode.
    """
    return {
        path.parent.name: (path.stat().st_ino, path.stat().st_mtime_ns, path.stat().st_size)
        for path in location.rglob("output.pkl")
    }


@pytest.mark.parametrize("kind", ["grid", "random"])
def test_search_on_dask_matches_sequential(process_client, data, sequential, kind):
    with distributed.get_task_stream(process_client) as tasks, on_dask(process_client):
        search = make_search(kind).fit(*data)
    # The fits ran on the cluster, not in a silent fallback to another backend.
    assert any("fit_and_score" in task["key"] for task in tasks.data)
    assert {task["worker"] for task in tasks.data} <= set(
        process_client.scheduler_info()["workers"]
    )
    # Same random_state, same splits, one torch thread on both sides: the
    # scores are identical, not merely close.
    assert_same_results(search, sequential[kind])
    assert len(set(search.cv_results_["mean_test_neg_log_loss"])) == N_CANDIDATES
    np.testing.assert_array_equal(search.predict_proba(data[0]),
                                  sequential[kind].predict_proba(data[0]))


def test_worker_processes_use_one_torch_thread(process_client):
    assert set(process_client.run(torch.get_num_threads).values()) == {1}
    for name in ONE_THREAD_ENV:
        assert set(process_client.run(os.getenv, name).values()) == {"1"}


def test_cache_shared_by_worker_threads(thread_client, data, segmentations, tmp_path):
    X, y = data
    folds, everything = distinct_batches(X, y)

    make_search("grid").fit(X, y)
    n_uncached = len(segmentations)
    # Every (candidate, split) fit segments its train part, and each of the
    # two scorers segments the test part again; plus the refit.
    assert n_uncached == N_CANDIDATES * CV * (1 + len(SCORING)) + 1
    segmentations.clear()

    with on_dask(thread_client):
        make_search("grid", memory=str(tmp_path)).fit(X, y)
    counts = Counter(batch for batch, _ in segmentations)
    # Each distinct input was segmented, and nothing else.
    assert set(counts) == folds | {everything}
    # The folds were segmented in the workers, the refit here afterwards.
    workers = set(thread_client.scheduler_info()["workers"])
    assert {w for b, w in segmentations if b != everything} <= workers
    assert [w for b, w in segmentations if b == everything] == [None]
    # joblib.Memory has no lock: workers that ask for the same new batch at
    # the same moment both segment it (and store the same entry). Once one
    # has stored it, every later request loads it, so a batch is segmented
    # at most once per worker thread. In practice once: 3 segmentations
    # instead of 13.
    assert max(counts.values()) <= N_WORKERS
    assert len(segmentations) < n_uncached
    segmentations.clear()

    # A second search over the same cache segments nothing, on any worker.
    with on_dask(thread_client):
        make_search("grid", memory=str(tmp_path)).fit(X, y)
    assert segmentations == []
    # The scores are not compared here: P2PClassifier seeds torch's global
    # generator, which fits running at the same time in threads of one
    # process share, so with thread workers the scores may differ from run
    # to run despite random_state (the label maps do not). Worker processes
    # with one thread each reproduce them exactly (see
    # test_search_on_dask_matches_sequential).


def test_cache_shared_by_worker_processes(process_client, data, sequential, segmentations,
                                          tmp_path):
    X, y = data
    folds, everything = distinct_batches(X, y)

    with on_dask(process_client):
        cold = make_search("grid", memory=str(tmp_path)).fit(X, y)
    # The folds were segmented in the worker processes (the monkeypatch of
    # this process does not reach them), the refit here.
    assert [batch for batch, _ in segmentations] == [everything]
    entries = cache_entries(tmp_path)
    # One entry per distinct input, whichever process stored it.
    assert len(entries) == len(folds) + 1

    # Another search over the same cache, with other candidates: the label
    # maps depend only on the images and SLIC settings, so no worker
    # segments anything (no entry is written again) and no entry is added.
    with on_dask(process_client):
        warm = make_search("random", memory=str(tmp_path)).fit(X, y)
    assert cache_entries(tmp_path) == entries
    assert len(segmentations) == 1  # the refit loaded its batch as well

    # The entries that worker processes wrote load in this process too.
    local = make_search("grid", memory=str(tmp_path)).fit(X, y)
    assert len(segmentations) == 1
    assert cache_entries(tmp_path) == entries

    assert_same_results(cold, sequential["grid"])
    assert_same_results(local, sequential["grid"])
    assert_same_results(warm, sequential["random"])
