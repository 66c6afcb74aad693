"""AcceleratedP2PClassifier: skorch's Accelerate integration, on CPU here."""

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skimage.io import imsave

pytest.importorskip("accelerate")
from accelerate import Accelerator  # noqa: E402
from accelerate.state import AcceleratorState, GradientState  # noqa: E402

from sklearn_p2p import AcceleratedP2PClassifier, P2PClassifier, SuperpixelTransformer  # noqa: E402
from sklearn_p2p.datasets import make_cluttered_objects  # noqa: E402

SCRIPT = Path(__file__).parent / "scripts" / "accelerate_fit.py"
SETTINGS = dict(superpixels=SuperpixelTransformer(n_segments=8), max_epochs=2,
                batch_size=8, verbose=0, random_state=0)


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """Accelerate keeps one state per process; each test starts a new one."""
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


@pytest.fixture(scope="module")
def data():
    return make_cluttered_objects(n_samples=32, image_size=16, random_state=0)


@pytest.fixture(scope="module")
def reference(data):
    return P2PClassifier(**SETTINGS).fit(data.images, data.target)


@pytest.mark.parametrize("mixed_precision", ["no", "fp16"])
def test_one_process_trains_the_same_model_as_p2pclassifier(data, reference, mixed_precision):
    """fp16 needs a GPU: on a CPU Accelerate trains in float32, unchanged."""
    accelerator = Accelerator(mixed_precision=mixed_precision)
    clf = AcceleratedP2PClassifier(accelerator=accelerator, **SETTINGS)
    clf.fit(data.images, data.target)
    assert type(clf.module_).__name__ == "P2PNetwork", "not unwrapped after training"
    np.testing.assert_allclose(clf.predict_proba(data.images),
                               reference.predict_proba(data.images), atol=1e-6)
    np.testing.assert_array_equal(clf.explain(data.images[:4]), reference.explain(data.images[:4]))


def test_bf16_mixed_precision_trains_on_cpu(data, reference):
    clf = AcceleratedP2PClassifier(accelerator=Accelerator(mixed_precision="bf16"), **SETTINGS)
    clf.fit(data.images, data.target)
    losses = clf.history[:, "train_loss"]
    assert np.isfinite(losses).all()
    assert losses != reference.history[:, "train_loss"], "autocast was not used"
    assert next(clf.module_.parameters()).dtype == torch.float32
    proba = clf.predict_proba(data.images)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert clf.explain(data.images[:3]).shape == (3, 16, 16)


def test_accelerated_classifier_pickles_clones_and_stays_silent(data, capsys):
    clf = AcceleratedP2PClassifier(accelerator=Accelerator(), **SETTINGS)
    clf.fit(data.images, data.target)
    assert capsys.readouterr().out == "", "verbose=0 printed the epoch table"
    params = clf.get_params(deep=False)
    assert params["device"] is None and params["callbacks__print_log__sink"] == "auto"
    assert not any(name.startswith("_") for name in params)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(data.images[:4]),
                               clf.predict_proba(data.images[:4]))
    assert clone(clf).get_params(deep=False).keys() == params.keys()

    loud = AcceleratedP2PClassifier(accelerator=Accelerator(), **{**SETTINGS, "verbose": 1})
    loud.fit(data.images, data.target)
    assert "train_loss" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None,
                    reason="torchrun is not installed next to this Python")
def test_two_processes_shard_the_data_and_stay_in_sync(tmp_path):
    """Data-parallel training in two CPU processes (gloo), launched by torchrun
    as a user would launch it, on an image folder read lazily."""
    images = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    folder = tmp_path / "images"
    for i, (image, target) in enumerate(zip(images.images, images.target)):
        (folder / str(target)).mkdir(parents=True, exist_ok=True)
        imsave(folder / str(target) / f"{i:02d}.png", image, check_contrast=False)
    output = tmp_path / "output"
    output.mkdir()
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    # One thread per process: two processes on a small machine otherwise
    # fight over the cores.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", str(SCRIPT), str(folder), str(output)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    reports = [json.loads((output / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    for rank, report in enumerate(reports):
        assert report["rank"] == rank
        assert report["world_size"] == 2
        assert report["distributed_type"] == "DistributedType.MULTI_CPU"
        assert report["images_per_epoch"] == 12, "each process should train on half"
        assert report["n_masks"] == 24, "explain should see every image"
        assert report["n_proba"] == 24, "predict_proba should gather every image"
        assert report["proba_finite"]
    # DDP averages the gradients, so both processes end with the same weights.
    assert reports[0]["weights_sum"] == reports[1]["weights_sum"]
    assert reports[0]["weights_abs_sum"] == reports[1]["weights_abs_sum"]
