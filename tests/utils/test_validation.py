import numpy as np
import pytest

from sklearn_p2p.utils import (
    check_images,
    check_precomputed,
    make_labels_contiguous,
    pack_superpixels,
)


def _uint8_images(n=2, height=5, width=6, channels=3, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, size=(n, height, width, channels), dtype=np.uint8)


# check_images: accepted inputs


def test_uint8_scaled_to_float32_unit_range():
    X = _uint8_images()
    images = check_images(X)
    assert images.dtype == np.float32
    assert images.shape == X.shape
    assert images.flags.c_contiguous
    np.testing.assert_array_equal(images, (X / 255).astype(np.float32))


def test_float_input_kept_and_float64_downcast():
    X = _uint8_images() / 255.0
    images = check_images(X)
    assert images.dtype == np.float32
    np.testing.assert_array_equal(images, X.astype(np.float32))


def test_uint8_and_float_give_identical_values():
    # Segmentations of uint8 and float versions of one image can only agree
    # if validation maps both to the same float32 values.
    X = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    np.testing.assert_array_equal(check_images(X), check_images(X / 255.0))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16, np.int16])
def test_other_integer_dtypes_treated_like_uint8(dtype):
    X = _uint8_images()
    np.testing.assert_array_equal(check_images(X.astype(dtype)), check_images(X))


def test_bool_maps_to_zero_and_one():
    X = np.zeros((1, 3, 3), dtype=bool)
    X[0, 1, 1] = True
    images = check_images(X)
    assert images.dtype == np.float32
    assert images.shape == (1, 3, 3, 1)
    assert images.sum() == 1.0 and images[0, 1, 1, 0] == 1.0


def test_float16_accepted():
    X = np.full((1, 2, 2, 3), 0.5, dtype=np.float16)
    np.testing.assert_array_equal(check_images(X), np.full(X.shape, 0.5, np.float32))


def test_grayscale_gets_channel_axis():
    X = _uint8_images(channels=1)[..., 0]
    images = check_images(X)
    assert images.shape == X.shape + (1,)
    np.testing.assert_array_equal(images[..., 0], X / np.float32(255))


def test_tiny_square_grayscale_batch_is_not_mistaken_for_rgb():
    assert check_images(np.zeros((3, 3, 3))).shape == (3, 3, 3, 1)
    assert check_images(np.zeros((5, 4, 4))).shape == (5, 4, 4, 1)


def test_list_of_images_accepted():
    X = _uint8_images(n=3)
    np.testing.assert_array_equal(check_images(list(X)), check_images(X))


@pytest.mark.parametrize("X", [np.full((1, 2, 2, 3), 0.5, np.float32), _uint8_images()])
def test_returns_new_array_and_leaves_input_alone(X):
    X_before = X.copy()
    images = check_images(X)
    images[...] = 0.25
    np.testing.assert_array_equal(X, X_before)
    assert not np.shares_memory(images, X)


def test_fortran_ordered_input_returns_c_contiguous():
    X = np.asfortranarray(_uint8_images() / 255.0)
    images = check_images(X)
    assert images.flags.c_contiguous
    np.testing.assert_array_equal(images, X.astype(np.float32))


# check_images: errors


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((4, 4)), r"X must be a batch of images.*X\[np\.newaxis\]"),
        (np.zeros(5), r"X must be a batch of images.*shape \(5,\)"),
        (np.zeros((1, 2, 4, 4, 3)), r"5 dimension\(s\)"),
        (np.zeros((10, 12, 3)), r"single RGB image.*X\[np\.newaxis\]"),
        (np.zeros((10, 12, 4)), r"single RGBA image"),
        (np.zeros((1, 4, 4, 4)), r"4 channels.*X\[\.\.\., :3\]"),
        (np.zeros((1, 4, 4, 2)), r"2 channels.*channels in \{1, 3\}"),
        (np.zeros((0, 4, 4, 3)), r"0 images"),
        ([], r"0 images"),
        (np.zeros((1, 0, 4, 3)), r"at least one pixel"),
        (np.array([[[["a"]]]]), r"must hold real numbers.*dtype <U1"),
        (np.zeros((1, 2, 2, 3), dtype=complex), r"must hold real numbers"),
        (np.full((1, 2, 2, 3), np.nan), r"NaN or infinite"),
        (np.full((1, 2, 2, 3), np.inf), r"NaN or infinite"),
        (np.full((1, 2, 2, 3), 3.0), r"looks like 0-255 data.*divide by 255"),
        (np.full((1, 2, 2, 3), 1.0001), r"looks like 0-255 data"),
        (np.full((1, 2, 2, 3), -0.5), r"Negative values.*unnormalized.*value_range"),
        (np.full((1, 2, 2, 3), -1, dtype=np.int64), r"Negative values"),
        (np.full((1, 2, 2, 3), 256, dtype=np.int64), r"integer.*\[0, 255\]"),
    ],
)
def test_check_images_errors(X, match):
    with pytest.raises(ValueError, match=match):
        check_images(X)


def test_object_arrays_of_numbers_are_read_as_numbers():
    X = np.full((1, 2, 2), 0.5, dtype=object)
    np.testing.assert_array_equal(check_images(X), np.full((1, 2, 2, 1), 0.5, np.float32))
    X[0, 0, 0] = {"not": "a number"}
    with pytest.raises(TypeError, match=r"dtype object with entries that are not numbers"):
        check_images(X)


def test_sparse_input_is_rejected():
    import scipy.sparse

    with pytest.raises(TypeError, match=r"sparse matrix.*X\.toarray\(\)"):
        check_images(scipy.sparse.csr_matrix(np.zeros((2, 4))))


def test_nan_found_anywhere():
    X = np.zeros((3, 4, 4, 3))
    X[2, 3, 1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        check_images(X)


def test_list_of_different_sizes():
    X = [np.zeros((4, 4, 3)), np.zeros((4, 4, 3)), np.zeros((5, 4, 3))]
    with pytest.raises(ValueError, match=r"different sizes.*image 2.*resize"):
        check_images(X)


def test_input_name_in_messages():
    with pytest.raises(ValueError, match=r"X_test contains NaN"):
        check_images(np.full((1, 2, 2, 3), np.nan), input_name="X_test")
    with pytest.raises(ValueError, match=r"X_test\[\.\.\., :3\]"):
        check_images(np.zeros((1, 2, 2, 4)), input_name="X_test")


# check_precomputed / pack_superpixels


@pytest.mark.parametrize("channels", [1, 3])
def test_pack_then_check_precomputed_round_trip(channels):
    images = _uint8_images(channels=channels)
    segments = np.arange(2 * 5 * 6).reshape(2, 5, 6) % 7
    X = pack_superpixels(images, segments)
    assert X.dtype == np.float32
    assert X.shape == (2, 5, 6, channels + 1)
    images_back, segments_back = check_precomputed(X)
    assert images_back.dtype == np.float32
    assert segments_back.dtype == np.int64
    np.testing.assert_array_equal(images_back, check_images(images))
    np.testing.assert_array_equal(segments_back, segments)


def test_pack_superpixels_accepts_grayscale_without_channel_axis():
    X = pack_superpixels(np.zeros((2, 3, 3)), np.zeros((2, 3, 3), dtype=int))
    assert X.shape == (2, 3, 3, 2)


def test_large_label_ids_exact_in_float32():
    segments = np.zeros((1, 2, 2), dtype=np.int64)
    segments[0, 1, 1] = 2**24 - 1
    X = pack_superpixels(np.zeros((1, 2, 2, 3)), segments)
    # Ids are made contiguous, so the largest one becomes 1.
    _, back = check_precomputed(X)
    np.testing.assert_array_equal(back, [[[0, 0], [0, 1]]])


def test_check_precomputed_makes_ids_contiguous_keeping_regions():
    X = np.zeros((2, 2, 2, 4), dtype=np.float32)
    X[0, ..., -1] = [[3, 3], [7, 9]]
    X[1, ..., -1] = [[0, 1], [2, 3]]
    _, segments = check_precomputed(X)
    np.testing.assert_array_equal(segments[0], [[0, 0], [1, 2]])
    np.testing.assert_array_equal(segments[1], [[0, 1], [2, 3]])


def test_check_precomputed_does_not_modify_input():
    X = np.zeros((1, 2, 2, 2), dtype=np.float32)
    X[0, ..., -1] = [[4, 4], [8, 8]]
    X_before = X.copy()
    check_precomputed(X)
    np.testing.assert_array_equal(X, X_before)


@pytest.mark.parametrize("channels", [1, 3, 5])
def test_check_precomputed_rejects_raw_images(channels):
    with pytest.raises(ValueError, match=r"output of SuperpixelTransformer.*forget"):
        check_precomputed(np.zeros((1, 4, 4, channels)))


def test_check_precomputed_rejects_grayscale_without_channel_axis():
    with pytest.raises(ValueError, match=r"SuperpixelTransformer step"):
        check_precomputed(np.zeros((2, 4, 4)))


@pytest.mark.parametrize(
    "label, match",
    [
        (0.5, "non-integral"),
        (-1.0, "negative"),
        (np.nan, "NaN"),
        (np.inf, "non-integral"),
    ],
)
def test_check_precomputed_bad_labels(label, match):
    X = np.zeros((1, 2, 2, 4), dtype=np.float32)
    X[0, 1, 1, -1] = label
    with pytest.raises(ValueError, match=match):
        check_precomputed(X)


def test_check_precomputed_validates_image_part():
    X = np.zeros((1, 2, 2, 4), dtype=np.float32)
    X[0, 0, 0, 0] = 200.0
    with pytest.raises(ValueError, match="X_val .*0-255"):
        check_precomputed(X, input_name="X_val")


def test_pack_superpixels_errors():
    images = np.zeros((2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"segments must have shape.*\(2, 3, 3\)"):
        pack_superpixels(images, np.zeros((2, 3, 4), dtype=int))
    with pytest.raises(ValueError, match="non-integral"):
        pack_superpixels(images, np.full((2, 3, 3), 0.5))
    with pytest.raises(ValueError, match="negative"):
        pack_superpixels(images, np.full((2, 3, 3), -2))
    with pytest.raises(ValueError, match=r"2\*\*24"):
        pack_superpixels(images, np.full((2, 3, 3), 2**24))
    with pytest.raises(ValueError, match="integer superpixel labels"):
        pack_superpixels(images, np.zeros((2, 3, 3), dtype=bool))


def test_make_labels_contiguous_keeps_order_and_identity():
    segments = np.array([[[4, 2], [2, 9]], [[0, 1], [1, 0]]])
    out = make_labels_contiguous(segments)
    np.testing.assert_array_equal(out[0], [[1, 0], [0, 2]])
    np.testing.assert_array_equal(out[1], [[0, 1], [1, 0]])
    # The input is left alone when it needed changes ...
    assert segments[0, 0, 0] == 4
    # ... and returned as is when it did not.
    contiguous = segments[1:]
    assert make_labels_contiguous(contiguous) is contiguous


def test_make_labels_contiguous_matches_np_unique_per_image():
    # Images with gaps, without gaps, with few and with many ids, in one batch.
    rng = np.random.RandomState(0)
    segments = rng.choice([0, 3, 7, 50], size=(6, 5, 4))
    segments[1] = rng.randint(0, 3, size=(5, 4))
    segments[2] = np.arange(20).reshape(5, 4)
    segments[3] = 0
    out = make_labels_contiguous(segments)
    for original, relabelled in zip(segments, out):
        expected = np.unique(original, return_inverse=True)[1].reshape(original.shape)
        np.testing.assert_array_equal(relabelled, expected)
    assert out.dtype == segments.dtype
