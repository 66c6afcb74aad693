"""Flattened images (n, H*W*C) with ``image_shape``, and ``value_range``."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.utils import unflatten_images


@pytest.fixture(scope="module")
def digits():
    """120 of scikit-learn's 8x8 digits: float64 in [0, 16], flattened to 64."""
    data = load_digits(n_class=3)
    return data.data[:120], data.target[:120]


def _p2p(**params):
    defaults = dict(superpixels=SuperpixelTransformer(n_segments=16), max_epochs=2,
                    batch_size=32, random_state=0, verbose=0)
    return P2PClassifier(**{**defaults, **params})


def test_flat_digits_give_the_same_model_as_image_batches(digits):
    X, y = digits
    X_before = X.copy()
    flat = _p2p(image_shape=(8, 8), value_range=(0, 16)).fit(X, y)
    images = _p2p().fit(X.reshape(-1, 8, 8) / 16, y)
    np.testing.assert_array_equal(flat.predict_proba(X), images.predict_proba(X.reshape(-1, 8, 8) / 16))
    masks = flat.explain(X)
    assert masks.shape == (120, 8, 8)
    np.testing.assert_array_equal(masks, images.explain(X.reshape(-1, 8, 8) / 16))
    assert flat.n_features_in_ == 64 and not hasattr(images, "n_features_in_")
    np.testing.assert_array_equal(X, X_before)


def test_image_batches_still_accepted_when_image_shape_is_set(digits):
    X, y = digits
    model = _p2p(image_shape=(8, 8), value_range=(0, 16)).fit(X, y)
    np.testing.assert_array_equal(model.predict(X.reshape(-1, 8, 8)), model.predict(X))


def test_transformer_flattens_its_output_like_its_input(digits):
    X, _ = digits
    flat = SuperpixelTransformer(n_segments=16, image_shape=(8, 8), value_range=(0, 16))
    Xt = flat.fit_transform(X)
    assert Xt.shape == (120, 8 * 8 * 2)
    batch = SuperpixelTransformer(n_segments=16).fit_transform(X.reshape(-1, 8, 8) / 16)
    np.testing.assert_array_equal(Xt, batch.reshape(120, -1))
    assert flat.n_features_in_ == 64


def test_pipeline_on_flat_digits(digits):
    X, y = digits
    pipe = make_pipeline(
        SuperpixelTransformer(n_segments=16, image_shape=(8, 8), value_range=(0, 16)),
        _p2p(superpixels="precomputed", image_shape=(8, 8)),
    ).fit(X, y)
    direct = _p2p(image_shape=(8, 8), value_range=(0, 16)).fit(X, y)
    np.testing.assert_array_equal(pipe.predict_proba(X), direct.predict_proba(X))


@pytest.mark.parametrize(
    "image_shape, expected",
    [((8, 8), (3, 8, 8, 1)), ((-1, 4), (3, 16, 4, 1)), ((2, -1, 1), (3, 2, 32, 1)),
     ((4, -1, 1), (3, 4, 16, 1))],
)
def test_unflatten_infers_minus_one(image_shape, expected):
    assert unflatten_images(np.zeros((3, 64)), image_shape).shape == expected


def test_unflatten_rgb_is_channel_last():
    images = np.arange(2 * 4 * 4 * 3).reshape(2, 4, 4, 3)
    np.testing.assert_array_equal(unflatten_images(images.reshape(2, -1), (4, 4, 3)), images)


@pytest.mark.parametrize(
    "image_shape", [(8,), (8, 8, 2), (0, 8), (-1, -1), (-2, 8), (8.0, 8), "8x8", (True, 8)]
)
def test_bad_image_shape_parameter(digits, image_shape):
    X, y = digits
    match = r"The 'image_shape' parameter of P2PClassifier must be"
    with pytest.raises(ValueError, match=match):
        _p2p(image_shape=image_shape, value_range=(0, 16)).fit(X, y)
    match = r"The 'image_shape' parameter of SuperpixelTransformer must be"
    with pytest.raises(ValueError, match=match):
        SuperpixelTransformer(image_shape=image_shape).fit(X / 16)


def test_wrong_number_of_columns(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"64 values per row, but image_shape=\(7, 7\) needs 7x7x1 = 49"):
        _p2p(image_shape=(7, 7), value_range=(0, 16)).fit(X, y)
    with pytest.raises(ValueError, match=r"64 values per row.*multiple of 3"):
        _p2p(image_shape=(1, -1, 3), value_range=(0, 16)).fit(X, y)


def test_precomputed_flat_input_needs_the_label_channel(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"needs 8x8x2 = 128.*superpixel label channel"):
        _p2p(superpixels="precomputed", image_shape=(8, 8)).fit(X / 16, y)


def test_other_column_count_at_predict(digits):
    X, y = digits
    model = _p2p(image_shape=(-1, 8), value_range=(0, 16)).fit(X, y)
    with pytest.raises(ValueError, match="X has 56 features, but P2PClassifier is expecting 64"):
        model.predict(X[:, :56])


def test_image_errors_say_how_flat_rows_were_read(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"n_segments=100 is larger.*64 feature\(s\) per row, read as images of shape \(8, 8, 1\)"):
        _p2p(superpixels=None, image_shape=(8, 8), value_range=(0, 16)).fit(X, y)


def test_value_range_rescales_and_rejects_values_outside(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"values in \[0, 16\], outside value_range=\(0, 8\)"):
        _p2p(image_shape=(8, 8), value_range=(0, 8)).fit(X, y)
    for bad in [(16, 0), (0, np.inf), (0, 8, 16), ("0", "16"), 16]:
        with pytest.raises(ValueError, match=r"The 'value_range' parameter of P2PClassifier must be"):
            _p2p(image_shape=(8, 8), value_range=bad).fit(X, y)
        with pytest.raises(ValueError, match=r"The 'value_range' parameter of SuperpixelTransformer"):
            SuperpixelTransformer(value_range=bad).fit(X.reshape(-1, 8, 8))
    with pytest.raises(ValueError, match="value_range cannot be used with superpixels='precomputed'"):
        _p2p(superpixels="precomputed", value_range=(0, 1)).fit(np.zeros((4, 8, 8, 2)), [0, 1, 0, 1])
    Xt = SuperpixelTransformer(n_segments=4, value_range=(-1, 1)).fit_transform(np.zeros((2, 8, 8)))
    np.testing.assert_allclose(Xt[..., 0], 0.5)


def test_float_0_255_message_suggests_value_range(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"looks like 0-255 data.*value_range=\(0, 255\)"):
        _p2p(image_shape=(8, 8)).fit(X * 10, y)
