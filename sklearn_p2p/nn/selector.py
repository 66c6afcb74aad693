"""The selector: per-pixel selection logit and part embeddings, conditioned on tau."""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SelectorHead", "Selector"]


class SelectorHead(nn.Module):
    """Merge a low- and a high-resolution feature map into per-pixel outputs.

    In the spirit of LR-ASPP: the low-resolution (deep, semantic) map is
    projected and upsampled onto the high-resolution (shallow, spatially
    precise) map, and a 1x1 convolution predicts ``1 + K`` channels: the
    selection logit and K embedding dimensions. The threshold ``tau`` enters
    as a learned per-channel offset added to both maps.

    The head is evaluated in two parts, so that the dynamic-threshold search
    pays little per tau. Every layer between the offsets and the output is
    linear except the batch norm and ReLU of the low-resolution branch: a
    1x1 convolution of ``x + offset`` is the convolution of ``x`` plus a
    constant per channel, and a 1x1 convolution commutes with bilinear
    upsampling. :meth:`prepare` therefore computes everything that does not
    depend on tau once per image (the projected low-resolution map before
    its batch norm, and the high-resolution branch mapped straight to the
    ``1 + K`` outputs by the product of its two 1x1 convolutions);
    :meth:`forward` adds the tau offsets, applies batch
    norm and ReLU at low resolution, maps to ``1 + K`` channels, adds the
    high branch's tau offset (a constant per channel, which upsampling keeps)
    and only then upsamples. The result is the LR-ASPP computation above, in
    another order (equal up to floating-point rounding); training uses the same two
    parts, so trained and evaluated models compute the same function.

    Parameters
    ----------
    high_channels : int
        Channels of the high-resolution feature map.
    low_channels : int
        Channels of the low-resolution feature map.
    n_outputs : int
        Output channels, ``1 + K``: the selection logit and K embedding
        dimensions.
    hidden : int, default=64
        Channels of both projected maps.
    initial_keep_logit : float, default=0.0
        Initial bias of the selection-logit channel.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import SelectorHead
    >>> head = SelectorHead(high_channels=8, low_channels=16, n_outputs=4)
    >>> high, low = torch.rand(2, 8, 16, 16), torch.rand(2, 16, 4, 4)
    >>> prepared = head.prepare(high, low)  # once per image
    >>> head(prepared, tau=torch.tensor([0.2, 0.5]), output_size=(32, 32)).shape
    torch.Size([2, 4, 32, 32])
    """

    def __init__(self, high_channels, low_channels, n_outputs, hidden=64, initial_keep_logit=0.0):
        super().__init__()
        self.tau_high = nn.Linear(1, high_channels)
        self.tau_low = nn.Linear(1, low_channels)
        self.low_proj = nn.Sequential(
            nn.Conv2d(low_channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
        )
        self.high_proj = nn.Conv2d(high_channels, hidden, 1)
        self.out = nn.Conv2d(2 * hidden, n_outputs, 1)
        with torch.no_grad():
            self.out.bias[0] = initial_keep_logit

    def _out_weights(self):
        """The output convolution's weights on the low branch, and the high branch's map.

        The high branch (1x1 projection, then its half of the 1x1 output
        convolution) is two linear maps in a row; they are composed into
        one ``(n_outputs, high_channels)`` matrix and bias, so the
        full-resolution map goes straight to ``n_outputs`` channels instead
        of through ``hidden`` of them.
        """
        hidden = self.high_proj.out_channels
        out_weight = self.out.weight.flatten(1)
        low_weight, high_out_weight = out_weight[:, :hidden], out_weight[:, hidden:]
        high_weight = high_out_weight @ self.high_proj.weight.flatten(1)
        high_bias = high_out_weight @ self.high_proj.bias + self.out.bias
        return low_weight, high_weight, high_bias

    def prepare(self, high, low):
        """The tau-independent part of the head, computed once per image.

        Parameters
        ----------
        high : Tensor of shape (B, high_channels, h1, w1)
            High-resolution (shallow) features.
        low : Tensor of shape (B, low_channels, h2, w2)
            Low-resolution (deep) features.

        Returns
        -------
        low_projected : Tensor of shape (B, hidden, h2, w2)
            The low-resolution map after the projection's convolution, before
            its batch norm.
        high_out : Tensor of shape (B, n_outputs, h1, w1)
            The high-resolution branch's contribution to the output, bias
            included.
        """
        _, high_weight, high_bias = self._out_weights()
        low_projected = self.low_proj[0](low)
        high_out = _conv1x1(high, high_weight, high_bias)
        return low_projected, high_out

    def forward(self, prepared, tau, output_size):
        """Per-pixel outputs at ``output_size`` for the given thresholds.

        Parameters
        ----------
        prepared : tuple of Tensor
            ``(low_projected, high_out)`` from :meth:`prepare`, for the same
            images as ``tau``.
        tau : Tensor of shape (B,)
            Threshold of each image.
        output_size : tuple of int
            ``(H, W)`` of the output, usually the image size.

        Returns
        -------
        out : Tensor of shape (B, n_outputs, H, W)
            Bilinearly upsampled outputs of the 1x1 convolution.
        """
        low_projected, high_out = prepared
        low_weight, high_weight, _ = self._out_weights()
        conv, batch_norm, relu = self.low_proj
        tau = tau.to(low_projected.dtype).view(-1, 1)
        # conv(x + offset) = conv(x) + conv(offset) for the bias-free 1x1 conv
        low_offset = F.linear(self.tau_low(tau), conv.weight.flatten(1))
        low = relu(batch_norm(low_projected + low_offset[:, :, None, None]))
        low = _conv1x1(low, low_weight)
        # The high branch's tau offset is one constant per image and channel,
        # which bilinear upsampling leaves unchanged (its weights sum to 1):
        # it is added at the low resolution, before the upsampling, instead
        # of to every pixel of the full-resolution map.
        high_offset = F.linear(self.tau_high(tau), high_weight)
        low = _resize(low + high_offset[:, :, None, None], high_out.shape[-2:])
        return _resize(low + high_out, output_size)


def _conv1x1(x, weight, bias=None):
    """1x1 convolution of ``x`` (B, C, H, W) with a ``(out, C)`` weight matrix.

    On a channels-last map (what the backbones return for the channel-last
    packed input, see :func:`~sklearn_p2p.nn.split_input`) this is one
    matrix product over the pixels, ``(B H W, C) @ (C, out)``, done as
    :func:`torch.nn.functional.linear` on the channel-last view; its output is
    channels-last again. For the few output channels of the head (``1 + K``)
    this is cheaper than a convolution, mostly in the backward pass (measured
    in ``docs/performance.rst``: 87 against 57 ms forward and backward for a
    96x96 map of 32 channels, batch 64, on one CPU thread). Other layouts
    keep the convolution. The result is the same up to float rounding.
    """
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return F.linear(x.permute(0, 2, 3, 1), weight, bias).permute(0, 3, 1, 2)
    return F.conv2d(x, weight[:, :, None, None], bias)


def _resize(x, size):
    """Bilinear resize (align_corners=False); a no-op at the same size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class Selector(nn.Module):
    """Backbone features computed once, head evaluated per tau.

    Parameters
    ----------
    backbone : nn.Module
        Returns a list of feature maps, highest resolution first.
    channels : tuple of int
        Widths of the first and last map of ``backbone``.
    n_embedding_dims : int
        K, the rank of the region covariance.
    initial_keep_logit : float, default=0.0
        Initial bias of the selection logit (see :class:`SelectorHead`).

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import Selector, create_feature_extractor
    >>> backbone, channels = create_feature_extractor("tiny_cnn", in_chans=3)
    >>> selector = Selector(backbone, channels, n_embedding_dims=3)
    >>> images = torch.rand(2, 3, 16, 16)
    >>> features = selector.features(images)  # once per batch
    >>> selector(features, torch.tensor([0.1, 0.9]), (16, 16)).shape
    torch.Size([2, 4, 16, 16])
    """

    def __init__(self, backbone, channels, n_embedding_dims, initial_keep_logit=0.0):
        super().__init__()
        self.backbone = backbone
        self.head = SelectorHead(
            channels[0], channels[1], 1 + n_embedding_dims, initial_keep_logit=initial_keep_logit
        )

    def features(self, x):
        """Everything of the selector that does not depend on tau, computed once.

        The backbone runs on the images and the head's tau-independent part
        (:meth:`SelectorHead.prepare`) on its first and last feature maps.

        Parameters
        ----------
        x : Tensor of shape (B, C, H, W)
            Normalised images.

        Returns
        -------
        features : tuple of Tensor
            What :meth:`forward` takes; every tensor's first dimension is the
            batch, so a subset of images is ``tuple(f[index] for f in
            features)``.
        """
        maps = self.backbone(x)
        return self.head.prepare(maps[0], maps[-1])

    def forward(self, features, tau, output_size):
        """Per-pixel ``(logit, embedding)`` of shape ``(B, 1 + K, H, W)``.

        Parameters
        ----------
        features : tuple of Tensor
            From :meth:`features`, for the same images as ``tau``.
        tau : Tensor of shape (B,)
            Threshold of each image.
        output_size : tuple of int
            ``(H, W)`` of the output.

        Returns
        -------
        out : Tensor of shape (B, 1 + K, H, W)
            Channel 0 is the selection logit, channels 1..K the embedding.
        """
        return self.head(features, tau, output_size)
