import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils import Bunch

from sklearn_p2p.metrics import deletion_auc, fidelity_curve, insertion_auc

# 4x4 images split into four 2x2 quadrant regions, ids 0..3.
QUADRANTS = np.kron(np.arange(4).reshape(2, 2), np.ones((2, 2), dtype=int))
FRACTIONS = [0.0, 0.25, 0.5, 0.75, 1.0]


class KeyRegionStub:
    """Predicts class 1 iff every pixel of region ``key`` is shown.

    ``X`` holds the images' region label maps, so the stub works on any
    subset of the images. It records its calls.
    """

    def __init__(self, masks, region_probs, key=2, proba=None):
        self.masks = np.asarray(masks, dtype=bool)
        self.region_probs = np.asarray(region_probs, dtype=float)
        self.key = key
        self.proba = proba
        self.batch_sizes = []
        self.received_masks = []

    def explain(self, X, delta=None, return_details=True):
        details = Bunch(masks=self.masks, segments=np.asarray(X),
                        region_probs=self.region_probs)
        if self.proba is not None:
            details["proba"] = self.proba
        return details

    def predict_proba_masked(self, X, masks):
        self.batch_sizes.append(len(X))
        self.received_masks.append(np.array(masks))
        key_pixels = np.asarray(X) == self.key
        shown = ~(key_pixels & ~masks).any(axis=(1, 2))
        return np.stack([~shown, shown], axis=1).astype(float)


def _full(n=1):
    return np.ones((n, 4, 4), dtype=bool)


def _quadrants(n=1):
    return np.repeat(QUADRANTS[None], n, axis=0)


def test_insertion_and_deletion_hand_computed():
    # Ranking 0 > 1 > 2 > 3: the key region 2 arrives third.
    stub = KeyRegionStub(_full(), [[0.9, 0.8, 0.7, 0.6]])
    ins = fidelity_curve(stub, _quadrants(), kind="insertion", fractions=FRACTIONS)
    dele = fidelity_curve(stub, _quadrants(), kind="deletion", fractions=FRACTIONS)
    np.testing.assert_array_equal(ins.fidelity, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(dele.fidelity, [1, 1, 1, 0, 0])
    assert ins.auc == pytest.approx(0.375)
    assert dele.auc == pytest.approx(0.625)
    assert (ins.kind, dele.kind) == ("insertion", "deletion")
    np.testing.assert_array_equal(ins.fractions, FRACTIONS)
    assert insertion_auc(stub, _quadrants(), fractions=FRACTIONS) == ins.auc
    assert deletion_auc(stub, _quadrants(), fractions=FRACTIONS) == dele.auc


def test_curve_is_the_mean_over_images():
    # Image 1 ranks the key region first.
    probs = [[0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.9, 0.3]]
    stub = KeyRegionStub(_full(2), probs)
    ins = fidelity_curve(stub, _quadrants(2), kind="insertion", fractions=FRACTIONS)
    dele = fidelity_curve(stub, _quadrants(2), kind="deletion", fractions=FRACTIONS)
    np.testing.assert_allclose(ins.fidelity, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(dele.fidelity, [1, 0.5, 0.5, 0, 0])


def test_ties_are_broken_by_region_id():
    probs = [[0.5, 0.5, 0.5, 0.5]]
    late = KeyRegionStub(_full(), probs, key=3)
    early = KeyRegionStub(_full(), probs, key=0)
    fidelity = fidelity_curve(late, _quadrants(), fractions=FRACTIONS).fidelity
    np.testing.assert_array_equal(fidelity, [0, 0, 0, 0, 1])
    fidelity = fidelity_curve(early, _quadrants(), fractions=FRACTIONS).fidelity
    np.testing.assert_array_equal(fidelity, [0, 1, 1, 1, 1])


def test_only_the_explanation_pixels_take_part():
    # Kept regions {1, 2} (half the image), but the unkept region 0 has the
    # highest probability: it must neither be inserted nor use up area.
    masks = np.isin(_quadrants(), [1, 2])
    stub = KeyRegionStub(masks, [[0.95, 0.7, 0.8, 0.9]])
    ins = fidelity_curve(stub, _quadrants(), kind="insertion", fractions=FRACTIONS)
    dele = fidelity_curve(stub, _quadrants(), kind="deletion", fractions=FRACTIONS)
    np.testing.assert_array_equal(ins.fidelity, [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(dele.fidelity, [1, 0, 0, 0, 0])
    # Every mask shown is a subset of the explanation; from f = 0.5 (the
    # kept fraction) insertion shows x_m itself.
    for shown in stub.received_masks:
        assert not (shown & ~masks[[0] * len(shown)]).any()
    assert any(np.array_equal(shown[0], masks[0]) for shown in stub.received_masks)


def test_fidelity_is_against_the_models_own_prediction():
    # The key region is not kept: the model predicts class 0 from x_m, and
    # every masked input keeps that prediction, whatever the label is.
    masks = np.isin(_quadrants(), [0, 1])
    stub = KeyRegionStub(masks, [[0.9, 0.8, 0.1, 0.1]])
    for kind in ("insertion", "deletion"):
        curve = fidelity_curve(stub, _quadrants(), kind=kind, fractions=FRACTIONS)
        np.testing.assert_array_equal(curve.fidelity, 1)
        assert curve.auc == pytest.approx(1.0)


def test_reference_is_the_returned_prediction():
    # A model whose stated prediction (proba: class 0) is not what its
    # explanation gives (class 1) is unfaithful: even x_m itself disagrees.
    stub = KeyRegionStub(_full(), [[0.9, 0.8, 0.7, 0.6]], proba=[[0.8, 0.2]])
    curve = fidelity_curve(stub, _quadrants(), fractions=FRACTIONS)
    np.testing.assert_array_equal(curve.fidelity, [1, 1, 1, 0, 0])


def test_area_weighting_and_rounding():
    # 4x5 image: region 0 covers 3 pixels, region 1 the other 17.
    segments = np.ones((1, 4, 5), dtype=int)
    segments[0, 0, :3] = 0
    for key, probs, expected in [
        # Small region first; the key (big region) needs f > 3/20.
        (1, [[0.9, 0.1]], [0, 0, 0, 1, 1]),
        # Big region first: at any f > 0 it enters whole (17 of 20 pixels).
        (1, [[0.1, 0.9]], [0, 1, 1, 1, 1]),
    ]:
        stub = KeyRegionStub(np.ones((1, 4, 5), bool), probs, key=key)
        curve = fidelity_curve(stub, segments, fractions=[0, 0.05, 0.15, 0.2, 1])
        np.testing.assert_array_equal(curve.fidelity, expected)
    # 0.15 * 20 is 3.0000000000000004 in floating point: the 3-pixel region
    # reaches it, so the big one must not be added; 0.2 adds it (17 > 1 px).
    shown = np.concatenate(stub.received_masks).sum(axis=(1, 2))
    assert sorted(set(shown.tolist())) == [0, 17, 20]


def test_many_small_regions_enter_until_the_area_is_reached():
    # Region 0 is half the image (8 px); regions 1..8 one pixel each.
    segments = np.zeros((1, 4, 4), dtype=int)
    segments[0, 2:] = np.arange(1, 9).reshape(2, 4)
    probs = [[0.1] + [0.9 - 0.01 * j for j in range(8)]]  # small ones first
    stub = KeyRegionStub(np.ones((1, 4, 4), bool), probs, key=8)
    fractions = [0, 1 / 16, 7 / 16, 8 / 16, 9 / 16, 1]
    curve = fidelity_curve(stub, segments, fractions=fractions)
    # Region 8 (ranked 8th) arrives once 8 pixels are asked for.
    np.testing.assert_array_equal(curve.fidelity, [0, 0, 0, 1, 1, 1])
    shown = np.concatenate(stub.received_masks).sum(axis=(1, 2))
    assert sorted(set(shown.tolist())) == [0, 1, 7, 8, 16]


def test_inputs_are_batched_not_one_image_at_a_time():
    rng = np.random.default_rng(0)
    n = 8
    stub = KeyRegionStub(_full(n), rng.uniform(size=(n, 4)),
                         proba=np.tile([0.0, 1.0], (n, 1)))
    fractions = np.linspace(0, 1, 21)
    fidelity_curve(stub, _quadrants(n), fractions=fractions)
    # At most 5 distinct inputs per image (0..4 regions), sent in stacks of
    # up to n images: never more calls than fractions, never per image.
    assert len(stub.batch_sizes) <= len(fractions)
    assert sum(stub.batch_sizes) == n * 5
    assert max(stub.batch_sizes) == n


def test_empty_explanation_is_all_black_at_every_fraction():
    masks = np.zeros((3, 4, 4), dtype=bool)
    stub = KeyRegionStub(masks, np.ones((3, 4)), proba=np.tile([1.0, 0.0], (3, 1)))
    for kind in ("insertion", "deletion"):
        stub.received_masks.clear()
        curve = fidelity_curve(stub, _quadrants(3), kind=kind)
        # Black lacks the key region: class 0, as the stated prediction.
        np.testing.assert_array_equal(curve.fidelity, 1)
        # Every fraction shows the same black input: one call for all.
        assert len(stub.received_masks) == 1
        assert not stub.received_masks[0].any()


def test_details_without_proba_use_the_explanation_prediction():
    stub = KeyRegionStub(_full(), [[0.9, 0.8, 0.7, 0.6]])
    curve = fidelity_curve(stub, _quadrants(), fractions=FRACTIONS)
    np.testing.assert_array_equal(curve.fidelity, [0, 0, 0, 1, 1])
    # One extra call, on the explanation's own masks, gives the reference.
    np.testing.assert_array_equal(stub.received_masks[0], _full())


def test_precomputed_details_are_used():
    stub = KeyRegionStub(_full(), [[0.9, 0.8, 0.7, 0.6]])
    details = stub.explain(_quadrants())
    details["region_probs"] = np.array([[0.1, 0.2, 0.9, 0.3]])
    curve = fidelity_curve(stub, _quadrants(), fractions=FRACTIONS, details=details)
    np.testing.assert_array_equal(curve.fidelity, [0, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="delta"):
        fidelity_curve(stub, _quadrants(), details=details, delta=0.9)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(kind="both"), "kind"),
        (dict(fractions=[0.5]), "at least 2"),
        (dict(fractions=[[0, 1]]), "1-d"),
        (dict(fractions=[0, 1.5]), r"\[0, 1\]"),
        (dict(fractions=[0, np.nan]), r"\[0, 1\]"),
        (dict(fractions=[0, 0.5, 0.5, 1]), "increasing"),
        (dict(fractions=[1, 0]), "increasing"),
    ],
)
def test_bad_parameters_raise(params, match):
    stub = KeyRegionStub(_full(), [[0.9, 0.8, 0.7, 0.6]])
    with pytest.raises(ValueError, match=match):
        fidelity_curve(stub, _quadrants(), **params)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(masks=np.ones((2, 4, 4), bool)), "2 images but X has 1"),
        (dict(segments=np.zeros((1, 4, 5), int)), "segments"),
        (dict(segments=QUADRANTS[None] * 0.5), "integer"),
        (dict(region_probs=np.ones((1, 3))), r"outside \[0, 3\)"),
        (dict(region_probs=np.full((1, 4), np.nan)), "NaN"),
        (dict(region_probs=np.ones(4)), "region_probs"),
    ],
)
def test_bad_details_raise(change, match):
    stub = KeyRegionStub(_full(), [[0.9, 0.8, 0.7, 0.6]])
    details = stub.explain(_quadrants())
    details.update(change)
    with pytest.raises(ValueError, match=match):
        fidelity_curve(stub, _quadrants(), details=details)
    with pytest.raises(ValueError, match="lacks"):
        fidelity_curve(stub, _quadrants(), details=Bunch(masks=_full()))


def test_estimator_without_the_protocol_raises(tiny_data):
    with pytest.raises(TypeError, match="explain and predict_proba_masked"):
        fidelity_curve(LogisticRegression(), tiny_data.images)


# -- the real model -----------------------------------------------------------


def test_curves_of_the_fitted_model(fitted_p2p, tiny_data):
    X = tiny_data.images[:16]
    details = fitted_p2p.explain(X, return_details=True)
    ins = fidelity_curve(fitted_p2p, X, kind="insertion", details=details)
    dele = fidelity_curve(fitted_p2p, X, kind="deletion", details=details)
    for curve in (ins, dele):
        assert curve.fidelity.shape == (21,)
        assert ((curve.fidelity >= 0) & (curve.fidelity <= 1)).all()
        assert 0 <= curve.auc <= 1
    # x_m itself gives the model's prediction (P2P is faithful by design).
    saturated = ins.fractions >= details.kept_fraction.max()
    assert saturated.any()
    np.testing.assert_array_equal(ins.fidelity[saturated], 1.0)
    assert dele.fidelity[0] == 1.0
    # Computing the explanation internally gives the same curve.
    np.testing.assert_array_equal(
        fidelity_curve(fitted_p2p, X, kind="insertion").fidelity, ins.fidelity
    )


def test_curves_of_the_fitted_model_on_sparse_masks(fitted_p2p, tiny_data):
    # The small test model keeps most regions; keep the top third instead, as
    # a sparser explanation would, to exercise the region ranking.
    X = tiny_data.images[:16]
    details = fitted_p2p.explain(X, return_details=True)
    probs = details.region_probs
    cutoff = np.quantile(np.where(probs > 0, probs, np.nan), 2 / 3, axis=1)
    keep = probs >= cutoff[:, None]
    masks = np.take_along_axis(
        keep, details.segments.reshape(len(X), -1), axis=1
    ).reshape(details.masks.shape)
    details.update(masks=masks, proba=fitted_p2p.predict_proba_masked(X, masks))
    kept = masks.mean(axis=(1, 2))
    assert 0 < kept.max() < 0.9

    fractions = np.linspace(0, 1, 11)
    ins = fidelity_curve(fitted_p2p, X, kind="insertion", fractions=fractions,
                         details=details)
    dele = fidelity_curve(fitted_p2p, X, kind="deletion", fractions=fractions,
                          details=details)
    saturated = fractions >= kept.max()
    np.testing.assert_array_equal(ins.fidelity[saturated], 1.0)
    assert dele.fidelity[0] == 1.0
    # Past the kept fraction, deletion shows an all-black image (and insertion
    # at f = 0 too): both give the model's prediction on black.
    on_black = fitted_p2p.predict_proba_masked(X, np.zeros_like(masks)).argmax(1)
    agree_black = np.mean(on_black == details.proba.argmax(1))
    np.testing.assert_allclose(dele.fidelity[saturated], agree_black)
    assert ins.fidelity[0] == pytest.approx(agree_black)
