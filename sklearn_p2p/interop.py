"""The package's models and explanations in the formats of other XAI libraries.

`Quantus <https://github.com/understandable-machine-intelligence-lab/Quantus>`_,
`Captum <https://captum.ai>`_ and
`pytorch-grad-cam <https://github.com/jacobgil/pytorch-grad-cam>`_ take a
``torch.nn.Module`` that maps a channel-first batch of images to logits, and
numpy arrays laid out channel first. This module converts both ways:

- :func:`to_channels_first`: per-image maps and masks ``(N, H, W)`` (the
  ``attributions`` and ``masks`` of an explanation, ground-truth masks) to
  the ``(N, 1, H, W)`` float32 arrays of Quantus' ``a_batch`` and
  ``s_batch``;
- :func:`images_to_channels_first`: images as an estimator reads them, to
  ``(N, C, H, W)`` float32 in [0, 1] (Quantus' ``x_batch``, Captum's
  input);
- :func:`as_torch_module`: a fitted classifier as an
  :class:`EstimatorModule`, whose ``softmax(module(x))`` is
  ``predict_proba`` and through which gradients flow to ``x``;
- :func:`explain_func`: the package's explanations as Quantus'
  ``explain_func``, for the metrics that explain perturbed images again.

None of these libraries is imported here; Captum is a dependency of the
package, Quantus (LGPL) and pytorch-grad-cam are optional.
"""

import contextlib

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._classifier import P2PClassifier
from ._region_transformer import RegionTransformer
from .baselines import BlackboxClassifier
from .explainers._network import check_explained_estimator, network_device

__all__ = ["EstimatorModule", "as_torch_module", "explain_func",
           "images_to_channels_first", "to_channels_first"]


def to_channels_first(maps):
    """Per-image maps or masks ``(N, H, W)`` as a ``(N, 1, H, W)`` float32 array.

    The layout of Quantus' ``a_batch`` (attributions) and ``s_batch``
    (ground-truth masks) and of a single-channel Captum attribution. Boolean
    masks become 0.0 and 1.0. The input is not modified: the result is a new
    array. Images go through :func:`images_to_channels_first`, which reads
    them as the estimator does.

    Parameters
    ----------
    maps : array-like of shape (N, H, W)
        One map per image, e.g. ``explain(X, return_details=True)``'s
        ``attributions`` or ``masks``, or the ground-truth ``masks`` of a
        data set. Numbers or bools.

    Returns
    -------
    maps : ndarray of float32, shape (N, 1, H, W)
        The maps with a channel axis of length 1.

    See Also
    --------
    images_to_channels_first : The images, for Quantus' ``x_batch``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.interop import to_channels_first
    >>> masks = np.zeros((2, 4, 4), dtype=bool); masks[:, :2, :2] = True
    >>> s_batch = to_channels_first(masks)
    >>> s_batch.shape, s_batch.dtype, float(s_batch.sum())
    ((2, 1, 4, 4), dtype('float32'), 8.0)
    """
    if torch.is_tensor(maps):
        maps = maps.detach().cpu().numpy()
    maps = np.asarray(maps)
    if maps.dtype.kind not in "biuf":
        raise ValueError(
            f"maps must hold numbers or bools; got dtype {maps.dtype}. Pass the "
            "attributions or masks of an explanation."
        )
    if maps.ndim != 3:
        hints = {
            2: " For a single map, add the batch axis: maps[np.newaxis].",
            4: " Images have 4 dimensions: convert them with "
               "images_to_channels_first(estimator, X); a (N, 1, H, W) array is "
               "channel first already.",
        }
        raise ValueError(
            f"maps must have shape (N, H, W), one map per image; got shape "
            f"{maps.shape}.{hints.get(maps.ndim, '')}"
        )
    return maps.astype(np.float32)[:, np.newaxis]


def images_to_channels_first(estimator, X):
    """Images as ``estimator`` reads them, as a ``(N, C, H, W)`` float32 array.

    Everything the estimator's ``predict`` accepts is read the same way:
    uint8 images are divided by 255, ``value_range`` and ``image_shape``
    apply, grayscale ``(N, H, W)`` images get a channel axis. The result is
    the input :func:`as_torch_module` expects (as a tensor:
    ``torch.as_tensor(...)``) and Quantus' ``x_batch``. ``X`` is not
    modified.

    Parameters
    ----------
    estimator : fitted classifier of the package or Pipeline
        As for :func:`as_torch_module`.
    X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
        Images as the estimator's ``predict`` takes them.

    Returns
    -------
    images : ndarray of float32, shape (n_samples, C, H, W)
        Values in [0, 1], channel first.

    See Also
    --------
    to_channels_first : The explanations' maps and masks.

    Examples
    --------
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.interop import images_to_channels_first
    >>> from sklearn_p2p.models import BackboneClassifier
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> clf = BackboneClassifier(max_epochs=1, verbose=0, random_state=0)
    >>> clf = clf.fit(data.images, data.target)
    >>> x_batch = images_to_channels_first(clf, data.images[:2])
    >>> x_batch.shape, x_batch.dtype, float(x_batch.max()) <= 1.0
    ((2, 3, 16, 16), dtype('float32'), True)
    """
    _, reader, _ = _resolve(estimator, "images_to_channels_first")
    images = reader._read_images(X, reset=False).images
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2))


def as_torch_module(estimator):
    """A fitted classifier as a ``torch.nn.Module`` from images to logits.

    The module takes a float tensor ``(N, C, H, W)`` of images in [0, 1]
    (as :func:`images_to_channels_first` returns them) and returns logits
    ``(N, n_classes)`` whose softmax is ``estimator.predict_proba`` of the
    same images, with gradients flowing back to the images: the model
    argument of Quantus' metrics and of Captum's and pytorch-grad-cam's
    attribution methods. See :class:`EstimatorModule` for what each
    classifier computes.

    Parameters
    ----------
    estimator : fitted classifier of the package or Pipeline
        :class:`~sklearn_p2p.P2PClassifier`,
        :class:`~sklearn_p2p.baselines.BlackboxClassifier` or a model of
        :mod:`sklearn_p2p.models`; or a fitted Pipeline of a region
        transformer (e.g. :class:`~sklearn_p2p.SuperpixelTransformer`) and
        such a classifier with ``superpixels="precomputed"``.

    Returns
    -------
    module : EstimatorModule
        A view of the estimator's fitted network, in evaluation mode, on
        the estimator's device.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.interop import as_torch_module, images_to_channels_first
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=8),
    ...                     max_epochs=1, verbose=0, random_state=0)
    >>> clf = clf.fit(data.images, data.target)
    >>> model = as_torch_module(clf)
    >>> x = torch.as_tensor(images_to_channels_first(clf, data.images[:3]))
    >>> proba = torch.softmax(model(x), dim=1).detach().numpy()
    >>> bool(abs(proba - clf.predict_proba(data.images[:3])).max() < 1e-5)
    True
    """
    return EstimatorModule(estimator)


class EstimatorModule(torch.nn.Module):
    """A fitted classifier's network as a module from images to logits.

    ``forward(x)`` takes a float tensor ``(N, C, H, W)`` of images in
    [0, 1] and returns the logits ``(N, n_classes)`` of the prediction
    ``predict_proba`` makes on those images (its softmax), differentiably
    in ``x``:

    - :class:`~sklearn_p2p.P2PClassifier`: the superpixels of ``x`` are
      computed with the fitted transformer (``superpixels_``, or the
      Pipeline's first step) on a detached copy (values clipped to [0, 1]),
      the selection is searched
      as ``predict_proba`` does (``delta``, ``tau_step`` or the fixed
      ``threshold``), then the classifier runs on ``x`` under that mask. The
      gradient reaches the pixels the classifier sees and is zero on the
      masked ones; the superpixels and the selection are piecewise constant
      in ``x`` and are not differentiated. The search runs with the
      network's forward hooks paused, so a hook on the classifier (Captum's
      layer methods, pytorch-grad-cam) sees one pass: the one that made the
      logits.
    - :class:`~sklearn_p2p.baselines.BlackboxClassifier`: its classifier on
      ``x`` under its fixed pixel mask (all pixels, or the evenly spaced
      ``kept_fraction``); no superpixels are computed.
    - The models of :mod:`sklearn_p2p.models`: their network on the full
      image (``module_.image_logits``, what the package's explainers
      differentiate).

    The module is a view, not a copy: its ``network`` is the estimator's
    ``module_``, shared (moving the module moves the estimator's network,
    and a backward pass fills its ``.grad``). It cannot be trained:
    ``train()`` raises, ``eval()`` is accepted, and the module is in
    evaluation mode from the start (Quantus checks that). Re-fitting the
    estimator replaces its network; call :func:`as_torch_module` again
    afterwards.

    For Grad-CAM, :meth:`attribution_layer` gives the target layer: the
    last feature stage of the classifier (for P2P, of its classifier, not
    of its selector), e.g. ``GradCAM(model=module,
    target_layers=[module.attribution_layer()])`` in pytorch-grad-cam.

    Parameters
    ----------
    estimator : fitted classifier of the package or Pipeline
        As for :func:`as_torch_module`, which is the usual way to build
        this module.

    Attributes
    ----------
    estimator : estimator
        The estimator passed.
    network : torch.nn.Module
        The classifier's fitted network (its ``module_``).

    See Also
    --------
    as_torch_module : The function that builds this module.
    sklearn_p2p.explainers.GradientExplainer : Captum's gradient methods
        through the package's explanation protocol.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.interop import EstimatorModule
    >>> from sklearn_p2p.models import BackboneClassifier
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> clf = BackboneClassifier(max_epochs=1, verbose=0, random_state=0)
    >>> model = EstimatorModule(clf.fit(data.images, data.target))
    >>> x = torch.rand(2, 3, 16, 16, requires_grad=True)
    >>> logits = model(x)
    >>> logits.shape, model.training
    (torch.Size([2, 4]), False)
    >>> logits[:, 0].sum().backward()
    >>> x.grad.shape
    torch.Size([2, 3, 16, 16])
    """

    def __init__(self, estimator):
        classifier, _, regions = _resolve(estimator, "as_torch_module")
        super().__init__()
        self.estimator = estimator
        self.network = classifier.module_
        self._classifier = classifier
        self._regions = regions
        super().train(False)

    @property
    def classes_(self):
        """The classes of the estimator, in the order of the logits."""
        return self._classifier.classes_

    def forward(self, x):
        """Logits of images, as ``predict_proba`` computes them.

        Parameters
        ----------
        x : Tensor of shape (N, C, H, W)
            Floats in [0, 1], the size and channels the estimator was fitted
            on; moved to the network's device and cast to float32.

        Returns
        -------
        logits : Tensor of shape (N, n_classes)
            Their softmax is the estimator's ``predict_proba``; classes in
            ``classes_`` order.
        """
        x = self._check_input(x)
        network = self.network.eval()
        classifier = self._classifier
        if not isinstance(classifier, P2PClassifier):
            return network.image_logits(x)
        if isinstance(classifier, BlackboxClassifier):
            masks = network._pixel_mask(x)  # all pixels, or the evenly spaced ones
        else:
            with torch.no_grad(), _forward_hooks_paused(network):
                masks = network.explain(
                    self._packed(x), tau=classifier._fixed_tau(), delta=classifier.delta,
                    tau_step=classifier.tau_step,
                )["masks"]
        return network.classify_pixels(network.normalize(x), masks)

    def train(self, mode=True):
        """Refuse training mode: the module is a view of a fitted network.

        Parameters
        ----------
        mode : bool, default=True
            False (what ``eval()`` passes) is accepted; True raises.

        Returns
        -------
        self : EstimatorModule
            In evaluation mode.
        """
        if mode:
            raise RuntimeError(
                "EstimatorModule is a view of a fitted estimator's network, for "
                "explaining it, and cannot be put in training mode; train the "
                "estimator with fit or partial_fit and call as_torch_module again."
            )
        return super().train(False)

    def attribution_layer(self):
        """The layer whose output is the classifier's last feature map (for Grad-CAM).

        Returns
        -------
        layer : torch.nn.Module
            The network's ``attribution_layer()``: the target layer of
            Grad-CAM (Captum's ``LayerGradCam``, pytorch-grad-cam's
            ``target_layers=[layer]``).

        Examples
        --------
        >>> import torch
        >>> from sklearn_p2p.datasets import make_cluttered_objects
        >>> from sklearn_p2p.interop import as_torch_module
        >>> from sklearn_p2p.models import BackboneClassifier
        >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
        >>> clf = BackboneClassifier(max_epochs=1, verbose=0, random_state=0)
        >>> model = as_torch_module(clf.fit(data.images, data.target))
        >>> isinstance(model.attribution_layer(), torch.nn.Module)
        True
        """
        return self.network.attribution_layer()

    def __setstate__(self, state):
        super().__setstate__(state)
        # A deep copy or an unpickled module: skorch rebuilds the estimator's
        # network from bytes, so point the view at the one the copied
        # estimator predicts with (Quantus' randomisation tests reset the
        # layers of a deep copy).
        self._modules["network"] = self._classifier.module_

    def extra_repr(self):
        """The estimator's class, shown in the module's ``repr``.

        Returns
        -------
        text : str
            ``"estimator=<class name>"``.
        """
        return f"estimator={type(self.estimator).__name__}"

    # -- helpers -------------------------------------------------------
    def _check_input(self, x):
        """``x`` validated against the fitted format, float32 on the network's device."""
        classifier = self._classifier
        if classifier.module_ is not self.network:
            raise RuntimeError(
                f"The {type(classifier).__name__} was re-fitted after this "
                "EstimatorModule was made; call as_torch_module(estimator) again."
            )
        if not torch.is_tensor(x):
            raise TypeError(
                f"x must be a torch.Tensor of shape (N, C, H, W); got "
                f"{type(x).__name__}. Convert it with torch.as_tensor (see "
                "images_to_channels_first)."
            )
        if not x.is_floating_point():
            raise ValueError(
                f"x must hold floats in [0, 1]; got dtype {x.dtype}. Scale it, e.g. "
                "x.float() / 255 for uint8 images."
            )
        n_channels, (height, width) = classifier.n_channels_, classifier.image_shape_
        expected = (n_channels, height, width)
        shape = tuple(x.shape)
        if len(shape) == 4 and shape[1:] == expected:
            if shape[0] == 0:
                raise ValueError("x is an empty batch; pass at least one image.")
            return x.to(device=network_device(self.network), dtype=torch.float32)
        if len(shape) == 4 and shape[1:] == (height, width, n_channels):
            hint = "got (N, H, W, C) channel-last; permute it: x.permute(0, 3, 1, 2)."
        elif shape == expected:
            hint = "got a single image; add the batch axis: x[None]."
        elif n_channels == 1 and shape[1:] == (height, width):
            hint = "got (N, H, W) grayscale images; add the channel axis: x[:, None]."
        elif len(shape) == 4 and shape[1] != n_channels:
            hint = (f"got {shape[1]} channel(s), but {type(classifier).__name__} was "
                    f"fitted on {n_channels}.")
        elif len(shape) == 4:
            hint = (f"got images of {shape[2:]}, but {type(classifier).__name__} was "
                    f"fitted on {(height, width)}; resize them.")
        else:
            hint = f"got {len(shape)} dimension(s)."
        raise ValueError(f"x must have shape (N, {n_channels}, {height}, {width}); "
                         f"got {shape}: {hint}")

    def _packed(self, x):
        """P2P's ``(N, H, W, C + 1)`` input: images and their label maps, detached."""
        images = x.detach().permute(0, 2, 3, 1)
        array = np.clip(images.cpu().numpy(), 0.0, 1.0)
        labels = torch.as_tensor(self._regions._label_maps(array), dtype=images.dtype,
                                 device=images.device)
        return torch.cat([images, labels[..., None]], dim=-1)


def explain_func(model, inputs, targets=None, *, explainer=None, **params):
    """The package's explanations of images, in Quantus' ``explain_func`` protocol.

    Quantus calls ``explain_func(model=..., inputs=..., targets=...,
    **explain_func_kwargs)`` on the images it perturbs (robustness,
    randomisation and some faithfulness metrics) and expects channel-first
    maps. This function reads the ``inputs`` as images for the estimator
    behind ``model`` (values clipped to [0, 1], the range the estimators
    read), explains them, and returns the maps as :func:`to_channels_first`
    lays them out. The estimator is taken from ``model``, so that a copy of
    the model with randomised weights (Quantus' randomisation tests) is
    explained as such.

    Parameters
    ----------
    model : EstimatorModule
        The model passed to the Quantus metric, from :func:`as_torch_module`
        of a fitted classifier (not a Pipeline).
    inputs : array-like or Tensor of shape (N, C, H, W)
        Images in [0, 1], channel first.
    targets : array-like of int, shape (N,), default=None
        Column indices of ``classes_`` to explain, used by explainers with
        an ``attribute(X, target=...)`` method (those of
        :mod:`sklearn_p2p.explainers` whose maps depend on the class). The
        estimator's own explanation (``explainer=None``) is always that of
        its prediction: for P2P, the selection it predicted from.
    explainer : class, default=None
        None: the estimator's own ``explain(X, return_details=True)``
        ``attributions`` (P2P: its region probabilities). An explainer
        class of :mod:`sklearn_p2p.explainers`, e.g.
        :class:`~sklearn_p2p.explainers.GradientExplainer`: built as
        ``explainer(estimator, **params)`` on every call.
    **params
        Parameters of ``explainer``, e.g. ``method="saliency"``.

    Returns
    -------
    attributions : ndarray of float32, shape (N, 1, H, W)
        One map per image.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.explainers import GradientExplainer
    >>> from sklearn_p2p.interop import as_torch_module, explain_func
    >>> from sklearn_p2p.models import BackboneClassifier
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> clf = BackboneClassifier(max_epochs=1, verbose=0, random_state=0)
    >>> model = as_torch_module(clf.fit(data.images, data.target))
    >>> inputs = np.random.default_rng(0).random((2, 3, 16, 16), dtype=np.float32)
    >>> explain_func(model, inputs, np.array([0, 1]), explainer=GradientExplainer,
    ...              method="saliency").shape
    (2, 1, 16, 16)
    """
    if not isinstance(model, EstimatorModule):
        raise TypeError(
            f"explain_func explains the estimator behind an EstimatorModule; got "
            f"model of type {type(model).__name__}. Pass model=as_torch_module(estimator) "
            "to the Quantus metric."
        )
    estimator = model.estimator
    if isinstance(estimator, Pipeline):
        raise TypeError(
            "explain_func cannot explain a Pipeline: pass as_torch_module of a "
            "classifier fitted with its own superpixels (superpixels="
            "SuperpixelTransformer(...)), or pass Quantus precomputed a_batch."
        )
    if torch.is_tensor(inputs):
        inputs = inputs.detach().cpu().numpy()
    inputs = np.asarray(inputs, dtype=np.float32)
    if inputs.ndim != 4:
        raise ValueError(
            f"inputs must have shape (N, C, H, W); got shape {inputs.shape}."
        )
    images = np.clip(inputs, 0.0, 1.0).transpose(0, 2, 3, 1)
    if explainer is None:
        if params:
            raise TypeError(
                f"explain_func got explainer parameters {sorted(params)} without an "
                "explainer; pass explainer=, e.g. GradientExplainer."
            )
        maps = estimator.explain(images, return_details=True).attributions
    else:
        source = explainer(estimator, **params)
        if targets is not None and hasattr(source, "attribute"):
            if torch.is_tensor(targets):
                targets = targets.detach().cpu().numpy()
            maps = source.attribute(images, target=np.asarray(targets))
        else:
            maps = source.explain(images, return_details=True).attributions
    return to_channels_first(maps)


def _resolve(estimator, caller):
    """``(classifier, image reader, region transformer or None)`` of an estimator.

    Raises a clear error for anything but a fitted classifier of the package
    or a Pipeline of a region transformer and one that takes its output.
    """
    reader = None
    regions = None
    if isinstance(estimator, Pipeline):
        steps = [step for _, step in estimator.steps[:-1] if step not in (None, "passthrough")]
        classifier = estimator.steps[-1][1]
        packed = getattr(classifier, "_takes_packed_input", lambda: False)()
        if not (packed and len(steps) == 1 and isinstance(steps[0], RegionTransformer)):
            raise TypeError(
                f"{caller} takes a fitted classifier of this package, or a Pipeline of "
                "a region transformer (e.g. SuperpixelTransformer) and a classifier "
                "with superpixels='precomputed'; got a Pipeline of "
                f"{[type(step).__name__ for _, step in estimator.steps]}. Pass its "
                "final step (pipeline[-1]) if the steps before it do not change the "
                "images."
            )
        reader = regions = steps[0]
        check_is_fitted(regions)
    else:
        classifier = estimator
    check_explained_estimator(classifier, caller)
    if isinstance(classifier, BlackboxClassifier):
        regions = None  # its pixel mask does not depend on regions
    elif isinstance(classifier, P2PClassifier) and regions is None:
        if classifier._takes_packed_input():
            raise ValueError(
                f"{caller} cannot segment images for a {type(classifier).__name__} "
                "fitted with superpixels='precomputed': pass the fitted Pipeline of "
                "the SuperpixelTransformer and the classifier, or fit the classifier "
                "with superpixels=SuperpixelTransformer(...)."
            )
        regions = classifier.superpixels_
    return classifier, classifier if reader is None else reader, regions


@contextlib.contextmanager
def _forward_hooks_paused(network):
    """Hold back the forward hooks of ``network`` and its submodules for the block.

    Hooks registered with ``register_forward_hook`` or
    ``register_forward_pre_hook`` live in each module's ordered dicts;
    they are emptied and refilled in their order, so that handles taken
    before still remove them.
    """
    saved = []
    for module in network.modules():
        for hooks in (module._forward_pre_hooks, module._forward_hooks):
            if hooks:
                saved.append((hooks, list(hooks.items())))
                hooks.clear()
    try:
        yield
    finally:
        for hooks, items in saved:
            hooks.update(items)
