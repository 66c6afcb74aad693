import numpy as np
import pytest
import torch

import sklearn_p2p._superpixels as superpixels_module
from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_cluttered_objects


@pytest.fixture(autouse=True)
def _seed_everything():
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tiny_data():
    """48 images of 24x24 with 3 classes: small enough for second-long fits."""
    return make_cluttered_objects(n_samples=48, image_size=24, n_classes=3, random_state=0)


def make_tiny_p2p(**params):
    """A P2P model sized for tests: few segments, few epochs, silent."""
    defaults = dict(
        superpixels=SuperpixelTransformer(n_segments=16),
        max_epochs=3,
        batch_size=16,
        random_state=0,
        verbose=0,
    )
    return P2PClassifier(**{**defaults, **params})


@pytest.fixture(scope="session")
def string_labels(tiny_data):
    """The class names as labels, so tests see non-integer classes."""
    return np.asarray(tiny_data.target_names)[tiny_data.target]


@pytest.fixture(scope="session")
def fitted_p2p(tiny_data, string_labels):
    """One trained model shared by the read-only tests.

    Trained long enough (small batches, mild lambda1) for its masks to
    respond to tau, so threshold tests see sparse, varied masks.
    """
    model = make_tiny_p2p(max_epochs=20, batch_size=8, lambda1=1.0, lr=3e-3)
    return model.fit(tiny_data.images, string_labels)


@pytest.fixture(name="make_p2p", scope="session")
def make_p2p_fixture():
    return make_tiny_p2p


@pytest.fixture
def count_segmentations(monkeypatch):
    """Number of images segmented (in this process) since the fixture started."""
    counts = {"images": 0}
    segment = superpixels_module._segment_images

    def counting(images, *args, **kwargs):
        counts["images"] += len(images)
        return segment(images, *args, **kwargs)

    monkeypatch.setattr(superpixels_module, "_segment_images", counting)
    return counts
