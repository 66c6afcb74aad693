import numpy as np
import pytest

from sklearn_p2p.baselines import BlackboxClassifier, LimeBaseline, top_regions_mask

pytest.importorskip("lime")


def test_top_regions_mask_takes_best_regions_until_the_fraction_is_reached():
    segments = np.array([[0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3], [4, 4, 4, 4]])
    scores = np.array([0.1, 0.9, 0.5, 0.2, 0.0])
    # region 1 (2 px = 12.5%) first, then region 2 (4 px) reaches 37.5%
    mask = top_regions_mask(segments, scores, 0.3)
    np.testing.assert_array_equal(mask, np.isin(segments, [1, 2]))
    assert not top_regions_mask(segments, scores, 0.0).any()
    assert top_regions_mask(segments, scores, 1.0).all()


@pytest.fixture(scope="module")
def blackbox(tiny_data):
    from sklearn_p2p import SuperpixelTransformer

    return BlackboxClassifier(
        superpixels=SuperpixelTransformer(n_segments=16), max_epochs=3,
        batch_size=16, verbose=0, random_state=0,
    ).fit(tiny_data.images, tiny_data.target)


def test_lime_masks_follow_kept_fraction_and_superpixels(blackbox, tiny_data):
    X = tiny_data.images[:4]
    lime = LimeBaseline(blackbox, kept_fraction=[0.1, 0.3, 0.5, 0.7], num_samples=64, random_state=0)
    details = lime.explain(X, return_details=True)
    kept = details.masks.mean(axis=(1, 2))
    assert np.all(kept >= [0.1, 0.3, 0.5, 0.7])
    assert np.all(np.diff(kept) > 0)
    for mask, segments in zip(details.masks, details.segments):
        for region in np.unique(segments):
            inside = mask[segments == region]
            assert inside.all() or not inside.any()
    np.testing.assert_array_equal(details.y_pred, blackbox.predict(X))


def test_lime_is_reproducible_with_random_state(blackbox, tiny_data):
    X = tiny_data.images[:3]
    first = LimeBaseline(blackbox, num_samples=64, random_state=1).explain(X)
    second = LimeBaseline(blackbox, num_samples=64, random_state=1).explain(X)
    np.testing.assert_array_equal(first, second)
