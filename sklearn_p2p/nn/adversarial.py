"""PGD adversarial examples and the Gaussian feature-map smoothing block.

The pieces of "adversarial training meets feature-map smoothing": an
L-infinity projected gradient descent attack (:func:`pgd_linf`), a block that
adds a learned 1x1 mix of a Gaussian-blurred feature map to the map itself
(:class:`GaussianSmoothing`), the function that places the block after a
stage of a backbone (:func:`insert_smoothing`) and the network that does so
when it is built (:class:`SmoothedNetwork`).

Pixel range
    The networks of this package take images in [0, 1] and normalise them
    themselves (:meth:`~sklearn_p2p.nn.MaskedClassifier.normalize`). The
    attack therefore perturbs the [0, 1] images, and clamping the perturbed
    image to [0, 1] is exactly the valid pixel range of the space the model
    sees: no mean/std bookkeeping is needed, and ``eps`` is in units of the
    8-bit scale divided by 255 (``8 / 255`` is eight grey levels).
"""

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import TinyCNN, TinyFeatureExtractor
from .masking import ImageNetwork

__all__ = [
    "GaussianSmoothing",
    "SmoothedNetwork",
    "count_stages",
    "frozen_batchnorm_statistics",
    "gaussian_kernel",
    "insert_smoothing",
    "pgd_linf",
]


@contextlib.contextmanager
def frozen_batchnorm_statistics(module):
    """Keep the running statistics of every BatchNorm of ``module`` unchanged.

    Inside the block, BatchNorm layers in training mode still normalise with
    the statistics of the batch (the function being trained), but their
    running means, variances and batch counters are restored on exit, so
    that forward passes made for an attack do not count as training batches.

    Parameters
    ----------
    module : nn.Module or None
        The network; None (a plain function) does nothing.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sklearn_p2p.nn.adversarial import frozen_batchnorm_statistics
    >>> bn = nn.BatchNorm1d(2).train()
    >>> with frozen_batchnorm_statistics(bn):
    ...     _ = bn(torch.randn(8, 2) + 5)
    >>> bn.running_mean
    tensor([0., 0.])
    """
    saved = []
    if isinstance(module, nn.Module):
        for layer in module.modules():
            if isinstance(layer, nn.modules.batchnorm._NormBase) and layer.track_running_stats:
                buffers = {
                    name: buffer.detach().clone()
                    for name, buffer in layer.named_buffers(recurse=False)
                    if buffer is not None
                }
                saved.append((layer, buffers))
    try:
        yield
    finally:
        with torch.no_grad():
            for layer, buffers in saved:
                for name, value in buffers.items():
                    getattr(layer, name).copy_(value)


def pgd_linf(logits_fn, x, y, eps, step_size, n_steps, random_start=True, clamp=(0.0, 1.0),
             *, mode="current", generator=None):
    """Projected gradient ascent of the cross-entropy in an L-infinity ball.

    Starting from ``x`` (plus, with ``random_start``, uniform noise in
    ``[-eps, eps]``), ``n_steps`` times: step by ``step_size * sign(grad)`` of
    the summed cross-entropy of ``logits_fn`` with the labels ``y``, project
    onto ``||x_adv - x||_inf <= eps`` and clamp to the valid pixel range
    ``clamp``. The result is the last iterate (Madry et al., 2018).

    The networks of this package take images in [0, 1] and normalise them
    internally, so the default ``clamp=(0, 1)`` is the valid pixel range of
    the images the model sees. ``x`` must lie inside ``clamp``: then the
    clamped result stays within ``eps`` of it.

    Only the perturbation is differentiated (:func:`torch.autograd.grad`),
    so the ``.grad`` of the model's parameters is left untouched.

    Parameters
    ----------
    logits_fn : callable or nn.Module
        Maps a batch shaped like ``x`` to logits ``(B, n_classes)``.
    x : Tensor
        Clean inputs, e.g. ``(B, H, W, C)`` or ``(B, C, H, W)`` images.
    y : LongTensor of shape (B,)
        Class indices the attack moves away from (the true labels).
    eps : float
        Radius of the L-infinity ball, in the units of ``x`` (``8 / 255``:
        eight 8-bit grey levels). 0 returns ``x`` (a detached copy) at no
        cost.
    step_size : float
        Size of each signed-gradient step.
    n_steps : int
        Number of steps.
    random_start : bool, default=True
        Start from a uniform random point of the ball rather than ``x``.
    clamp : tuple (low, high) or None, default=(0.0, 1.0)
        Valid range of the input values; None: no clamping.
    mode : {"current", "train", "eval"}, default="current"
        Mode the module (when ``logits_fn`` is an ``nn.Module``) is put in
        for the attack; its own mode is restored afterwards. ``"current"``
        attacks the function as it is, which during training is the
        training-mode network (BatchNorm with batch statistics), the
        common choice in adversarial training. In every mode the running
        BatchNorm statistics are restored after the attack (see
        :func:`frozen_batchnorm_statistics`), so the attack's forward
        passes do not change the network used at test time.
    generator : torch.Generator, default=None
        Source of the random start; None: torch's global generator.

    Returns
    -------
    x_adv : Tensor
        Detached adversarial inputs, shaped like ``x``, within ``eps`` of
        ``x`` and inside ``clamp``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import ImageNetwork, pgd_linf
    >>> net = ImageNetwork(n_classes=3).eval()
    >>> x, y = torch.rand(4, 16, 16, 3), torch.tensor([0, 1, 2, 0])
    >>> x_adv = pgd_linf(net, x, y, eps=8 / 255, step_size=2 / 255, n_steps=3)
    >>> bool((x_adv - x).abs().max() <= 8 / 255 + 1e-6), bool(x_adv.min() >= 0)
    (True, True)
    """
    if mode not in ("current", "train", "eval"):
        raise ValueError(f"mode must be 'current', 'train' or 'eval'; got {mode!r}.")
    if eps < 0 or step_size < 0 or n_steps < 0:
        raise ValueError(
            "eps, step_size and n_steps must be non-negative; got "
            f"eps={eps}, step_size={step_size}, n_steps={n_steps}."
        )
    x = x.detach()
    if eps == 0:
        return x.clone()
    module = logits_fn if isinstance(logits_fn, nn.Module) else None
    was_training = module.training if module is not None else None
    if module is not None and mode != "current":
        module.train(mode == "train")
    low, high = clamp if clamp is not None else (None, None)
    try:
        with frozen_batchnorm_statistics(module):
            if random_start:
                noise = torch.empty_like(x).uniform_(-eps, eps, generator=generator)
                x_adv = x + noise
            else:
                x_adv = x.clone()
            if clamp is not None:
                x_adv = x_adv.clamp(low, high)
            for _ in range(n_steps):
                x_adv.requires_grad_(True)
                with torch.enable_grad():
                    loss = F.cross_entropy(logits_fn(x_adv), y, reduction="sum")
                    (grad,) = torch.autograd.grad(loss, x_adv)
                with torch.no_grad():
                    x_adv = x_adv + step_size * grad.sign()
                    x_adv = torch.min(torch.max(x_adv, x - eps), x + eps)
                    if clamp is not None:
                        x_adv = x_adv.clamp(low, high)
    finally:
        if module is not None:
            module.train(was_training)
    return x_adv.detach()


def gaussian_kernel(kernel_size=3, sigma=1.0):
    """A normalised 2-d Gaussian kernel of odd size.

    Parameters
    ----------
    kernel_size : int, default=3
        Side of the square kernel, odd.
    sigma : float, default=1.0
        Standard deviation in pixels (of the feature map).

    Returns
    -------
    kernel : Tensor of shape (kernel_size, kernel_size)
        Non-negative weights summing to 1.

    Examples
    --------
    >>> from sklearn_p2p.nn.adversarial import gaussian_kernel
    >>> kernel = gaussian_kernel(3, 1.0)
    >>> round(float(kernel.sum()), 6), bool(kernel[1, 1] == kernel.max())
    (1.0, True)
    """
    if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd positive int; got {kernel_size!r}.")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive; got {sigma!r}.")
    offsets = torch.arange(kernel_size, dtype=torch.float64) - (kernel_size - 1) / 2
    weights = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = torch.outer(weights, weights)
    return (kernel / kernel.sum()).float()


class GaussianSmoothing(nn.Module):
    """Residual feature-map smoothing: ``x + conv1x1(gaussian_blur(x))``.

    The blur is depthwise (each channel on its own) with a fixed Gaussian
    kernel and replicate padding (defined for maps of any size, even 1x1,
    and without the darkening of zero padding at the border); the 1x1
    convolution (with bias) is learned and mixes the blurred channels. The
    block preserves the shape of its input.

    Parameters
    ----------
    channels : int
        Channels of the feature map.
    kernel_size : int, default=3
        Side of the Gaussian kernel (the authors': 3), odd.
    sigma : float, default=1.0
        Standard deviation of the Gaussian, in feature-map pixels.
    zero_init : bool, default=False
        False (the default, as a plain ``nn.Conv2d`` of the authors' block):
        PyTorch's default initialisation of the 1x1 convolution, so the
        block smooths from the first step. True: zero weights and bias, so
        the block starts as the identity and the network as the one without
        it -- the choice for a pretrained backbone, whose features a random
        mix would disturb.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import GaussianSmoothing
    >>> block = GaussianSmoothing(8, zero_init=True)
    >>> x = torch.randn(2, 8, 5, 5)
    >>> block(x).shape, bool(torch.equal(block(x), x))
    (torch.Size([2, 8, 5, 5]), True)
    """

    def __init__(self, channels, kernel_size=3, sigma=1.0, zero_init=False):
        super().__init__()
        kernel = gaussian_kernel(kernel_size, sigma)
        self.channels = int(channels)
        self.kernel_size = kernel_size
        self.sigma = float(sigma)
        self.register_buffer(
            "kernel", kernel.expand(self.channels, 1, kernel_size, kernel_size).clone()
        )
        self.mix = nn.Conv2d(self.channels, self.channels, 1)
        if zero_init:
            nn.init.zeros_(self.mix.weight)
            nn.init.zeros_(self.mix.bias)

    def blur(self, x):
        """The depthwise Gaussian blur of a feature map.

        Parameters
        ----------
        x : Tensor of shape (B, channels, h, w)
            A feature map.

        Returns
        -------
        blurred : Tensor of shape (B, channels, h, w)
            Each channel convolved with the Gaussian kernel (replicate
            padding).
        """
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(
                f"GaussianSmoothing({self.channels}) takes feature maps of shape "
                f"(B, {self.channels}, h, w); got {tuple(x.shape)}. The block needs "
                "a convolutional stage (vision transformers' token stages have no "
                "spatial map to smooth)."
            )
        pad = self.kernel_size // 2
        padded = F.pad(x, (pad, pad, pad, pad), mode="replicate") if pad else x
        return F.conv2d(padded, self.kernel.to(x.dtype), groups=self.channels)

    def forward(self, x):
        """``x + mix(blur(x))``, of the shape of ``x``.

        Parameters
        ----------
        x : Tensor of shape (B, channels, h, w)
            A feature map.

        Returns
        -------
        smoothed : Tensor of shape (B, channels, h, w)
            The map plus the learned mix of its blur.
        """
        return x + self.mix(self.blur(x))

    def extra_repr(self):
        """The block's settings, shown in the module's ``repr``.

        Returns
        -------
        text : str
            Channels, kernel size and sigma.
        """
        return f"{self.channels}, kernel_size={self.kernel_size}, sigma={self.sigma}"


def _stage_list(classifier):
    """``(kind, entries)``: the stages of a TinyCNN or the feature_info of timm."""
    features = classifier
    if isinstance(classifier, TinyCNN):
        features = classifier.features
    if isinstance(features, TinyFeatureExtractor):
        return "tiny", features
    info = getattr(classifier, "feature_info", None)
    if not info:
        raise TypeError(
            f"{type(classifier).__name__} does not list its stages: pass a TinyCNN "
            "or a timm model (which lists them in feature_info)."
        )
    if not isinstance(info, list):  # a features_only model's FeatureInfo
        info = [{"module": name, "num_chs": chs}
                for name, chs in zip(info.module_name(), info.channels())]
    return "timm", info


def count_stages(classifier):
    """The number of stages a smoothing block can follow.

    Parameters
    ----------
    classifier : nn.Module or str
        A :class:`TinyCNN`, a timm model, or a backbone name (``"tiny_cnn"``
        or a timm name; the model is then built on the ``meta`` device,
        without allocating or initialising weights).

    Returns
    -------
    n_stages : int
        3 for ``"tiny_cnn"``; ``len(feature_info)`` for timm models.

    Examples
    --------
    >>> from sklearn_p2p.nn.adversarial import count_stages
    >>> count_stages("tiny_cnn"), count_stages("resnet18")
    (3, 5)
    """
    if isinstance(classifier, str):
        if classifier == "tiny_cnn":
            return len(TinyFeatureExtractor().channels)
        import timm

        try:  # no weights allocated or initialised
            with torch.device("meta"):
                classifier = timm.create_model(classifier, pretrained=False)
        except Exception:  # a model whose constructor computes with tensors
            classifier = timm.create_model(classifier, pretrained=False)
    kind, entries = _stage_list(classifier)
    return len(entries.stages) if kind == "tiny" else len(entries)


def _check_stage(stage, n_stages, name):
    if isinstance(stage, bool) or not isinstance(stage, int) or not 0 <= stage < n_stages:
        raise ValueError(
            f"Smoothing stage {stage!r} is out of range for the backbone {name}, "
            f"which has {n_stages} stages: pass a stage index from 0 to "
            f"{n_stages - 1}."
        )


def insert_smoothing(classifier, stage=0, *, kernel_size=3, sigma=1.0, zero_init=False):
    """Place a :class:`GaussianSmoothing` block after a stage of a backbone, in place.

    The stage module is replaced by ``nn.Sequential(stage, block)``:

    - :class:`TinyCNN` (or its :class:`TinyFeatureExtractor`):
      ``features.stages[stage]``, 3 stages;
    - a timm model: the module ``classifier.feature_info[stage]["module"]``
      (replaced with ``set_submodule``). For a ResNet, stage 0 is the stem
      (``act1``, stride 2) and stage 1 is ``layer1``.

    Parameters
    ----------
    classifier : nn.Module
        A :class:`TinyCNN` or a timm model; changed in place.
    stage : int, default=0
        Index of the stage the block follows (0: after the first stage, the
        authors' default).
    kernel_size : int, default=3
        Side of the Gaussian kernel of the block, odd.
    sigma : float, default=1.0
        Standard deviation of the Gaussian, in feature-map pixels.
    zero_init : bool, default=False
        Start the block as the identity (see :class:`GaussianSmoothing`).

    Returns
    -------
    block : GaussianSmoothing
        The inserted block (its channel count is the stage's).

    Raises
    ------
    ValueError
        If ``stage`` is out of range, saying how many stages there are.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import TinyCNN, insert_smoothing
    >>> model = TinyCNN(num_classes=3)
    >>> block = insert_smoothing(model, stage=0)
    >>> model.features.stages[0][1] is block, block.channels
    (True, 32)
    >>> model(torch.rand(2, 3, 16, 16)).shape
    torch.Size([2, 3])
    """
    kind, entries = _stage_list(classifier)
    if kind == "tiny":
        _check_stage(stage, len(entries.stages), "tiny_cnn")
        block = GaussianSmoothing(entries.channels[stage], kernel_size, sigma, zero_init)
        entries.stages[stage] = nn.Sequential(entries.stages[stage], block)
        return block
    _check_stage(stage, len(entries), repr(type(classifier).__name__))
    name = entries[stage]["module"]
    block = GaussianSmoothing(entries[stage]["num_chs"], kernel_size, sigma, zero_init)
    old = classifier.get_submodule(name)
    reference = next(iter(classifier.parameters()), None)
    if reference is not None:
        block = block.to(reference.device)
    classifier.set_submodule(name, nn.Sequential(old, block))
    return block


class SmoothedNetwork(ImageNetwork):
    """:class:`ImageNetwork` with a Gaussian smoothing block after a stage.

    The block (:class:`GaussianSmoothing`) is inserted into the classifier
    backbone when the network is built (:func:`insert_smoothing`), so every
    method of :class:`~sklearn_p2p.nn.MaskedClassifier` (``image_logits``,
    ``classify_images``, ``attribution_layer``, ...) runs through it.

    Parameters
    ----------
    n_classes : int
        Number of classes.
    in_chans : int, default=3
        Image channels.
    classifier : str, default="tiny_cnn"
        Backbone: ``"tiny_cnn"`` or a timm model name.
    pretrained : bool or path, default=False
        As for :class:`~sklearn_p2p.nn.MaskedClassifier`.
    smoothing : bool, default=True
        Insert the block; False gives the plain :class:`ImageNetwork`.
    smoothing_stage : int, default=0
        Stage the block follows (see :func:`insert_smoothing`).
    smoothing_sigma : float, default=1.0
        Standard deviation of the Gaussian, in feature-map pixels.
    smoothing_kernel_size : int, default=3
        Side of the Gaussian kernel.
    smoothing_zero_init : bool, default=False
        Start the block as the identity (see :class:`GaussianSmoothing`).

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import SmoothedNetwork
    >>> net = SmoothedNetwork(n_classes=3, in_chans=1)
    >>> net(torch.rand(2, 16, 16, 1)).shape, len(net.smoothing_blocks())
    (torch.Size([2, 3]), 1)
    """

    def __init__(self, n_classes, in_chans=3, classifier="tiny_cnn", pretrained=False, *,
                 smoothing=True, smoothing_stage=0, smoothing_sigma=1.0,
                 smoothing_kernel_size=3, smoothing_zero_init=False):
        super().__init__(n_classes, in_chans=in_chans, classifier=classifier,
                         pretrained=pretrained)
        if smoothing:
            insert_smoothing(
                self.classifier, smoothing_stage, kernel_size=smoothing_kernel_size,
                sigma=smoothing_sigma, zero_init=smoothing_zero_init,
            )

    def smoothing_blocks(self):
        """The :class:`GaussianSmoothing` blocks of the network.

        Returns
        -------
        blocks : list of GaussianSmoothing
            One block with ``smoothing=True``, none without.
        """
        return [module for module in self.modules() if isinstance(module, GaussianSmoothing)]

