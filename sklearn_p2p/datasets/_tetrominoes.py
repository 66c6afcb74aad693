"""T-vs-L tetromino images in noise, after the XAI-TRIS benchmark (Clark et al.)."""

import numbers

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.utils import Bunch, check_random_state

from ._common import balanced_target, is_int

__all__ = ["make_tetrominoes"]

SCENARIOS = ("linear", "multiplicative", "translations_rotations", "xor")
BACKGROUNDS = ("white", "smoothed")

# Signal strength a per scenario, (white, smoothed) background: the values
# XAI-TRIS reports for its 8x8 images.
DEFAULT_SIGNAL_STRENGTH = {
    "linear": (0.18, 0.0125),
    "multiplicative": (0.7, 0.1),
    "translations_rotations": (0.65, 0.2),
    "xor": (0.35, 0.15),
}

# The image is a grid of 8 x 8 cells; a tetromino covers 4 of them. Cells are
# (row, column) offsets from the pattern's top-left cell.
_GRID = 8
_SHAPES = {
    "T": np.array([(0, 0), (0, 1), (0, 2), (1, 1)]),
    "L": np.array([(0, 0), (1, 0), (2, 0), (2, 1)]),
}
# Fixed positions (top-left cell) of the linear, multiplicative and xor
# scenarios: the T in the upper left, the L in the lower right, apart.
_FIXED_OFFSET = {"T": (1, 1), "L": (4, 5)}

_BACKGROUND_STD = 0.5  # of the white noise, before normalisation
_SMOOTHING_SIGMA = 3.0  # pixels, of the smoothed background

_DESCR = """\
.. _tetrominoes_dataset:

Tetrominoes data set (XAI-TRIS style)
-------------------------------------

Grayscale images in the spirit of XAI-TRIS (Clark et al., 2024): a pattern
of 4 cells, a "T" or an "L" tetromino, hidden in noise; the class is the
pattern, and ``masks`` holds its pixels exactly. The image is a grid of
8 x 8 cells of image_size / 8 pixels each.

Scenario "{scenario}", {background} background, signal strength
a = {a:g}.

- Background: white Gaussian noise (std {std:g}){smooth}, normalised to unit
  Frobenius norm per image.
- Pattern: 1 on its pixels, 0 elsewhere, normalised to unit Frobenius norm.
- linear: x = a * pattern + (1 - a) * background; the T at cells (1, 1),
  the L at cells (4, 5) (top-left cell of the pattern, row and column).
- multiplicative: x = (1 - a * pattern) * background, same positions.
- translations_rotations: as linear, with the pattern rotated by a random
  multiple of 90 degrees and moved to a random pixel position inside the
  image.
- xor: the T and the L both at their fixed positions, with random signs
  s_T and s_L: pattern = s_T * T + s_L * L (normalised); class "same sign"
  if s_T == s_L, else "opposite signs". Combined as linear.

Every value of x lies in [-1, 1]; images = (x + 1) / 2 lies in [0, 1] (a
fixed affine map, the same for every draw, so separately generated training
and test sets match).

:Number of instances: {n_samples} (2 classes, balanced)
:Image size: {size} x {size}, float32 in [0, 1], single channel
:Pattern size: {pattern_pixels} pixels ({n_cells} cells)
"""


def _check_params(n_samples, image_size, scenario, background, signal_strength):
    if not is_int(n_samples) or n_samples < 2:
        raise ValueError(
            "n_samples must be an integer >= 2 so that both classes occur; "
            f"got {n_samples!r}."
        )
    if not is_int(image_size) or image_size < _GRID or image_size % _GRID:
        raise ValueError(
            "image_size must be a positive multiple of 8 (the image is a grid of "
            f"8 x 8 cells), such as 8, 16 or 64; got {image_size!r}."
        )
    if not isinstance(scenario, str) or scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {list(SCENARIOS)}; got {scenario!r}.")
    if not isinstance(background, str) or background not in BACKGROUNDS:
        raise ValueError(
            f"background must be one of {list(BACKGROUNDS)}; got {background!r}."
        )
    if signal_strength is None:
        return DEFAULT_SIGNAL_STRENGTH[scenario][BACKGROUNDS.index(background)]
    if (
        not isinstance(signal_strength, numbers.Real)
        or isinstance(signal_strength, bool)
        or not 0.0 <= signal_strength <= 1.0
    ):
        raise ValueError(
            "signal_strength must be a float in [0, 1] (the weight a of the "
            f"pattern) or None for the scenario's default; got {signal_strength!r}."
        )
    return float(signal_strength)


def _rotated(cells, quarter_turns):
    """Cells turned by ``quarter_turns`` * 90 degrees, moved back to (0, 0)."""
    for _ in range(quarter_turns % 4):
        cells = np.stack([cells[:, 1], -cells[:, 0]], axis=1)
    return cells - cells.min(axis=0)


def _paint(canvas, cells, top, left, cell):
    """Set the pixels of ``cells`` (cell units) at pixel offset (top, left)."""
    for row, col in cells:
        r, c = top + row * cell, left + col * cell
        canvas[r:r + cell, c:c + cell] = 1.0


def _fixed_pattern(name, size):
    cell = size // _GRID
    pattern = np.zeros((size, size))
    top, left = _FIXED_OFFSET[name]
    _paint(pattern, _SHAPES[name], top * cell, left * cell, cell)
    return pattern


def _patterns(rng, target, scenario, size):
    """Signed pattern maps (before normalisation) of every image."""
    n = len(target)
    names = np.array(["T", "L"])
    if scenario in ("linear", "multiplicative"):
        fixed = np.stack([_fixed_pattern(name, size) for name in names])
        return fixed[target]
    if scenario == "xor":
        t_pattern, l_pattern = _fixed_pattern("T", size), _fixed_pattern("L", size)
        sign_t = rng.choice([-1.0, 1.0], size=n)
        sign_l = np.where(target == 1, sign_t, -sign_t)
        return sign_t[:, None, None] * t_pattern + sign_l[:, None, None] * l_pattern
    # translations_rotations: random quarter turn, random pixel position.
    cell = size // _GRID
    turns = rng.randint(4, size=n)
    u_top, u_left = rng.uniform(size=n), rng.uniform(size=n)
    patterns = np.zeros((n, size, size))
    for i in range(n):
        cells = _rotated(_SHAPES[names[target[i]]], turns[i])
        height, width = (cells.max(axis=0) + 1) * cell
        top = int(u_top[i] * (size - height + 1))
        left = int(u_left[i] * (size - width + 1))
        _paint(patterns[i], cells, top, left, cell)
    return patterns


def _unit_norm(arrays):
    norms = np.sqrt((arrays**2).sum(axis=(1, 2), keepdims=True))
    return arrays / np.where(norms > 0, norms, 1.0)


def make_tetrominoes(
    n_samples=1000,
    *,
    image_size=8,
    scenario="linear",
    background="white",
    signal_strength=None,
    random_state=None,
):
    """Generate T-vs-L tetromino patterns in noise, with exact pattern masks.

    A binary benchmark for attribution methods after XAI-TRIS (Clark et
    al.): the class is the shape of a 4-cell pattern, a "T" (class 0) or an
    "L" (class 1) tetromino, added to or multiplied with Gaussian noise.
    Only the pattern carries the class, so its pixels (``masks``) are the
    exact ground truth of an explanation.

    The image is a grid of 8 x 8 cells of ``image_size / 8`` pixels each
    (at 8 x 8 a cell is a pixel; at 64 x 64, 8 x 8 pixels). The pattern
    and the background are each normalised to unit Frobenius norm and
    combined with weight ``a = signal_strength``:

    - ``"linear"``: ``x = a * pattern + (1 - a) * background``; the T lies
      at cells (1, 1)-(2, 3) (upper left), the L at (4, 5)-(6, 6) (lower
      right), the same for every image;
    - ``"multiplicative"``: ``x = (1 - a * pattern) * background``, same
      positions: the pattern damps the noise on its pixels;
    - ``"translations_rotations"``: as ``"linear"``, the pattern turned by
      a random multiple of 90 degrees and placed at a random pixel position
      (wholly inside the image);
    - ``"xor"``: the T and the L both at their fixed positions with random
      signs; the class is whether the signs agree (class 1, "same sign")
      or not (class 0, "opposite signs"), so neither pattern alone tells
      the class. Combined as ``"linear"``; ``masks`` holds both patterns.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of images, at least 2; the classes are balanced (their
        counts differ by at most one).
    image_size : int, default=8
        Height and width in pixels: a multiple of 8.
    scenario : {"linear", "multiplicative", "translations_rotations", \
            "xor"}, default="linear"
        How the pattern is placed and combined with the background (above).
    background : {"white", "smoothed"}, default="white"
        White Gaussian noise (standard deviation 0.5, a scale the
        normalisation removes), or that noise smoothed by a Gaussian filter
        of standard deviation 3 pixels (``scipy.ndimage.gaussian_filter``,
        reflected borders).
    signal_strength : float in [0, 1] or None, default=None
        The weight ``a`` of the pattern. None takes the value XAI-TRIS
        reports for its 8 x 8 images (white / smoothed background): linear
        0.18 / 0.0125, multiplicative 0.7 / 0.1, translations_rotations
        0.65 / 0.2, xor 0.35 / 0.15. At other sizes these defaults make a
        harder task (the unit-norm pattern spreads over more pixels).
    random_state : int, RandomState instance or None, default=None
        Determines the generated images. Pass an int for reproducible
        output across multiple function calls.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        images : ndarray of shape (n_samples, image_size, image_size), dtype float32
            Single-channel images in [0, 1]: ``(x + 1) / 2``, a fixed affine
            map of the signal ``x`` above (whose values all lie in
            [-1, 1]), so the package's estimators read them as they are and
            ``2 * images - 1`` recovers ``x``.
        target : ndarray of shape (n_samples,), dtype int64
            The class of each image, an index into ``target_names``.
        masks : ndarray of shape (n_samples, image_size, image_size), dtype bool
            The pattern's pixels: the exact ground truth.
        target_names : list of str
            ``["T", "L"]``, or ``["opposite signs", "same sign"]`` for xor.
        signal_strength : float
            The weight ``a`` used.
        DESCR : str
            Description of the data set.

    See Also
    --------
    make_cluttered_objects : Shapes on clutter, with exact object masks.

    Notes
    -----
    The generator is written from the description of XAI-TRIS (Clark, B.,
    Wilming, R., and Haufe, S., "XAI-TRIS: non-linear image benchmarks to
    quantify false positive post-hoc attribution of feature importance",
    Machine Learning, 2024), not from its code; pattern positions and the
    value range are this package's choices.

    Examples
    --------
    >>> from sklearn_p2p.datasets import make_tetrominoes
    >>> data = make_tetrominoes(n_samples=6, random_state=0)
    >>> data.images.shape, data.images.dtype
    ((6, 8, 8), dtype('float32'))
    >>> data.masks.sum(axis=(1, 2)).tolist()
    [4, 4, 4, 4, 4, 4]
    >>> data.target_names, sorted(data.target.tolist())
    (['T', 'L'], [0, 0, 0, 1, 1, 1])
    """
    a = _check_params(n_samples, image_size, scenario, background, signal_strength)
    rng = check_random_state(random_state)
    n_samples, size = int(n_samples), int(image_size)

    target = balanced_target(rng, n_samples, 2)
    noise = rng.normal(0.0, _BACKGROUND_STD, size=(n_samples, size, size))
    if background == "smoothed":
        noise = gaussian_filter(noise, sigma=(0, _SMOOTHING_SIGMA, _SMOOTHING_SIGMA))
    noise = _unit_norm(noise)
    signed = _patterns(rng, target, scenario, size)
    masks = signed != 0
    pattern = _unit_norm(signed)
    if scenario == "multiplicative":
        x = (1.0 - a * pattern) * noise
    else:
        x = a * pattern + (1.0 - a) * noise
    images = ((x + 1.0) / 2.0).astype(np.float32)

    target_names = ["opposite signs", "same sign"] if scenario == "xor" else ["T", "L"]
    n_cells = 8 if scenario == "xor" else 4
    smooth = (
        f", smoothed by a Gaussian filter (sigma {_SMOOTHING_SIGMA:g} px)"
        if background == "smoothed" else ""
    )
    descr = _DESCR.format(
        scenario=scenario, background=background, a=a, std=_BACKGROUND_STD,
        smooth=smooth, n_samples=n_samples, size=size, n_cells=n_cells,
        pattern_pixels=n_cells * (size // _GRID) ** 2,
    )
    return Bunch(
        images=images, target=target, masks=masks, target_names=target_names,
        signal_strength=a, DESCR=descr,
    )
