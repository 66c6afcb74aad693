import numpy as np
import pytest

from sklearn_p2p.metrics import (
    kept_fraction_score,
    localization_score,
    mask_iou_score,
    object_fraction,
)


def _masks(*pixel_lists, shape=(4, 4)):
    """Stack of masks, each True at the given flat pixel indices."""
    masks = np.zeros((len(pixel_lists),) + shape, dtype=bool)
    for mask, pixels in zip(masks, pixel_lists):
        mask.flat[list(pixels)] = True
    return masks


@pytest.mark.parametrize("metric", [localization_score, mask_iou_score])
def test_perfect_and_disjoint(metric):
    truth = _masks([0, 1, 2], [5, 6])
    assert metric(truth, truth) == 1.0
    assert metric(_masks([3, 4], [0, 15]), truth) == 0.0


def test_partial_overlap_hand_computed():
    truth = _masks([0, 1, 2, 3, 4, 5], [0, 1])
    pred = _masks([0, 1, 2, 10], [1, 2, 3, 4, 5])
    # Image 0: 3 of 4 kept pixels on the object; image 1: 1 of 5.
    assert localization_score(pred, truth) == pytest.approx((3 / 4 + 1 / 5) / 2)
    # IoU: 3 / |{0..5, 10}| = 3/7 and 1 / |{0..5}| = 1/6.
    assert mask_iou_score(pred, truth) == pytest.approx((3 / 7 + 1 / 6) / 2)


def test_localization_does_not_ask_for_coverage():
    # One pixel inside a large object is a perfectly localized (minimal)
    # explanation; IoU, which wants coverage, is low.
    truth = _masks(range(8))
    pred = _masks([3])
    assert localization_score(pred, truth) == 1.0
    assert mask_iou_score(pred, truth) == pytest.approx(1 / 8)


def test_empty_predicted_mask_scores_empty_score():
    truth = _masks([0, 1], [0, 1])
    pred = _masks([], [0, 1])
    assert localization_score(pred, truth) == pytest.approx(0.5)
    assert localization_score(pred, truth, empty_score=1.0) == 1.0
    # Only the prediction is empty: the union is not, the IoU is simply 0.
    assert mask_iou_score(pred, truth) == pytest.approx(0.5)


def test_iou_both_empty_scores_empty_score():
    empty = _masks([])
    assert mask_iou_score(empty, empty) == 1.0
    assert mask_iou_score(empty, empty, empty_score=0.0) == 0.0
    # Empty object, non-empty explanation: nothing of it is on the object.
    assert localization_score(_masks([2]), empty) == 0.0


def test_numeric_binary_masks_are_accepted():
    truth = _masks([0, 1, 2, 3])
    pred = _masks([2, 3, 4, 5])
    expected = localization_score(pred, truth)
    assert localization_score(pred.astype(np.uint8), truth.astype(float)) == expected


@pytest.mark.parametrize(
    "pred, match",
    [
        (np.zeros((2, 4, 4), dtype=bool), r"same shape"),
        (np.zeros((1, 5, 4), dtype=bool), r"same shape"),
        (np.zeros((4, 4), dtype=bool), r"mask\[np.newaxis\]"),
        (np.zeros((0, 4, 4), dtype=bool), r"0 masks"),
        (np.full((1, 4, 4), 0.5), r"binary"),
        (np.full((1, 4, 4), 255, dtype=np.uint8), r"binary"),
        (np.full((1, 4, 4), np.nan), r"binary"),
        (np.full((1, 4, 4), "a"), r"dtype"),
    ],
)
@pytest.mark.parametrize("metric", [localization_score, mask_iou_score])
def test_bad_masks_raise(metric, pred, match):
    with pytest.raises(ValueError, match=match):
        metric(pred, _masks([0]))


@pytest.mark.parametrize("empty_score", [-0.1, 1.5, "0", None, True])
def test_bad_empty_score_raises(empty_score):
    with pytest.raises(ValueError, match="empty_score"):
        localization_score(_masks([0]), _masks([0]), empty_score=empty_score)


def test_object_fraction_is_chance_localization():
    truth = _masks(range(4), range(8))
    assert object_fraction(truth) == pytest.approx((4 / 16 + 8 / 16) / 2)
    # Averaged over all single-pixel masks, localization equals the
    # object's share of the image.
    scores = [localization_score(_masks([p], [p]), truth) for p in range(16)]
    assert np.mean(scores) == pytest.approx(object_fraction(truth))


def test_kept_fraction_score():
    assert kept_fraction_score(_masks([0, 1, 2, 3], range(16))) == pytest.approx(0.625)
    with pytest.raises(ValueError, match="masks"):
        kept_fraction_score(np.zeros((4, 4), dtype=bool))
