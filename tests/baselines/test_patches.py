import numpy as np
import pytest

from sklearn_p2p.baselines import PatchGridTransformer


@pytest.mark.parametrize("patch_size, n_regions", [(1, 24 * 24), (4, 36), (5, 25)])
def test_patch_grid_labels_are_contiguous_squares(tiny_data, patch_size, n_regions):
    Xt = PatchGridTransformer(patch_size=patch_size).fit_transform(tiny_data.images[:2])
    labels = Xt[..., -1].astype(int)
    assert Xt.dtype == np.float32 and Xt.shape == (2, 24, 24, 4)
    np.testing.assert_array_equal(np.unique(labels[0]), np.arange(n_regions))
    np.testing.assert_allclose(Xt[..., :3], tiny_data.images[:2] / 255.0, rtol=1e-6)
    # the patch of pixel (i, j) is determined by (i // p, j // p)
    assert labels[0, 0, patch_size - 1] == labels[0, patch_size - 1, 0] == 0
    assert labels[0, 0, min(patch_size, 23)] != 0 or patch_size >= 24


def test_p2p_over_patches_selects_whole_patches(tiny_data, make_p2p):
    model = make_p2p(superpixels=PatchGridTransformer(patch_size=4), max_epochs=1)
    model.fit(tiny_data.images, tiny_data.target)
    masks = model.explain(tiny_data.images[:5])
    blocks = masks.reshape(5, 6, 4, 6, 4)
    assert np.all(blocks.all(axis=(2, 4)) | ~blocks.any(axis=(2, 4)))


def test_patch_size_is_validated(tiny_data):
    with pytest.raises(ValueError, match="'patch_size' parameter"):
        PatchGridTransformer(patch_size=0).fit(tiny_data.images)
