"""SLIC superpixels as a scikit-learn transformer.

P2P selects whole superpixels, so the label maps computed here define what an
explanation can look like. fast-slic is the default backend (what the paper
uses, and 6-14x faster than scikit-image on 32-224 pixel images, see
benchmarks/superpixels.py); scikit-image is the fallback
because fast-slic only ships as an sdist that not every machine can build.
"""

import functools
import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import check_memory

from ._region_transformer import RegionTransformer
from .utils._docstrings import fill_doc
from .utils._packed import make_labels_contiguous
from .utils._validation import check_images

__all__ = ["SuperpixelTransformer", "segment_images"]

# scikit-image measures colour with an L2 distance on Lab (L in [0, 100]) and
# fast-slic with an L1 distance on Lab quantized to 8 bits, so the same
# compactness gives rounder regions in scikit-image. Halving it gave
# superpixels of similar regularity (isoperimetric quotient) on
# skimage.data photos, and maps the default 20 onto scikit-image's default 10.
_SKIMAGE_COMPACTNESS_SCALE = 0.5

# fast-slic stores cluster ids as uint16 with 0xFFFF as "unassigned" and
# refuses larger requests.
_FAST_SLIC_MAX_SEGMENTS = 65533

# Work per joblib task, in pixels, below which a batch is not worth splitting:
# starting loky workers costs seconds (each imports this package), while
# fast-slic segments ~7 megapixels and scikit-image ~1 megapixel per second on
# one core. These give each task about half a second of work at least.
_MIN_PIXELS_PER_CHUNK = {"fast-slic": 2**22, "skimage": 2**19}

# Below this many pixels per image, fast-slic's OpenMP threads cost more than
# they save (small images run faster on one thread, large ones slower).
_FAST_SLIC_THREADED_MIN_PIXELS = 128 * 128


@functools.lru_cache(maxsize=None)
def _cpu_has_avx2():
    """Whether the CPU we run on supports AVX2 instructions."""
    # fast_slic.avx2 imports fine on any CPU when the extension was compiled
    # with AVX2, and would then die with SIGILL, so ask about the CPU itself.
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy < 2
        try:
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            __cpu_features__ = None
    if __cpu_features__ is not None and "AVX2" in __cpu_features__:
        return bool(__cpu_features__["AVX2"])
    try:
        with open("/proc/cpuinfo") as f:
            return any(
                line.startswith("flags") and " avx2" in line for line in f
            )
    except OSError:
        return False


@functools.lru_cache(maxsize=None)
def _fast_slic_class():
    """The fastest fast-slic implementation usable here, or None."""
    try:
        import fast_slic
    except ImportError:
        return None
    if _cpu_has_avx2():
        try:
            from fast_slic.avx2 import SlicAvx2

            return SlicAvx2
        except ImportError:
            pass
    # The AVX2 and the portable implementation give identical label maps, so
    # the choice only affects speed.
    return fast_slic.Slic


def _resolve_backend(backend):
    """Map the ``backend`` parameter to "fast-slic" or "skimage"."""
    if backend == "skimage":
        return "skimage"
    if _fast_slic_class() is not None:
        return "fast-slic"
    if backend == "fast-slic":
        raise ImportError(
            "backend='fast-slic' requires the fast-slic package, which is not "
            "installed. Install it with `pip install cython numpy` followed by "
            "`pip install --no-build-isolation fast-slic`, or use "
            "backend='skimage' (or 'auto')."
        )
    return "skimage"


def _check_n_segments(n_segments, image_shape, backend):
    """Raise before segmenting if ``n_segments`` cannot be honoured."""
    height, width = image_shape
    if n_segments > height * width:
        # fast-slic crashes the interpreter (SIGFPE) in this case, so this
        # check must happen before any image reaches it.
        raise ValueError(
            f"n_segments={n_segments} is larger than the number of pixels per "
            f"image ({height}x{width} = {height * width}); use "
            f"n_segments <= {height * width} or larger images."
        )
    if backend == "fast-slic" and n_segments > _FAST_SLIC_MAX_SEGMENTS:
        raise ValueError(
            f"n_segments={n_segments} is more than the fast-slic backend "
            f"supports ({_FAST_SLIC_MAX_SEGMENTS}); use backend='skimage'."
        )


def _progress(n_images, enabled):
    """Image indices, with a tqdm progress bar when ``enabled``."""
    if not enabled:
        return range(n_images)
    from tqdm.auto import tqdm

    return tqdm(range(n_images), desc="superpixels", unit="img")


def _segment_chunk(images, n_segments, compactness, backend, num_threads, progress=False):
    """Segment a (k, H, W, C) float32 chunk; runs inside one joblib task."""
    n_images, height, width, n_channels = images.shape
    segments = np.empty((n_images, height, width), dtype=np.int64)
    if backend == "fast-slic":
        slic_class = _fast_slic_class()
        for i in _progress(n_images, progress):
            # fast-slic wants C-contiguous uint8 RGB, made one image at a time
            # so that no scaled copy of the whole batch is held; rint makes
            # uint8 input round-trip exactly through the division by 255.
            scaled = images[i] * 255
            rgb = np.rint(scaled, out=scaled).astype(np.uint8)
            if n_channels == 1:
                rgb = np.repeat(rgb, 3, axis=-1)
            # A fresh model per image: a reused one starts from the previous
            # image's clusters, which would make labels depend on the order
            # and chunking of the images.
            slic = slic_class(
                num_components=n_segments,
                compactness=compactness,
                num_threads=num_threads,
            )
            segments[i] = slic.iterate(np.ascontiguousarray(rgb))
    else:
        from skimage.segmentation import slic

        for i in _progress(n_images, progress):
            image = images[i]
            if n_channels == 1:
                # Lab distances keep compactness on the same scale as for RGB
                # images; raw [0, 1] intensities would make it ~100x stronger.
                image = np.repeat(image, 3, axis=-1)
            segments[i] = slic(
                image,
                n_segments=n_segments,
                compactness=compactness * _SKIMAGE_COMPACTNESS_SCALE,
                start_label=0,
                channel_axis=-1,
            )
    # Downstream code needs ids 0..D-1, which neither backend documents
    # (fast-slic 0.4 and scikit-image 0.26 happen to deliver them); checking
    # is a cheap bincount per image.
    return make_labels_contiguous(segments)


def _in_dataloader_worker():
    import torch.utils.data

    return torch.utils.data.get_worker_info() is not None


def _segment_images(images, n_segments, compactness, backend, n_jobs, verbose=0):
    """Segment validated float32 images with a resolved backend."""
    n_images, height, width, _ = images.shape
    n_pixels = n_images * height * width
    n_chunks = min(
        n_images,
        effective_n_jobs(n_jobs),
        max(1, n_pixels // _MIN_PIXELS_PER_CHUNK[backend]),
    )
    if n_chunks <= 1:
        small = height * width < _FAST_SLIC_THREADED_MIN_PIXELS
        # DataLoader workers already run in parallel; threads would oversubscribe.
        num_threads = 1 if small or _in_dataloader_worker() else -1
        return _segment_chunk(
            images, n_segments, compactness, backend, num_threads, progress=verbose > 0
        )
    # One chunk per worker: each task pays the process and pickling overhead
    # once, which per-image tasks would not amortise on small images.
    chunks = np.array_split(images, n_chunks)
    results = Parallel(n_jobs=n_jobs, verbose=verbose)(
        delayed(_segment_chunk)(chunk, n_segments, compactness, backend, 1)
        for chunk in chunks
    )
    return np.concatenate(results, axis=0)


def _library_versions(backend):
    """Versions that decide the label maps besides the arguments."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("sklearn_p2p", "fast-slic" if backend == "fast-slic" else "scikit-image"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions


def _segment_images_keyed(images, n_segments, compactness, backend, versions, n_jobs, verbose=0):
    """``_segment_images`` with the library versions as an argument.

    The argument is unused here; it makes the versions part of a joblib
    cache key, so that an upgrade does not load label maps computed by other
    code.
    """
    return _segment_images(images, n_segments, compactness, backend, n_jobs, verbose)


def _segmenter(memory):
    """``_segment_images``, through ``memory``'s cache unless it is None.

    The cache key is the images, ``n_segments``, ``compactness``, the
    resolved backend and the versions of sklearn_p2p and of the backend
    library; ``n_jobs`` and ``verbose`` do not change the label maps, so
    they are left out of it.
    """
    if memory is None:
        return _segment_images
    cached = check_memory(memory).cache(_segment_images_keyed, ignore=["n_jobs", "verbose"])

    def segment(images, n_segments, compactness, backend, n_jobs, verbose=0):
        # joblib hashes an array's strides with its content: a contiguous
        # copy gives the same key to a view of a packed array and to a
        # plain image batch.
        return cached(np.ascontiguousarray(images), n_segments, compactness, backend,
                      _library_versions(backend), n_jobs, verbose)

    return segment


@validate_params(
    {
        "images": ["array-like"],
        "n_segments": [Interval(Integral, 1, None, closed="left")],
        "compactness": [Interval(Real, 0, None, closed="neither")],
        "backend": [StrOptions({"auto", "fast-slic", "skimage"})],
        "n_jobs": [Integral, None],
        "memory": [None, str, HasMethods(["cache"])],
    },
    prefer_skip_nested_validation=True,
)
def segment_images(
    images,
    *,
    n_segments=100,
    compactness=20.0,
    backend="auto",
    n_jobs=None,
    memory=None,
):
    """Compute SLIC superpixel label maps for a batch of images.

    This is the function behind :class:`SuperpixelTransformer`; use it
    directly when only the label maps are needed.

    Parameters
    ----------
    images : array-like of shape (n_images, height, width, channels) or \
            (n_images, height, width)
        Images with 1 or 3 channels, float in [0, 1] or uint8 (see
        :func:`~sklearn_p2p.utils.check_images`).
    n_segments : int, default=100
        Approximate number of superpixels per image.
    compactness : float, default=20.0
        Balance between colour similarity and spatial proximity, on
        fast-slic's scale; higher values give more square regions. See
        :class:`SuperpixelTransformer` for how it maps onto scikit-image.
    backend : {"auto", "fast-slic", "skimage"}, default="auto"
        SLIC implementation; "auto" uses fast-slic when it is installed.
    n_jobs : int, default=None
        Maximum number of joblib workers; small batches are segmented in the
        calling process (see :class:`SuperpixelTransformer`). ``None`` means 1
        unless in a :func:`joblib.parallel_config` context, -1 means all
        processors.
    memory : str, object with the joblib.Memory interface or None, \
            default=None
        Cache for the label maps: a directory path or a
        :class:`joblib.Memory`; None caches nothing. A second call with the
        same images, ``n_segments``, ``compactness`` and backend loads the
        stored label maps instead of segmenting again. See
        :class:`SuperpixelTransformer` for what is cached and why.

    Returns
    -------
    segments : ndarray of shape (n_images, height, width), dtype int64
        Label maps with ids 0..D-1 per image, D varying between images.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p._superpixels import segment_images
    >>> images = np.zeros((2, 16, 16, 3), dtype=np.float32)
    >>> images[:, :, 8:] = 1.0
    >>> segments = segment_images(images, n_segments=4, backend="skimage")
    >>> segments.shape, segments.dtype
    ((2, 16, 16), dtype('int64'))
    >>> bool(segments.min() == 0)
    True
    """
    images = check_images(images, input_name="images")
    backend = _resolve_backend(backend)
    _check_n_segments(n_segments, images.shape[1:3], backend)
    return _segmenter(memory)(images, n_segments, compactness, backend, n_jobs)


@fill_doc
class SuperpixelTransformer(RegionTransformer):
    """Append a SLIC superpixel label map to each image.

    The output keeps the images (scaled to [0, 1]) and adds the label map as
    one more channel, so it is a plain array that pipelines, cross-validation
    and ``Pipeline(memory=...)`` handle as usual, and it is what
    ``P2PClassifier(superpixels="precomputed")`` expects.

    Parameters
    ----------
    n_segments : int, default=100
        Approximate number of superpixels per image. The number returned
        varies per image: fast-slic returns at most this many, scikit-image
        sometimes a few more, and both return fewer on flat images. It must
        not exceed ``height * width``.
    compactness : float, default=20.0
        Balance between colour similarity and spatial proximity; higher
        values give more square superpixels. The scale is fast-slic's; the
        scikit-image backend receives ``compactness / 2``, which gives
        superpixels of similar regularity and maps the default 20 onto
        scikit-image's own default of 10.
    backend : {"auto", "fast-slic", "skimage"}, default="auto"
        SLIC implementation. "auto" uses fast-slic (its AVX2 build when the
        CPU supports it) if installed, else
        :func:`skimage.segmentation.slic`. The backends produce different,
        equally valid label maps.
    n_jobs : int, default=None
        Maximum number of joblib workers used to segment images in
        :meth:`transform`. Images are split into one chunk per worker so that
        the worker overhead is paid once per chunk, and batches too small to
        gain from it (about half a second of work per worker) stay in the
        calling process. ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context, -1 means all processors.
        Results do not depend on ``n_jobs``.
    verbose : int, default=0
        Above 0, show a progress bar over the images (or joblib's progress
        messages when the work is split over processes).
    image_shape : tuple of int, default=None
        Shape ``(height, width)`` or ``(height, width, channels)`` of
        flattened images. When set, 2-d input ``(n_images, height * width *
        channels)`` (such as :func:`sklearn.datasets.load_digits`) is
        reshaped to images, and the output is flattened again to
        ``(n_images, height * width * (channels + 1))``, so that the
        transformer fits among tabular steps. One of height and width may be
        -1, inferred from the number of columns. Image batches are accepted
        as they are.
    %(value_range)s
    memory : str, object with the joblib.Memory interface or None, \
            default=None
        Cache for the label maps, as in :class:`~sklearn.pipeline.Pipeline`:
        a directory path or a :class:`joblib.Memory`; None caches nothing.
        The label maps of each batch passed to :meth:`transform` are stored
        keyed by the content of the images, ``n_segments``, ``compactness``
        and the backend used (not ``n_jobs`` or ``verbose``, which do not
        change them), so transforming the same batch again with the same
        settings loads them instead of segmenting; the output is identical.
        Another batch, even a subset of a cached one, is segmented anew.
        This is for grid searches over the parameters of
        :class:`~sklearn_p2p.P2PClassifier` (``lambda1``, ``delta``, ...)
        with ``superpixels=SuperpixelTransformer(...)``: every candidate
        segments the same training and test folds again, in ``fit``,
        ``predict``, ``explain`` and the scorers. ``Pipeline(memory=...)``
        with ``superpixels="precomputed"`` avoids only part of this, since
        it caches the transformers fitted on the training folds, not
        :meth:`transform` on the test folds. The key also holds the
        installed versions of sklearn_p2p and of the SLIC library, so an
        upgrade segments anew. The cache takes 8 bytes per pixel on disk
        and its directory is not cleaned up automatically: clear it with
        ``joblib.Memory(location).clear()`` (or delete the directory) when
        it is no longer needed.

    Attributes
    ----------
    backend_ : str
        The backend used, "fast-slic" or "skimage".
    n_channels_ : int
        Number of image channels seen in :meth:`fit` (1 or 3).
        :meth:`transform` requires the same number.
    image_shape_ : tuple of int
        ``(height, width)`` of the images seen in :meth:`fit`.
        :meth:`transform` accepts other sizes, except for flattened input.
    n_features_in_ : int
        Number of columns of flattened input seen in :meth:`fit`; only set
        when :meth:`fit` received flattened images (see ``image_shape``).

    See Also
    --------
    segment_images : The underlying function, returning only label maps.
    sklearn_p2p.utils.check_precomputed : Split the output back into images
        and label maps.

    Notes
    -----
    Grayscale images are segmented as RGB images with three equal channels,
    so both backends work in the Lab colour space with the same
    ``compactness`` scale as for colour images.

    Label ids are contiguous (0..D-1) per image and every pixel has one; the
    ids are exact in float32. Flat images may give a single superpixel.

    The transformer learns nothing from the data: :meth:`fit` validates the
    parameters, resolves the backend and records the input format.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p import SuperpixelTransformer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randint(0, 256, size=(2, 16, 16, 3), dtype=np.uint8)
    >>> Xt = SuperpixelTransformer(n_segments=4, backend="skimage").fit_transform(X)
    >>> Xt.shape, Xt.dtype
    ((2, 16, 16, 4), dtype('float32'))
    >>> labels = Xt[..., -1]
    >>> bool(labels.min() == 0), bool(np.allclose(Xt[..., :3], X / 255))
    (True, True)
    """

    _parameter_constraints = {
        "n_segments": [Interval(Integral, 1, None, closed="left")],
        "compactness": [Interval(Real, 0, None, closed="neither")],
        "backend": [StrOptions({"auto", "fast-slic", "skimage"})],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "image_shape": [None, tuple, list],
        "value_range": [None, tuple, list],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(
        self,
        n_segments=100,
        *,
        compactness=20.0,
        backend="auto",
        n_jobs=None,
        verbose=0,
        image_shape=None,
        value_range=None,
        memory=None,
    ):
        self.n_segments = n_segments
        self.compactness = compactness
        self.backend = backend
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.image_shape = image_shape
        self.value_range = value_range
        self.memory = memory

    def _fit_images(self, images):
        self.backend_ = _resolve_backend(self.backend)
        _check_n_segments(self.n_segments, images.shape[1:3], self.backend_)
        return super()._fit_images(images)

    def _label_maps(self, images):
        backend = self.backend_
        if backend == "fast-slic" and _fast_slic_class() is None:
            if self.backend != "auto":
                _resolve_backend(self.backend)  # raises the ImportError
            # E.g. a pipeline fitted where fast-slic is installed and loaded
            # where it is not: predicting with other superpixels beats failing.
            warnings.warn(
                "This SuperpixelTransformer was fitted with the fast-slic "
                "backend, which is not installed here; falling back to "
                "scikit-image, whose superpixels differ. Install fast-slic to "
                "reproduce the fitted behaviour.",
                UserWarning,
            )
            backend = "skimage"
        _check_n_segments(self.n_segments, images.shape[1:3], backend)
        return _segmenter(self.memory)(
            images, self.n_segments, self.compactness, backend, self.n_jobs, self.verbose
        )
