"""A new method needs only its network: the shared base does the rest.

The estimators of the related methods (ERSM, S-IB, adversarial training)
read plain images, without superpixels; this checks that the base serves
such a classifier as it serves P2P: arrays, Datasets, labels, masks, clone,
pickle.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_p2p._image_classifier import ImageClassifier
from sklearn_p2p.nn import MaskedClassifier


class _LinearOnPixels(MaskedClassifier):
    """A masked classifier whose forward reads channel-last images."""

    def forward(self, X):
        image = X.permute(0, 3, 1, 2)
        return self.classify_pixels(self.normalize(image), torch.ones_like(image[:, 0]))


class PlainImageClassifier(ImageClassifier):
    """An image classifier without regions, as the related methods are."""

    def __init__(self, module=_LinearOnPixels, *, image_shape=None, value_range=None,
                 random_state=None, device="auto", **kwargs):
        super().__init__(module, image_shape=image_shape, value_range=value_range,
                         random_state=random_state, device=device, **kwargs)

    def initialize_module(self):
        self.module_ = self.initialized_instance(self.module, {
            "n_classes": len(self.classes_), "in_chans": self.n_channels_,
            **self.get_params_for("module")})
        return self


class _Items(torch.utils.data.Dataset):
    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index], self.labels[index]


@pytest.fixture
def plain(tiny_data, string_labels):
    clf = PlainImageClassifier(max_epochs=2, batch_size=16, random_state=0, verbose=0)
    return clf.fit(tiny_data.images, string_labels)


def test_a_classifier_without_regions_reads_images_alone(plain, tiny_data, string_labels):
    assert not hasattr(plain, "superpixels_")
    assert plain.classes_.tolist() == sorted(set(string_labels))
    # The network reads the 3 image channels, without a label map.
    assert plain._inference_input(tiny_data.images[:2]).shape == (2, 24, 24, 3)
    proba = plain.predict_proba(tiny_data.images)
    assert proba.shape == (len(tiny_data.images), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    masks = np.ones(tiny_data.images.shape[:3], dtype=bool)
    np.testing.assert_allclose(plain.predict_proba_masked(tiny_data.images, masks), proba,
                               atol=1e-6)
    # Reading a Dataset of the same images gives the same answers.
    items = _Items(list(tiny_data.images), list(string_labels))
    np.testing.assert_allclose(plain.predict_proba(items), proba, atol=1e-6)
    lazy = clone(plain).fit(items, string_labels)
    np.testing.assert_allclose(lazy.predict_proba(tiny_data.images), proba, atol=1e-6)


def test_the_base_keeps_the_input_contract(plain, tiny_data):
    with pytest.raises(ValueError, match=r"shape \(12, 12\).*fitted on images of shape"):
        plain.predict(tiny_data.images[:, :12, :12])
    with pytest.raises(ValueError, match="Negative values"):
        plain.predict(tiny_data.images.astype(float) - 1)
    restored = pickle.loads(pickle.dumps(plain))
    np.testing.assert_array_equal(restored.predict(tiny_data.images), plain.predict(tiny_data.images))
    assert clone(plain).get_params()["device"] == "auto"
