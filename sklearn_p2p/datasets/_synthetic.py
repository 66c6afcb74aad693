"""Synthetic image data sets with exact ground-truth object masks."""

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..utils._docstrings import fill_doc
from ._common import (
    balanced_target,
    check_counts,
    check_object_scale,
    is_int,
    render_in_chunks,
)

__all__ = ["make_cluttered_objects"]


# Every shape is an inside-test on local coordinates ``(u, v)`` in [-1, 1]^2
# (u to the right, v downwards) spanning the object's square bounding box, so
# that rasterising a whole batch is a handful of vectorised comparisons. The
# shapes are drawn upright (never rotated) because "square" and "diamond", or
# "cross" and "x", would otherwise be the same class.
def _circle(u, v):
    return u * u + v * v <= 1.0


def _square(u, v):
    return (np.abs(u) <= 1.0) & (np.abs(v) <= 1.0)


def _triangle(u, v):
    # Apex at the top centre, base along the bottom edge of the box.
    return (v <= 1.0) & (np.abs(u) <= (v + 1.0) / 2.0)


def _cross(u, v):
    au, av = np.abs(u), np.abs(v)
    bar = 1.0 / 3.0
    return ((au <= bar) & (av <= 1.0)) | ((av <= bar) & (au <= 1.0))


def _ring(u, v):
    r2 = u * u + v * v
    return (r2 <= 1.0) & (r2 >= 0.55**2)


def _diamond(u, v):
    return np.abs(u) + np.abs(v) <= 1.0


def _frame(u, v):
    au, av = np.abs(u), np.abs(v)
    return (au <= 1.0) & (av <= 1.0) & ((au >= 0.5) | (av >= 0.5))


def _x(u, v):
    au, av = np.abs(u), np.abs(v)
    # |au - av| / sqrt(2) is the distance to the nearest diagonal: 0.45 makes
    # the bars about as wide as the cross's.
    return (au <= 1.0) & (av <= 1.0) & (np.abs(au - av) <= 0.45)


_SHAPES = (
    ("circle", _circle),
    ("square", _square),
    ("triangle", _triangle),
    ("cross", _cross),
    ("ring", _ring),
    ("diamond", _diamond),
    ("frame", _frame),
    ("x", _x),
)

# Objects smaller than this (in pixels) cannot show their shape, and their
# mask could even be empty.
_MIN_OBJECT_PIXELS = 4.0

# Number of candidate colours drawn per object/distractor: the first one far
# enough from what it must stand out against is used.
_N_COLOR_CANDIDATES = 8
_OBJECT_BG_DISTANCE = 100.0
_CLUTTER_OBJECT_DISTANCE = 90.0

_DESCR = """\
.. _cluttered_objects_dataset:

Cluttered objects data set
--------------------------

Synthetic RGB images in which the class is decided only by the *shape* of a
single object ({names}). The object has a random position, a random size
(its bounding box side is a fraction, drawn uniformly from object_scale, of
the image side), and a random colour that is independent of the class and
chosen to stand out from the background beneath it. The object always lies
entirely inside the image and is drawn last, in one flat colour, so
``masks`` marks exactly the object's pixels.

The background is class-independent clutter: a smooth random colour gradient
with low-frequency waves and per-pixel noise, plus ``n_clutter`` distractors
(thin lines, small elongated rectangles and small rotated ellipses) in random
colours. Lines are thin and the other distractors are elongated and smaller
than any object, so the clutter never forms one of the class shapes; their
colour differs from the object's colour so that they never merge with its
silhouette.

A classifier therefore has to find the object to classify the image, which
makes the data set a test bed for localization metrics: the ground-truth
``masks`` are exact.

:Number of instances: {n_samples} ({n_classes} classes, balanced)
:Image size: {size} x {size} x 3, uint8
:Object scale: {lo} to {hi} of the image side
:Distractors per image: {n_clutter}
"""


def _check_params(n_samples, image_size, n_classes, object_scale, n_clutter):
    shape_names = ", ".join(name for name, _ in _SHAPES)
    check_counts(
        n_samples, image_size, n_classes, len(_SHAPES), f"one per shape: {shape_names}"
    )
    if not is_int(n_clutter) or n_clutter < 0:
        raise ValueError(
            f"n_clutter must be a non-negative integer; got {n_clutter!r}."
        )
    lo, hi = check_object_scale(object_scale, image_size, _MIN_OBJECT_PIXELS, "shape")
    return lo, hi


def _pick_distinct(candidates, reference, min_distance):
    """First candidate colour at least ``min_distance`` from ``reference``.

    ``candidates`` has shape (..., K, 3) and ``reference`` (..., 3); when no
    candidate is far enough the farthest one is used, so the result is always
    defined.
    """
    dist = np.linalg.norm(candidates - reference[..., None, :], axis=-1)
    far = dist >= min_distance
    idx = np.where(far.any(axis=-1), far.argmax(axis=-1), dist.argmax(axis=-1))
    return np.take_along_axis(candidates, idx[..., None, None], axis=-2)[..., 0, :]


def _draw_parameters(rng, n_samples, size, n_classes, lo, hi, n_clutter):
    """Draw every random quantity up front, so rendering is deterministic."""
    n, k = n_samples, n_clutter
    target = balanced_target(rng, n, n_classes)

    side = rng.uniform(lo, hi, size=n) * size
    half = side / 2.0
    # Centres keep the whole bounding box, hence the whole object, in the image.
    centre = rng.uniform(0.0, 1.0, size=(n, 2)) * (size - side)[:, None] + half[:, None]

    # Distractors stay clearly smaller than the smallest object.
    clutter_max = 0.6 * lo * size
    p = Bunch(
        target=target,
        half=half,
        centre=centre,
        # Background: linear gradient between two colours along a random
        # direction, plus two low-frequency waves with per-channel amplitudes.
        bg_colors=rng.uniform(0, 255, size=(n, 2, 3)),
        bg_angle=rng.uniform(0, 2 * np.pi, size=n),
        wave_freq=rng.uniform(0.5, 2.5, size=(n, 2, 2))
        * rng.choice([-1, 1], size=(n, 2, 2)),
        wave_phase=rng.uniform(0, 2 * np.pi, size=(n, 2)),
        wave_amp=rng.uniform(-30, 30, size=(n, 2, 3)),
        object_colors=rng.uniform(0, 255, size=(n, _N_COLOR_CANDIDATES, 3)),
        clutter_colors=rng.uniform(0, 255, size=(n, k, _N_COLOR_CANDIDATES, 3)),
        clutter_kind=rng.randint(3, size=(n, k)),
        clutter_centre=rng.uniform(0, size, size=(n, k, 2)),
        clutter_angle=rng.uniform(0, np.pi, size=(n, k)),
        line_length=rng.uniform(0.25, 0.7, size=(n, k)) * size,
        clutter_long=rng.uniform(0.4, 1.0, size=(n, k)) * clutter_max,
        clutter_aspect=rng.uniform(0.25, 0.6, size=(n, k)),
        rect_vertical=rng.randint(2, size=(n, k)).astype(bool),
    )
    return p


def _render_chunk(p, sl, size, rng, noise_amplitude=12.0):
    """Render images ``sl`` of the parameter set ``p``; return images and masks."""
    m = sl.stop - sl.start
    coords = np.arange(size, dtype=np.float32) + 0.5
    # Broadcast pixel-centre coordinates against per-image parameters of
    # shape (m, 1, 1).
    yy = coords[None, :, None]
    xx = coords[None, None, :]

    def per_image(a):
        return np.asarray(a[sl], dtype=np.float32)[:, None, None]

    # Background.
    angle = per_image(p.bg_angle)
    t = ((xx - size / 2) * np.cos(angle) + (yy - size / 2) * np.sin(angle)) / size + 0.5
    t = np.clip(t, 0.0, 1.0)[..., None]
    c0 = p.bg_colors[sl, 0].astype(np.float32)[:, None, None, :]
    c1 = p.bg_colors[sl, 1].astype(np.float32)[:, None, None, :]
    img = c0 + (c1 - c0) * t
    for w in range(p.wave_freq.shape[1]):
        fx = per_image(p.wave_freq[:, w, 0])
        fy = per_image(p.wave_freq[:, w, 1])
        phase = per_image(p.wave_phase[:, w])
        wave = np.sin((2 * np.pi / size) * (fx * xx + fy * yy) + phase)
        img += wave[..., None] * p.wave_amp[sl, w].astype(np.float32)[:, None, None, :]
    noise = rng.uniform(-noise_amplitude, noise_amplitude, size=img.shape)
    img += noise.astype(np.float32)
    np.clip(img, 0, 255, out=img)

    # Object mask (drawn last, but needed now to choose contrasting colours).
    half = per_image(p.half)
    u = (xx - per_image(p.centre[:, 0])) / half
    v = (yy - per_image(p.centre[:, 1])) / half
    target = p.target[sl]
    masks = np.zeros((m, size, size), dtype=bool)
    for label in np.unique(target):
        idx = np.flatnonzero(target == label)
        masks[idx] = _SHAPES[label][1](u[idx], v[idx])

    area = masks.sum(axis=(1, 2))[:, None]
    bg_mean = (img * masks[..., None]).sum(axis=(1, 2)) / area
    obj_color = _pick_distinct(p.object_colors[sl], bg_mean, _OBJECT_BG_DISTANCE)
    clutter_color = _pick_distinct(
        p.clutter_colors[sl], obj_color[:, None, :], _CLUTTER_OBJECT_DISTANCE
    ).astype(np.float32)

    line_half_width = max(0.5, size / 64.0)
    for j in range(p.clutter_kind.shape[1]):
        kind = p.clutter_kind[sl, j]
        cx = p.clutter_centre[sl, j, 0]
        cy = p.clutter_centre[sl, j, 1]
        theta = p.clutter_angle[sl, j]
        long_ = p.clutter_long[sl, j]
        short = long_ * p.clutter_aspect[sl, j]
        for k in np.unique(kind):
            idx = np.flatnonzero(kind == k)

            def col(a, idx=idx):
                return np.asarray(a[idx], dtype=np.float32)[:, None, None]

            dx = xx - col(cx)
            dy = yy - col(cy)
            if k == 0:
                # Thin line segment centred at (cx, cy): distance of each pixel
                # centre to the segment.
                ct, st = col(np.cos(theta)), col(np.sin(theta))
                half_length = col(p.line_length[sl, j]) / 2
                along = np.clip(dx * ct + dy * st, -half_length, half_length)
                dist2 = (dx - along * ct) ** 2 + (dy - along * st) ** 2
                shape = dist2 <= line_half_width**2
            elif k == 1:
                # Elongated axis-aligned rectangle, never a square.
                vert = p.rect_vertical[sl, j][idx][:, None, None]
                hw = np.where(vert, col(short), col(long_)) / 2
                hh = np.where(vert, col(long_), col(short)) / 2
                shape = (np.abs(dx) <= hw) & (np.abs(dy) <= hh)
            else:
                # Small rotated ellipse, elongated so it is never a circle.
                ct, st = col(np.cos(theta)), col(np.sin(theta))
                a = (dx * ct + dy * st) / (col(long_) / 2)
                b = (-dx * st + dy * ct) / (col(short) / 2)
                shape = a * a + b * b <= 1.0
            sub = img[idx]
            color = clutter_color[idx, j][:, None, None, :]
            np.copyto(sub, color, where=shape[..., None])
            img[idx] = sub

    color = obj_color.astype(np.float32)[:, None, None, :]
    np.copyto(img, color, where=masks[..., None])
    # Round, not truncate, so a flat colour stays flat after the conversion.
    images = np.rint(img).astype(np.uint8)
    return images, masks


@fill_doc
def make_cluttered_objects(
    n_samples=300,
    *,
    image_size=32,
    n_classes=4,
    object_scale=(0.3, 0.5),
    n_clutter=6,
    random_state=None,
):
    """Generate images whose class is the shape of one object on clutter.

    Each image shows a single object -- a circle, square, triangle, cross,
    ring, diamond, frame or x -- whose shape alone decides the class. The
    object has a random position, a random size and a random colour that is
    independent of the class, and it lies on a class-independent cluttered
    background (a smooth colour gradient with noise, thin lines, small
    rectangles and small ellipses). A classifier must therefore locate the
    object, and the exact object masks returned alongside the images allow
    its explanations to be scored for localization.

    Parameters
    ----------
    n_samples : int, default=300
        Number of images. Must be at least ``n_classes``; the classes are
        balanced (their counts differ by at most one).

    image_size : int, default=32
        Height and width of the square images, in pixels. Must be >= 16.

    n_classes : int, default=4
        Number of classes, between 2 and 8. Class ``i`` is the shape
        ``target_names[i]``, taken in the order circle, square, triangle,
        cross, ring, diamond, frame, x.

    object_scale : tuple of (float, float), default=(0.3, 0.5)
        Range of the side of the object's square bounding box, as a fraction
        of ``image_size``; each object's scale is drawn uniformly from it.
        Must satisfy ``0 < min <= max <= 1`` and ``min * image_size >= 4``.

    n_clutter : int, default=6
        Number of distractors (lines, rectangles or ellipses) per image.

    %(random_state_generator)s

    Returns
    -------
    %(generated_bunch)s
        masks : ndarray of shape (n_samples, image_size, image_size), dtype bool
            The exact ground-truth object masks: True where the object was
            drawn. Inside its mask an image has the object's single colour.
        target_names : list of str
            The shape name of each class.
        DESCR : str
            Description of the data set.

    See Also
    --------
    sklearn.datasets.make_classification : Generate tabular classification data.

    Notes
    -----
    The object is drawn last, on top of the clutter, in one flat colour that
    is chosen to differ from the mean background colour beneath it;
    distractors get colours that differ from the object's colour. Lines are
    thin, and rectangles and ellipses are elongated and at most
    ``0.6 * object_scale[0]`` of the image side long, so the clutter never
    contains a class shape. Shapes
    are never rotated: "square" and "diamond" (and "cross" and "x") are told
    apart by their orientation.

    Examples
    --------
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> data = make_cluttered_objects(8, n_classes=4, random_state=0)
    >>> data.images.shape, data.images.dtype
    ((8, 32, 32, 3), dtype('uint8'))
    >>> data.masks.shape
    (8, 32, 32)
    >>> data.target_names
    ['circle', 'square', 'triangle', 'cross']
    >>> sorted(data.target.tolist())
    [0, 0, 1, 1, 2, 2, 3, 3]
    """
    lo, hi = _check_params(n_samples, image_size, n_classes, object_scale, n_clutter)
    rng = check_random_state(random_state)
    size = int(image_size)
    n_samples = int(n_samples)

    params = _draw_parameters(
        rng, n_samples, size, int(n_classes), lo, hi, int(n_clutter)
    )

    images, masks = render_in_chunks(
        lambda sl: _render_chunk(params, sl, size, rng), n_samples, size
    )

    target_names = [name for name, _ in _SHAPES[:n_classes]]
    descr = _DESCR.format(
        names=", ".join(target_names),
        n_samples=n_samples,
        n_classes=n_classes,
        size=size,
        lo=lo,
        hi=hi,
        n_clutter=n_clutter,
    )
    return Bunch(
        images=images,
        target=params.target,
        masks=masks,
        target_names=target_names,
        DESCR=descr,
    )
