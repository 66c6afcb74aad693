"""The paper's selector: an LR-ASPP segmentation head on a MobileNetV3, conditioned on tau.

The P2P paper uses "a pre-trained LR-ASPP MobileNetV3" (Howard et al.,
2019) as its selector. LR-ASPP ("Lite Reduced Atrous Spatial Pyramid
Pooling") reads two feature maps of the backbone: a low-level one at stride
8 and the last one at stride 16 (the last stages dilated instead of
strided). The high-level map goes through a 1x1 convolution, batch norm and
ReLU, gated channel by channel by a global-average-pooled sigmoid attention
branch; it is mapped to the outputs by a 1x1 convolution, upsampled to
stride 8 and added to a 1x1 convolution of the low-level map.

:class:`LRASPPHead` is that head with the threshold ``tau`` as an extra
input, and :class:`LRASPPSelector` puts it on a timm backbone with the
interface of :class:`~sklearn_p2p.nn.Selector` (``features`` once per
image, ``forward`` per tau), so :meth:`P2PNetwork.explain
<sklearn_p2p.nn.P2PNetwork.explain>` searches tau with it unchanged.
:class:`LRASPPNetwork` is :class:`~sklearn_p2p.nn.P2PNetwork` with this
selector, usable as ``P2PClassifier(module=LRASPPNetwork, ...)``.
"""

import torch
from torch import nn

from .backbones import _create_timm, normalization_constants
from .network import P2PNetwork
from .selector import Selector, _resize

__all__ = ["LRASPPHead", "LRASPPNetwork", "LRASPPSelector", "create_lraspp_selector"]


class LRASPPHead(nn.Module):
    """LR-ASPP head with per-image threshold ``tau``, evaluated in two parts.

    Outputs ``1 + K`` channels per pixel: the selection logit and K
    embedding dimensions. ``tau`` enters three times, as learned offsets:
    per channel on the high-level branch before its batch norm, per channel
    on the logits of the attention branch, and per output channel on the
    result (an offset on the low-level map before its 1x1 convolution is
    the same thing).

    :meth:`prepare` computes what does not depend on tau once per image:
    the 1x1 convolution of the low-level map (all the low-level branch),
    the high-level branch's convolution before its batch norm, and the
    attention logits. :meth:`forward` adds the tau offsets, applies batch
    norm, ReLU and the gate at stride 16, maps to ``1 + K`` channels there
    and only then upsamples: a 1x1 convolution commutes with bilinear
    upsampling, so this is torchvision's order of operations (upsample, then
    classify) up to floating-point rounding, at a fraction of the cost per
    tau.

    Parameters
    ----------
    low_channels : int
        Channels of the low-level (stride 8) feature map.
    high_channels : int
        Channels of the high-level (stride 16 or 32) feature map.
    n_outputs : int
        Output channels, ``1 + K``.
    inter_channels : int, default=128
        Channels of the high-level branch (128 in LR-ASPP MobileNetV3-Large).
    initial_keep_logit : float, default=0.0
        Initial bias of the selection-logit channel.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import LRASPPHead
    >>> head = LRASPPHead(low_channels=40, high_channels=960, n_outputs=4)
    >>> low, high = torch.rand(2, 40, 28, 28), torch.rand(2, 960, 14, 14)
    >>> prepared = head.prepare(low, high)  # once per image
    >>> head(prepared, tau=torch.tensor([0.2, 0.5]), output_size=(224, 224)).shape
    torch.Size([2, 4, 224, 224])
    """

    def __init__(self, low_channels, high_channels, n_outputs, inter_channels=128,
                 initial_keep_logit=0.0):
        super().__init__()
        self.cbr = nn.Sequential(
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(inplace=True),
        )
        self.scale = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.Sigmoid(),
        )
        self.low_classifier = nn.Conv2d(low_channels, n_outputs, 1)
        self.high_classifier = nn.Conv2d(inter_channels, n_outputs, 1)
        self.tau_high = nn.Linear(1, inter_channels)
        self.tau_scale = nn.Linear(1, inter_channels)
        self.tau_out = nn.Linear(1, n_outputs)
        with torch.no_grad():
            # The selection logit starts at initial_keep_logit (plus the
            # convolutions' contributions, zero on average).
            for bias in (self.low_classifier.bias, self.high_classifier.bias, self.tau_out.bias):
                bias[0] = 0.0
            self.low_classifier.bias[0] = initial_keep_logit

    def prepare(self, low, high):
        """The tau-independent part of the head, computed once per image.

        Parameters
        ----------
        low : Tensor of shape (B, low_channels, h8, w8)
            Low-level features (stride 8).
        high : Tensor of shape (B, high_channels, h16, w16)
            High-level features.

        Returns
        -------
        low_out : Tensor of shape (B, n_outputs, h8, w8)
            The low-level branch's contribution to the output.
        high_projected : Tensor of shape (B, inter_channels, h16, w16)
            The high-level branch after its convolution, before batch norm.
        scale_logits : Tensor of shape (B, inter_channels, 1, 1)
            The attention branch before its sigmoid.
        """
        scale_logits = self.scale[1](self.scale[0](high))
        return self.low_classifier(low), self.cbr[0](high), scale_logits

    def forward(self, prepared, tau, output_size):
        """Per-pixel outputs at ``output_size`` for the given thresholds.

        Parameters
        ----------
        prepared : tuple of Tensor
            From :meth:`prepare`, for the same images as ``tau``.
        tau : Tensor of shape (B,)
            Threshold of each image.
        output_size : tuple of int
            ``(H, W)`` of the output, usually the image size.

        Returns
        -------
        out : Tensor of shape (B, n_outputs, H, W)
            Bilinearly upsampled outputs.
        """
        low_out, high_projected, scale_logits = prepared
        _, batch_norm, relu = self.cbr
        tau = tau.to(high_projected.dtype).view(-1, 1)
        high = relu(batch_norm(high_projected + self.tau_high(tau)[:, :, None, None]))
        gate = torch.sigmoid(scale_logits + self.tau_scale(tau)[:, :, None, None])
        # classify at stride 16, then upsample: equal to upsample-then-classify
        high = _resize(self.high_classifier(high * gate), low_out.shape[-2:])
        out = high + low_out + self.tau_out(tau)[:, :, None, None]
        return _resize(out, output_size)


class LRASPPSelector(Selector):
    """A timm backbone with an :class:`LRASPPHead`: a :class:`Selector` with another head.

    Parameters
    ----------
    backbone : nn.Module
        Returns a list of feature maps (timm's ``features_only`` models).
    channels : tuple of int
        Widths of the low- and the high-level map.
    indices : tuple of int
        Positions of the low- and the high-level map in the backbone's list.
    n_embedding_dims : int
        K, the rank of the region covariance.
    inter_channels : int, default=128
        Channels of the head's high-level branch.
    initial_keep_logit : float, default=0.0
        Initial bias of the selection logit.
    input_affine : tuple of Tensor, default=None
        ``(scale, shift)`` of shape ``(C,)`` applied to the input first,
        ``x * scale + shift``: maps images normalised for the classifier onto
        the normalisation the backbone was pretrained with. None: identity.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import create_lraspp_selector
    >>> selector = create_lraspp_selector("mobilenetv3_large_100", n_embedding_dims=3)
    >>> features = selector.features(torch.rand(2, 3, 64, 64))  # once per batch
    >>> selector(features, torch.tensor([0.1, 0.9]), (64, 64)).shape
    torch.Size([2, 4, 64, 64])
    """

    def __init__(self, backbone, channels, indices, n_embedding_dims, inter_channels=128,
                 initial_keep_logit=0.0, input_affine=None):
        # Selector's forward (the head on the prepared features) is reused;
        # its __init__, which builds the package's own head, is not.
        nn.Module.__init__(self)
        self.backbone = backbone
        self.indices = tuple(int(i) for i in indices)
        self.head = LRASPPHead(
            channels[0], channels[1], 1 + n_embedding_dims, inter_channels=inter_channels,
            initial_keep_logit=initial_keep_logit,
        )
        self.has_input_affine = input_affine is not None
        scale, shift = input_affine if input_affine is not None else (torch.ones(1), torch.zeros(1))
        for name, value in (("input_scale", scale), ("input_shift", shift)):
            value = torch.as_tensor(value, dtype=torch.float32)
            self.register_buffer(name, value.view(1, -1, 1, 1))

    def features(self, x):
        """Backbone and the head's tau-independent part, computed once per image.

        Parameters
        ----------
        x : Tensor of shape (B, C, H, W)
            Images normalised as the network's classifier expects them.

        Returns
        -------
        features : tuple of Tensor
            What :meth:`forward` takes; every tensor's first dimension is the
            batch.
        """
        if self.has_input_affine:
            x = x * self.input_scale + self.input_shift
        maps = self.backbone(x)
        low, high = self.indices
        return self.head.prepare(maps[low], maps[high])


def create_lraspp_selector(name="mobilenetv3_large_100", *, n_embedding_dims=3, in_chans=3,
                           pretrained=False, output_stride=16, inter_channels=128,
                           initial_keep_logit=0.0, input_normalization=None):
    """An :class:`LRASPPSelector` on the timm backbone ``name``.

    The low-level map is the backbone's first one at stride 8 or more, the
    high-level map its last; with ``output_stride=16`` the last stages are
    dilated, as in LR-ASPP MobileNetV3 (for ``"mobilenetv3_large_100"``: 40
    channels at stride 8 and 960 at stride 16, the head of torchvision's
    ``lraspp_mobilenet_v3_large``).

    Parameters
    ----------
    name : str, default="mobilenetv3_large_100"
        A timm model usable with ``features_only=True``.
    n_embedding_dims : int, default=3
        K, the rank of the region covariance.
    in_chans : int, default=3
        Input channels.
    pretrained : bool or path, default=False
        ``False``: random initialisation; ``True``: timm's weights
        (downloaded unless cached); a path: a local weights file, the state
        dict of the full timm model ``name``, checked as
        :func:`create_feature_extractor` checks it. The head always starts
        at random.
    output_stride : int or None, default=16
        Passed to timm (8, 16 or 32); None leaves the model's own.
    inter_channels : int, default=128
        Channels of the head's high-level branch.
    initial_keep_logit : float, default=0.0
        Initial bias of the selection logit.
    input_normalization : tuple, default=None
        ``(mean, std)`` the input arrives normalised with (the classifier's).
        When it differs from the backbone's own (its pretrained statistics,
        or 0.5 / 0.5 without pretrained weights), the selector converts its
        input first. None: the input is normalised as the backbone expects.

    Returns
    -------
    selector : LRASPPSelector
        The backbone with a new :class:`LRASPPHead` on its low- and
        high-level maps.

    Examples
    --------
    >>> from sklearn_p2p.nn import create_lraspp_selector
    >>> selector = create_lraspp_selector("mobilenetv3_large_100")
    >>> selector.indices, selector.head.low_classifier.in_channels
    ((2, 4), 40)
    """
    kwargs = {} if output_stride is None else {"output_stride": output_stride}
    backbone = _create_timm(name, False, role="selector", in_chans=in_chans,
                            features_only=True, **kwargs)
    if pretrained is not False and pretrained is not None:
        # The weights are checked and loaded into the undilated network;
        # dilation changes no parameter, so they go into this one as they are.
        weights = _create_timm(name, pretrained, role="selector", in_chans=in_chans,
                               features_only=True).state_dict()
        backbone.load_state_dict(weights)
    reductions = backbone.feature_info.reduction()
    channels = backbone.feature_info.channels()
    low = next((i for i, r in enumerate(reductions) if r >= 8), 0)
    high = len(reductions) - 1
    input_affine = None
    if input_normalization is not None:
        in_mean, in_std = (torch.as_tensor(v, dtype=torch.float32).reshape(-1)
                           for v in input_normalization)
        mean, std = normalization_constants(name, pretrained, in_chans)
        if not (torch.allclose(in_mean, mean) and torch.allclose(in_std, std)):
            # x_in = (x - in_mean) / in_std  ->  (x - mean) / std
            input_affine = (in_std / std, (in_mean - mean) / std)
    return LRASPPSelector(
        backbone, (channels[low], channels[high]), (low, high), n_embedding_dims,
        inter_channels=inter_channels, initial_keep_logit=initial_keep_logit,
        input_affine=input_affine,
    )


class LRASPPNetwork(P2PNetwork):
    """:class:`~sklearn_p2p.nn.P2PNetwork` with the paper's LR-ASPP selector.

    ``selector`` names the selector's timm backbone (default the paper's
    MobileNetV3-Large); the head is :class:`LRASPPHead`. Everything else is
    :class:`~sklearn_p2p.nn.P2PNetwork`'s. Use it from the estimator with
    ``P2PClassifier(module=LRASPPNetwork, selector="mobilenetv3_large_100",
    ...)``; ``module__output_stride`` and ``module__inter_channels`` set the
    head's options.

    Parameters
    ----------
    n_classes : int
        Number of classes.
    in_chans : int, default=3
        Image channels.
    selector : str, default="mobilenetv3_large_100"
        timm backbone of the selector.
    classifier : str, default="tiny_cnn"
        Backbone of the classifier (``"tiny_cnn"`` or a timm name).
    pretrained : bool, path or dict, default=False
        As for :class:`~sklearn_p2p.nn.P2PNetwork`; the selector's entry
        initialises its backbone.
    n_embedding_dims : int, default=3
        K, the rank of the region covariance.
    initial_keep_logit : float, default=2.0
        Initial bias of the selection logit.
    output_stride : int or None, default=16
        Output stride of the selector's backbone.
    inter_channels : int, default=128
        Channels of the head's high-level branch.
    **kwargs
        Further arguments of :class:`~sklearn_p2p.nn.P2PNetwork`
        (``tau_min``, ``jitter``).

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import LRASPPNetwork
    >>> net = LRASPPNetwork(n_classes=3)
    >>> image = torch.rand(2, 32, 32, 3)
    >>> segments = (torch.arange(32) // 8).repeat(32, 1)  # 4 vertical stripes
    >>> X = torch.cat([image, segments.expand(2, 32, 32)[..., None].float()], dim=-1)
    >>> logits, kept_fraction, tau, covariance_norm = net(X)
    >>> logits.shape
    torch.Size([2, 3])
    """

    def __init__(self, n_classes, in_chans=3, selector="mobilenetv3_large_100",
                 classifier="tiny_cnn", pretrained=False, n_embedding_dims=3,
                 initial_keep_logit=2.0, output_stride=16, inter_channels=128, **kwargs):
        pretrained_for = (
            pretrained if isinstance(pretrained, dict)
            else {"selector": pretrained, "classifier": pretrained}
        )
        # The parent builds a selector of its own; the built-in one is the
        # cheapest to build, and is replaced below.
        super().__init__(
            n_classes, in_chans, selector="tiny_cnn", classifier=classifier,
            pretrained={"selector": False, "classifier": pretrained_for.get("classifier", False)},
            n_embedding_dims=n_embedding_dims, initial_keep_logit=initial_keep_logit, **kwargs,
        )
        self.selector = create_lraspp_selector(
            selector, n_embedding_dims=n_embedding_dims, in_chans=in_chans,
            pretrained=pretrained_for.get("selector", False), output_stride=output_stride,
            inter_channels=inter_channels, initial_keep_logit=initial_keep_logit,
            input_normalization=(self.mean.flatten(), self.std.flatten()),
        )
