"""Bad input to P2PClassifier fails before any torch work, naming the fix."""

import numpy as np
import pytest

from sklearn_p2p import P2PClassifier


@pytest.fixture
def images(tiny_data):
    return tiny_data.images[:12]


def test_x_y_length_mismatch(images, make_p2p):
    with pytest.raises(ValueError, match="12 images but 5 labels"):
        make_p2p().fit(images, np.zeros(5))


def test_single_class(images, make_p2p):
    with pytest.raises(ValueError, match="single class"):
        make_p2p().fit(images, np.ones(12))


def test_unknown_backbone_lists_close_names(images, make_p2p):
    with pytest.raises(ValueError, match="Unknown backbone 'resnet81'.*resnet18"):
        make_p2p(classifier="resnet81").fit(images, np.arange(12) % 2)


def test_negative_lambda1_uses_sklearn_message(images, make_p2p):
    with pytest.raises(ValueError, match="The 'lambda1' parameter of P2PClassifier must be"):
        make_p2p(lambda1=-1).fit(images, np.arange(12) % 2)


def test_threshold_must_be_dynamic_or_in_unit_interval(images, make_p2p):
    with pytest.raises(ValueError, match="'threshold' parameter"):
        make_p2p(threshold=1.5).fit(images, np.arange(12) % 2)


def test_explain_rejects_bad_delta(fitted_p2p, images):
    with pytest.raises(ValueError, match="'delta' parameter"):
        fitted_p2p.explain(images, delta=1.5)


def test_other_image_size_at_predict(fitted_p2p, images):
    with pytest.raises(ValueError, match="fitted on"):
        fitted_p2p.predict(images[:, :16, :16])


def test_unknown_label_in_partial_fit(fitted_p2p, images):
    import pickle

    model = pickle.loads(pickle.dumps(fitted_p2p))
    with pytest.raises(ValueError, match="not among the classes"):
        model.partial_fit(images, np.array(["unseen"] * 12))


def test_inputs_are_not_modified(images, make_p2p):
    X = images.copy()
    y = np.arange(12) % 2
    y_copy = y.copy()
    model = make_p2p(max_epochs=1).fit(X, y)
    model.explain(X)
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, y_copy)


def test_precomputed_input_without_label_channel(images):
    with pytest.raises(ValueError, match="SuperpixelTransformer"):
        P2PClassifier(superpixels="precomputed", verbose=0).fit(images, np.arange(12) % 2)


def test_masks_passed_to_fit_get_a_routing_hint(images, make_p2p):
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['masks'\].*enable_metadata_routing"):
        make_p2p().fit(images, np.arange(12) % 2, masks=np.zeros((12, 24, 24), bool))
