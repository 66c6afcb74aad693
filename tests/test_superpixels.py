import joblib
import numpy as np
import pytest
from joblib import parallel_config
from scipy.ndimage import gaussian_filter
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_p2p import P2PClassifier, _superpixels
from sklearn_p2p._superpixels import SuperpixelTransformer, segment_images
from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.utils import check_images, check_precomputed


@pytest.fixture(params=["skimage", "fast-slic"])
def backend(request):
    if request.param == "fast-slic":
        pytest.importorskip("fast_slic")
    return request.param


def smooth_images(n=3, size=32, channels=3, seed=0):
    """uint8 images with blobs of colour, which SLIC segments meaningfully."""
    rng = np.random.RandomState(seed)
    noise = rng.rand(n, size, size, channels)
    blobs = gaussian_filter(noise, sigma=(0, size / 12, size / 12, 0))
    blobs -= blobs.min(axis=(1, 2, 3), keepdims=True)
    blobs /= blobs.max(axis=(1, 2, 3), keepdims=True)
    return (blobs * 255).astype(np.uint8)


def assert_valid_label_maps(labels):
    """Ids 0..D-1 with every id used, for each image."""
    assert np.all(labels == np.round(labels))
    for label_map in labels.astype(np.int64):
        ids = np.unique(label_map)
        np.testing.assert_array_equal(ids, np.arange(len(ids)))


def n_segments_per_image(Xt):
    return Xt[..., -1].reshape(len(Xt), -1).max(axis=1) + 1


def test_output_format_and_image_part(backend):
    X = smooth_images()
    Xt = SuperpixelTransformer(n_segments=16, backend=backend).fit_transform(X)
    assert Xt.dtype == np.float32
    assert Xt.shape == X.shape[:3] + (4,)
    np.testing.assert_array_equal(Xt[..., :3], check_images(X))
    assert_valid_label_maps(Xt[..., -1])
    assert np.all(n_segments_per_image(Xt) > 1)


def test_output_is_valid_precomputed_input(backend):
    X = smooth_images()
    Xt = SuperpixelTransformer(n_segments=16, backend=backend).fit_transform(X)
    images, segments = check_precomputed(Xt)
    np.testing.assert_array_equal(images, check_images(X))
    np.testing.assert_array_equal(segments, Xt[..., -1])


def test_grayscale_matches_rgb_replica(backend):
    # Grayscale is segmented as equal RGB channels, so compactness means the
    # same thing for both kinds of image.
    gray = smooth_images(channels=1)[..., 0]
    st = SuperpixelTransformer(n_segments=16, backend=backend)
    Xt_gray = st.fit_transform(gray)
    assert Xt_gray.shape == gray.shape + (2,)
    assert st.n_channels_ == 1
    assert_valid_label_maps(Xt_gray[..., -1])
    Xt_rgb = clone(st).fit_transform(np.repeat(gray[..., None], 3, axis=-1))
    np.testing.assert_array_equal(Xt_gray[..., -1], Xt_rgb[..., -1])
    Xt_gray_c1 = clone(st).fit_transform(gray[..., None])
    np.testing.assert_array_equal(Xt_gray_c1, Xt_gray)


@pytest.mark.parametrize("value", [0, 128, 255])
def test_flat_image_gives_valid_map(backend, value):
    X = np.full((2, 16, 16, 3), value, dtype=np.uint8)
    Xt = SuperpixelTransformer(n_segments=10, backend=backend).fit_transform(X)
    assert_valid_label_maps(Xt[..., -1])


@pytest.mark.parametrize(
    "shape, n_segments", [((1, 1), 1), ((2, 2), 4), ((1, 9), 3), ((5, 7), 35)]
)
def test_tiny_images(backend, shape, n_segments):
    X = smooth_images(n=2, size=16)[:, : shape[0], : shape[1]]
    Xt = SuperpixelTransformer(n_segments=n_segments, backend=backend).fit_transform(X)
    assert Xt.shape == (2,) + shape + (4,)
    labels = Xt[..., -1]
    assert_valid_label_maps(labels)
    assert np.all(n_segments_per_image(Xt) <= shape[0] * shape[1])


def _gappy_labels(height, width):
    """A label map with unused ids, as a SLIC implementation may return."""
    labels = np.zeros((height, width), dtype=np.int16)
    labels[:, width // 2 :] = 5
    labels[height // 2 :, :] = 9
    return labels


def test_non_contiguous_backend_ids_are_relabelled(monkeypatch):
    class FakeSlic:
        def __init__(self, num_components, compactness, num_threads):
            pass

        def iterate(self, image):
            assert image.dtype == np.uint8 and image.shape[-1] == 3
            assert image.flags.c_contiguous
            return _gappy_labels(*image.shape[:2])

    monkeypatch.setattr(_superpixels, "_fast_slic_class", lambda: FakeSlic)
    X = smooth_images(n=2, size=8, channels=1)
    Xt = SuperpixelTransformer(n_segments=8, backend="fast-slic").fit_transform(X)
    assert_valid_label_maps(Xt[..., -1])
    np.testing.assert_array_equal(np.unique(Xt[..., -1]), [0, 1, 2])


def test_non_contiguous_skimage_ids_are_relabelled(monkeypatch):
    import skimage.segmentation

    monkeypatch.setattr(
        skimage.segmentation,
        "slic",
        lambda image, **kwargs: _gappy_labels(*image.shape[:2]),
    )
    X = smooth_images(n=2, size=8)
    Xt = SuperpixelTransformer(n_segments=8, backend="skimage").fit_transform(X)
    np.testing.assert_array_equal(np.unique(Xt[..., -1]), [0, 1, 2])


def test_uint8_and_float_input_same_output(backend):
    X = smooth_images()
    st = SuperpixelTransformer(n_segments=16, backend=backend)
    np.testing.assert_array_equal(st.fit_transform(X), st.fit_transform(X / 255.0))
    np.testing.assert_array_equal(
        st.fit_transform(X), st.fit_transform((X / 255.0).astype(np.float32))
    )


def test_more_segments_requested_more_returned(backend):
    X = smooth_images(n=4)
    means = [
        n_segments_per_image(
            SuperpixelTransformer(n_segments=n, backend=backend).fit_transform(X)
        ).mean()
        for n in (4, 16, 64)
    ]
    assert means[0] < means[1] < means[2]
    # "Roughly tracks": within a factor of two of what was asked.
    assert 32 <= means[2] <= 128


def test_compactness_is_used(backend):
    X = smooth_images(n=2)
    low = SuperpixelTransformer(n_segments=16, compactness=1.0, backend=backend)
    high = clone(low).set_params(compactness=200.0)
    assert not np.array_equal(low.fit_transform(X), high.fit_transform(X))


def test_input_not_modified(backend):
    for X in (smooth_images(), smooth_images() / np.float32(255)):
        X_before = X.copy()
        Xt = SuperpixelTransformer(n_segments=8, backend=backend).fit_transform(X)
        np.testing.assert_array_equal(X, X_before)
        assert not np.shares_memory(X, Xt)


def test_labels_independent_of_order_and_batch(backend):
    # fast-slic models keep their clusters between calls; reusing one across
    # images would make an image's labels depend on the image before it.
    X = smooth_images(n=4)
    st = SuperpixelTransformer(n_segments=16, backend=backend).fit(X)
    Xt = st.transform(X)
    np.testing.assert_array_equal(st.transform(X[::-1]), Xt[::-1])
    np.testing.assert_array_equal(st.transform(X[2:3]), Xt[2:3])


def test_n_jobs_gives_identical_labels(backend, monkeypatch):
    # Force the chunked parallel path on a tiny batch; threads keep the test
    # fast while exercising splitting and reassembly of the chunks.
    monkeypatch.setattr(
        _superpixels, "_MIN_PIXELS_PER_CHUNK", {"fast-slic": 1, "skimage": 1}
    )
    X = smooth_images(n=5)
    expected = SuperpixelTransformer(n_segments=16, backend=backend).fit_transform(X)
    with parallel_config(backend="threading"):
        Xt = SuperpixelTransformer(
            n_segments=16, backend=backend, n_jobs=2
        ).fit_transform(X)
    np.testing.assert_array_equal(Xt, expected)


def test_small_batches_skip_worker_processes(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a tiny batch should not start joblib workers")

    monkeypatch.setattr(_superpixels, "Parallel", fail)
    X = smooth_images(n=4, size=16)
    st = SuperpixelTransformer(n_segments=8, backend="skimage", n_jobs=2)
    Xt = st.fit_transform(X)
    assert Xt.shape == (4, 16, 16, 4)


def test_fit_attributes(backend):
    X = smooth_images(n=2, size=16)[:, :, :12]
    st = SuperpixelTransformer(n_segments=8, backend=backend)
    assert st.fit(X) is st
    assert st.backend_ == backend
    assert st.n_channels_ == 3
    assert st.image_shape_ == (16, 12)


def test_auto_backend_resolution():
    try:
        import fast_slic  # noqa: F401

        expected = "fast-slic"
    except ImportError:
        expected = "skimage"
    X = smooth_images(n=1, size=16)
    assert SuperpixelTransformer().fit(X).backend_ == expected


def test_missing_fast_slic(monkeypatch):
    X = smooth_images(n=1, size=16)
    monkeypatch.setattr(_superpixels, "_fast_slic_class", lambda: None)
    assert SuperpixelTransformer(n_segments=8).fit(X).backend_ == "skimage"
    with pytest.raises(ImportError, match="pip install --no-build-isolation"):
        SuperpixelTransformer(n_segments=8, backend="fast-slic").fit(X)


def test_fitted_fast_slic_falls_back_when_uninstalled(monkeypatch):
    pytest.importorskip("fast_slic")
    X = smooth_images(n=1, size=16)
    st = SuperpixelTransformer(n_segments=8).fit(X)
    explicit = SuperpixelTransformer(n_segments=8, backend="fast-slic").fit(X)
    monkeypatch.setattr(_superpixels, "_fast_slic_class", lambda: None)
    with pytest.warns(UserWarning, match="falling back to scikit-image"):
        Xt = st.transform(X)
    assert_valid_label_maps(Xt[..., -1])
    with pytest.raises(ImportError, match="fast-slic"):
        explicit.transform(X)


def test_clone_and_params():
    st = SuperpixelTransformer(
        n_segments=7, compactness=3.5, backend="skimage", n_jobs=2, verbose=1,
        image_shape=(4, 4), value_range=(0, 255),
    )
    params = st.get_params()
    assert params == {
        "n_segments": 7,
        "compactness": 3.5,
        "backend": "skimage",
        "n_jobs": 2,
        "verbose": 1,
        "image_shape": (4, 4),
        "value_range": (0, 255),
        "memory": None,
    }
    cloned = clone(st)
    assert cloned is not st and cloned.get_params() == params
    assert not hasattr(clone(st.fit(smooth_images(n=1))), "backend_")
    assert st.set_params(n_segments=9).n_segments == 9


def test_in_pipeline_and_grid_search():
    X = smooth_images(n=8, size=16)
    y = np.array([0, 1] * 4)
    pipe = make_pipeline(
        SuperpixelTransformer(backend="skimage"),
        FunctionTransformer(lambda Xt: Xt.reshape(len(Xt), -1)),
        LogisticRegression(),
    )
    search = GridSearchCV(
        pipe, {"superpixeltransformer__n_segments": [4, 8]}, cv=2
    ).fit(X, y)
    assert search.best_params_["superpixeltransformer__n_segments"] in (4, 8)
    assert search.predict(X).shape == (8,)
    Xt = pipe.fit(X, y)[0].transform(X)
    assert Xt.shape == (8, 16, 16, 4)


def test_transform_other_image_size(backend):
    st = SuperpixelTransformer(n_segments=8, backend=backend)
    st.fit(smooth_images(size=16))
    Xt = st.transform(smooth_images(size=32))
    assert Xt.shape == (3, 32, 32, 4)
    assert_valid_label_maps(Xt[..., -1])


def test_segment_images_matches_transformer(backend):
    X = smooth_images()
    segments = segment_images(
        X / 255.0, n_segments=16, compactness=20.0, backend=backend
    )
    assert segments.dtype == np.int64
    assert segments.shape == X.shape[:3]
    Xt = SuperpixelTransformer(n_segments=16, backend=backend).fit_transform(X)
    np.testing.assert_array_equal(segments, Xt[..., -1])


def test_backends_differ_but_both_valid():
    pytest.importorskip("fast_slic")
    X = smooth_images()
    a = segment_images(X, n_segments=16, backend="fast-slic")
    b = segment_images(X, n_segments=16, backend="skimage")
    assert_valid_label_maps(a)
    assert_valid_label_maps(b)
    assert not np.array_equal(a, b)


# caching


@pytest.fixture
def segmentations(monkeypatch):
    """Record every batch the backends segment, as (n_images, hash) pairs.

    Patching the callee is enough: joblib's cache key holds the code of the
    cached ``_segment_images``, not of the functions it calls.
    """
    calls = []
    segment_chunk = _superpixels._segment_chunk

    def counting(images, *args, **kwargs):
        calls.append((len(images), joblib.hash(np.ascontiguousarray(images))))
        return segment_chunk(images, *args, **kwargs)

    monkeypatch.setattr(_superpixels, "_segment_chunk", counting)
    return calls


@pytest.mark.parametrize("memory_type", ["path", "Memory"])
def test_memory_gives_identical_output(backend, memory_type, tmp_path):
    if memory_type == "path":
        memory = str(tmp_path)
    else:
        memory = joblib.Memory(tmp_path, verbose=0)
    X = smooth_images(n=4, size=16)
    expected = SuperpixelTransformer(n_segments=16, backend=backend).fit_transform(X)
    st = SuperpixelTransformer(n_segments=16, backend=backend, memory=memory)
    first = st.fit_transform(X)  # computed and stored
    second = st.transform(X)  # loaded from the cache
    for Xt in (first, second):
        assert Xt.dtype == np.float32
        np.testing.assert_array_equal(Xt, expected)
    assert any(tmp_path.iterdir())
    for _ in range(2):
        segments = segment_images(X, n_segments=16, backend=backend, memory=memory)
        assert segments.dtype == np.int64
        np.testing.assert_array_equal(segments, expected[..., -1])


def test_memory_reuses_label_maps(segmentations, tmp_path):
    X = smooth_images(n=3, size=16)
    st = SuperpixelTransformer(n_segments=16, memory=str(tmp_path))
    st.fit_transform(X)
    assert len(segmentations) == 1
    st.transform(X)
    st.transform(X / 255.0)  # the same images as floats: the same key
    # n_jobs and verbose do not change the label maps, so are not in the key.
    clone(st).set_params(n_jobs=2, verbose=1).fit_transform(X)
    segment_images(X, n_segments=16, memory=str(tmp_path))
    assert len(segmentations) == 1
    st.transform(X[:2])  # another batch, even a subset, is segmented anew
    assert len(segmentations) == 2
    st.transform(smooth_images(n=3, size=16, seed=1))
    assert len(segmentations) == 3
    clone(st).set_params(n_segments=8).fit_transform(X)
    assert len(segmentations) == 4
    clone(st).set_params(compactness=5.0).fit_transform(X)
    assert len(segmentations) == 5
    SuperpixelTransformer(n_segments=16).fit_transform(X)  # no memory
    assert len(segmentations) == 6


def test_memory_key_holds_the_library_versions(segmentations, tmp_path, monkeypatch):
    # An upgrade of the SLIC library (or of this package) must not load label
    # maps that the old code computed.
    X = smooth_images(n=2, size=16)
    st = SuperpixelTransformer(n_segments=16, memory=str(tmp_path))
    st.fit_transform(X)
    st.transform(X)
    assert len(segmentations) == 1
    versions = _superpixels._library_versions(st.backend_)
    assert set(versions) == {"sklearn_p2p", "fast-slic"} and all(versions.values())
    monkeypatch.setattr(_superpixels, "_library_versions",
                        lambda backend: dict(versions, **{"fast-slic": "99.0"}))
    st.transform(X)
    assert len(segmentations) == 2


def test_memory_survives_clone(tmp_path):
    # P2PClassifier clones its superpixels in fit, and GridSearchCV clones
    # the classifier: both must pass the memory on.
    path = str(tmp_path)
    memory = joblib.Memory(tmp_path, verbose=0)
    assert clone(SuperpixelTransformer(memory=path)).memory == path
    cloned = clone(SuperpixelTransformer(memory=memory)).memory
    assert cloned.location == memory.location
    clf = clone(P2PClassifier(superpixels=SuperpixelTransformer(memory=path)))
    assert clf.get_params()["superpixels__memory"] == path


def test_fit_segments_the_training_data_once_not_per_epoch(segmentations, make_p2p):
    data = make_cluttered_objects(n_samples=20, image_size=16, random_state=0)
    clf = make_p2p(superpixels=SuperpixelTransformer(n_segments=16), max_epochs=3)
    clf.fit(data.images, data.target)
    assert len(clf.history) == 3
    assert [n for n, _ in segmentations] == [20]


def test_memory_segments_each_image_set_once_in_grid_search(
    segmentations, tmp_path, make_p2p
):
    # GridSearchCV over P2PClassifier's own parameters clones the classifier,
    # and with it the transformer, for every candidate; the cache makes all of
    # them share the label maps of each fold.
    data = make_cluttered_objects(n_samples=40, image_size=16, random_state=0)

    def search(lambda1, memory):
        segmentations.clear()
        clf = make_p2p(
            superpixels=SuperpixelTransformer(n_segments=16, memory=memory),
            max_epochs=1,
        )
        GridSearchCV(clf, {"lambda1": lambda1}, cv=2).fit(data.images, data.target)
        return list(segmentations)

    one = search([1.0], str(tmp_path / "one"))
    two = search([1.0, 10.0], str(tmp_path / "two"))
    assert len(set(two)) == len(two)  # no image set segmented twice
    assert two == one
    # With cv=2 the training fold of one split is the test fold of the other:
    # two halves plus the full data for the refit.
    assert sorted(n for n, _ in two) == [20, 20, 40]
    without = search([1.0, 10.0], None)
    assert len(without) > len(two)
    assert set(without) == set(two)


# errors


@pytest.mark.parametrize(
    "params, name",
    [
        ({"n_segments": 0}, "n_segments"),
        ({"n_segments": 2.5}, "n_segments"),
        ({"n_segments": "100"}, "n_segments"),
        ({"compactness": 0}, "compactness"),
        ({"compactness": -1.0}, "compactness"),
        ({"backend": "opencv"}, "backend"),
        ({"n_jobs": "two"}, "n_jobs"),
        ({"verbose": "yes"}, "verbose"),
        ({"memory": 3}, "memory"),
    ],
)
def test_invalid_params(params, name):
    match = f"The '{name}' parameter of SuperpixelTransformer must be"
    st = SuperpixelTransformer(**params)
    X = smooth_images(n=1, size=16)
    with pytest.raises(InvalidParameterError, match=match):
        st.fit(X)
    with pytest.raises(InvalidParameterError, match=match):
        clone(st).fit_transform(X)


def test_segment_images_invalid_params():
    match = "The 'n_segments' parameter of segment_images must be"
    with pytest.raises(InvalidParameterError, match=match):
        segment_images(np.zeros((1, 4, 4, 3)), n_segments=0)
    match = "The 'memory' parameter of segment_images must be"
    with pytest.raises(InvalidParameterError, match=match):
        segment_images(np.zeros((1, 4, 4, 3)), n_segments=2, memory=3)


def test_more_segments_than_pixels(backend):
    # fast-slic kills the interpreter in this case, so it must never get there.
    X = smooth_images(n=1, size=16)
    with pytest.raises(ValueError, match=r"n_segments=257 .*16x16 = 256"):
        SuperpixelTransformer(n_segments=257, backend=backend).fit(X)
    st = SuperpixelTransformer(n_segments=100, backend=backend).fit(X)
    with pytest.raises(ValueError, match=r"n_segments=100 .*8x8 = 64"):
        st.transform(X[:, :8, :8])
    with pytest.raises(ValueError, match=r"n_segments=17 .*4x4"):
        segment_images(X[:, :4, :4], n_segments=17, backend=backend)


def test_fast_slic_segment_limit():
    pytest.importorskip("fast_slic")
    X = np.zeros((1, 256, 256), dtype=np.uint8)
    with pytest.raises(ValueError, match="backend='skimage'"):
        SuperpixelTransformer(n_segments=65534, backend="fast-slic").fit(X)


def test_transform_before_fit():
    with pytest.raises(NotFittedError):
        SuperpixelTransformer().transform(smooth_images(n=1))


def test_channel_mismatch_at_transform():
    st = SuperpixelTransformer(n_segments=8, backend="skimage").fit(smooth_images(n=1))
    with pytest.raises(ValueError, match=r"1 channel\(s\).*fitted on images with 3"):
        st.transform(smooth_images(n=1, channels=1))


@pytest.mark.parametrize(
    "X, match",
    [
        (np.full((1, 8, 8, 3), np.nan), "X contains NaN"),
        (np.full((1, 8, 8, 3), 2.0), "0-255"),
        (np.zeros((1, 8, 8, 4)), r"X\[\.\.\., :3\]"),
        (np.zeros((8, 8)), "batch of images"),
    ],
)
def test_bad_images_rejected(X, match):
    with pytest.raises(ValueError, match=match):
        SuperpixelTransformer(n_segments=4).fit_transform(X)


def test_tags():
    tags = SuperpixelTransformer().__sklearn_tags__()
    assert tags.requires_fit
    assert not tags.input_tags.two_d_array
    assert tags.transformer_tags.preserves_dtype == ["float32"]
