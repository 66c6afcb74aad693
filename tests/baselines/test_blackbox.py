import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_p2p.baselines import BlackboxClassifier
from sklearn_p2p.nn.baselines import evenly_spaced_mask


@pytest.mark.parametrize("fraction", [0.05, 0.25, 0.5, 0.8, 1.0])
def test_evenly_spaced_mask_has_the_requested_density(fraction):
    mask = evenly_spaced_mask(64, 64, fraction)
    assert mask.float().mean().item() == pytest.approx(fraction, abs=1 / 64)


def test_evenly_spaced_mask_spreads_pixels_over_every_8x8_block():
    mask = evenly_spaced_mask(32, 32, 0.25)
    blocks = mask.view(4, 8, 4, 8).sum(dim=(1, 3))
    assert torch.all(blocks == 16)
    # no empty rows or columns in a block at 25%: no stripes
    assert mask[:8, :8].any(dim=0).sum() == 4 and mask[:8, :8].any(dim=1).sum() == 4


def _test_params(make_p2p):
    """The test-sized settings of the shared P2P factory, minus its network."""
    params = make_p2p().get_params(deep=False)
    params.pop("module")
    return params


def test_blackbox_sees_full_images(tiny_data, make_p2p):
    model = BlackboxClassifier(**_test_params(make_p2p)).set_params(max_epochs=2)
    model.fit(tiny_data.images, tiny_data.target)
    details = model.explain(tiny_data.images[:6], return_details=True)
    assert details.masks.all()
    np.testing.assert_allclose(details.tau, 1.0)
    np.testing.assert_allclose(model.predict_proba(tiny_data.images[:6]), details.proba, rtol=1e-5)
    assert not hasattr(model.module_, "selector")


def test_blackbox_pixel_always_sees_the_same_sparse_pattern(tiny_data, make_p2p):
    model = BlackboxClassifier(kept_fraction=0.25, **_test_params(make_p2p)).set_params(max_epochs=1)
    model.fit(tiny_data.images, tiny_data.target)
    masks = model.explain(tiny_data.images[:4])
    assert np.all(masks == masks[0])
    assert masks.mean() == pytest.approx(0.25, abs=0.02)
    # the prediction only depends on the kept pixels
    X = tiny_data.images[:4].copy()
    X[~masks] = 255 - X[~masks]
    np.testing.assert_allclose(model.predict_proba(X), model.predict_proba(tiny_data.images[:4]), rtol=1e-5)


def test_blackbox_kept_fraction_is_validated(tiny_data):
    with pytest.raises(ValueError, match="'kept_fraction' parameter of BlackboxClassifier"):
        BlackboxClassifier(kept_fraction=1.5, verbose=0).fit(tiny_data.images, tiny_data.target)
    assert clone(BlackboxClassifier(kept_fraction=0.3)).kept_fraction == 0.3
