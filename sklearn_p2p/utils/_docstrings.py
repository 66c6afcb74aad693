"""Docstring fragments shared by the many places that document one parameter.

A docstring holds a placeholder line ``%(name)s`` (alone on its line,
indented as the text should be) and the object is decorated with
:func:`fill_doc`; the placeholder is replaced by ``DOCS[name]``, re-indented
to the placeholder's indentation. Only ``%(word)s`` patterns are touched, so
a literal ``%`` elsewhere in a docstring needs no escaping.

Add a fragment here when a parameter is documented, word for word, in more
than one place; keep one-off documentation where it is used.
"""

import inspect
import re
import textwrap

__all__ = ["DOCS", "add_fragments", "documented_methods", "fill_doc"]

DOCS = {}

DOCS["image_shape"] = """\
image_shape : tuple of int, default=None
    Shape ``(height, width)`` or ``(height, width, channels)`` of
    flattened images. When set, 2-d ``X`` of shape ``(n_samples, height *
    width * channels)`` is read as images (row-major, channel last, as
    :func:`sklearn.datasets.load_digits` stores its 8x8 images). One of
    height and width may be -1, inferred from the number of columns. Image
    batches are accepted as they are."""

DOCS["value_range"] = """\
value_range : tuple (low, high), default=None
    Range of the input values, mapped linearly onto [0, 1]: e.g.
    ``(0, 255)`` for 8-bit intensities stored as floats (as
    ``fetch_openml("mnist_784")`` returns them), ``(0, 16)`` for
    :func:`~sklearn.datasets.load_digits`. None: uint8 in [0, 255] or
    float in [0, 1] (see :func:`~sklearn_p2p.utils.check_images`)."""

DOCS["X_images"] = """\
X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
    Images as in :meth:`fit`."""

DOCS["X_images_or_dataset"] = """\
X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W), \
        or torch Dataset
    Images as in :meth:`fit`; a Dataset's labels are ignored."""

DOCS["iterator_params"] = """\
dataset : torch Dataset
    The data to iterate over.
training : bool, default=False
    Whether the batches are for training."""

DOCS["explainer"] = """\
estimator : fitted estimator
    A fitted :class:`~sklearn_p2p.P2PClassifier`, a Pipeline ending in one,
    or any estimator implementing the explanation protocol (see
    :mod:`sklearn_p2p.metrics`)."""

DOCS["explain_no_delta"] = """\
delta : float, default=None
    Ignored; present for the explanation protocol.
return_details : bool, default=False
    Return a Bunch with everything behind the masks."""

DOCS["X_as_predict"] = """\
X : array-like of shape (n_images, ...)
    Images, as ``estimator.predict`` takes them."""

DOCS["delta_explain"] = """\
delta : float in (0, 1], default=None
    Certainty of the dynamic threshold, passed to ``explain``; None uses
    the estimator's own."""

DOCS["fractions"] = """\
fractions : array-like of shape (n_fractions,), default=None
    Strictly increasing values in [0, 1], at least 2; the curve's x-axis.
    None means ``np.linspace(0, 1, 21)``."""

DOCS["fidelity_details"] = """\
details : Bunch, default=None
    The output of ``explain(X, return_details=True)`` for these images, to
    reuse an explanation already computed (the last Pipeline step's
    explanation when ``estimator`` is a Pipeline); ``delta`` must then be
    None. None computes it."""

DOCS["schedule_epoch"] = """\
epoch : int
    Epoch index, starting at 0.
max_epochs : int
    Planned number of epochs."""

DOCS["schedule_hook"] = """\
net : P2PClassifier
    The net being trained.
**kwargs
    Further arguments skorch passes to callbacks; ignored."""

DOCS["random_state_generator"] = """\
random_state : int, RandomState instance or None, default=None
    Determines the generated images. Pass an int for reproducible output
    across multiple function calls."""

DOCS["generated_bunch"] = """\
data : :class:`~sklearn.utils.Bunch`
    Dictionary-like object with the following attributes.

    images : ndarray of shape (n_samples, image_size, image_size, 3), dtype uint8
        The RGB images.
    target : ndarray of shape (n_samples,), dtype int64
        The class of each image, an index into ``target_names``."""

DOCS["image_folder_example"] = """\
>>> import tempfile, pathlib
>>> import numpy as np
>>> from skimage.io import imsave
>>> tmp = tempfile.TemporaryDirectory()
>>> root = pathlib.Path(tmp.name)
>>> for name in ["cat", "dog"]:  # one 8x8 black image per class folder
...     (root / name).mkdir()
...     imsave(root / name / "a.png", np.zeros((8, 8, 3), np.uint8), check_contrast=False)"""

DOCS["network_classes"] = """\
n_classes : int
    Number of classes (logits of the classifier).
in_chans : int, default=3
    Image channels C (1 or 3)."""

DOCS["classifier_network"] = DOCS["network_classes"] + """
classifier : str, default="tiny_cnn"
    ``"tiny_cnn"`` or a timm model name."""

DOCS["X_region_fit"] = """\
X : array-like of shape (n_images, height, width, channels) or \
        (n_images, height, width)
    Images with 1 or 3 channels, uint8 in [0, 255] or float in
    [0, 1]; with ``image_shape``, also flattened images of shape
    (n_images, n_features); with ``value_range``, values in that range.
    Not modified.
y : None
    Ignored; present for API consistency."""

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", re.MULTILINE)


def add_fragments(fragments):
    """Add a sub-package's own fragments to ``DOCS``, refusing to replace one."""
    clash = sorted(DOCS.keys() & fragments.keys())
    if clash:
        raise KeyError(f"Docstring fragments {clash} are defined twice.")
    DOCS.update(fragments)


def fill_doc(obj):
    """Replace the ``%(name)s`` placeholder lines of ``obj.__doc__``.

    Parameters
    ----------
    obj : function, class or method
        Its docstring is rewritten in place.

    Returns
    -------
    obj
        The same object, for use as a decorator.
    """
    doc = obj.__doc__
    if doc:

        def substitute(match):
            name = match.group("name")
            if name not in DOCS:
                raise KeyError(f"No shared docstring fragment named {name!r} (in {obj!r}).")
            return textwrap.indent(DOCS[name], match.group("indent"))

        obj.__doc__ = _PLACEHOLDER.sub(substitute, doc)
    return obj


def documented_methods(cls):
    """Public methods of ``cls`` that the API reference documents on its page.

    Those ``cls`` or a base class of this package defines (the shared bases
    are private, so their methods are documented on the public classes);
    not those inherited unchanged from skorch, scikit-learn or torch (nor
    those a skorch mixin placed first overrides, e.g. ``train_step`` of
    :class:`~sklearn_p2p.AcceleratedP2PClassifier`), nor the
    ``set_<method>_request`` methods of metadata routing. Used by the
    class template of the docs (through ``docs/conf.py``) and by
    ``tests/test_docstrings.py``.
    """
    names = []
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("sklearn_p2p"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or (name.startswith("set_") and name.endswith("_request")):
                continue
            is_method = inspect.isfunction(value) or isinstance(
                value, (classmethod, staticmethod, property))
            if is_method and name not in names and _owner(cls, name).__module__.startswith(
                    "sklearn_p2p"):
                names.append(name)
    return names


def _owner(cls, name):
    """The class whose ``name`` ``cls`` uses: a mixin placed before the base wins."""
    return next(klass for klass in cls.__mro__ if name in vars(klass))
