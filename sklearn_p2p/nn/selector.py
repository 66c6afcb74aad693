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
    as a learned per-channel offset added to both maps, so one set of
    backbone features serves every tau during the dynamic-threshold search.

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
    >>> head(high, low, tau=torch.tensor([0.2, 0.5]), output_size=(32, 32)).shape
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

    def forward(self, high, low, tau, output_size):
        """Per-pixel outputs at ``output_size`` for the given thresholds.

        Parameters
        ----------
        high : Tensor of shape (B, high_channels, h1, w1)
            High-resolution (shallow) features.
        low : Tensor of shape (B, low_channels, h2, w2)
            Low-resolution (deep) features.
        tau : Tensor of shape (B,)
            Threshold of each image.
        output_size : tuple of int
            ``(H, W)`` of the output, usually the image size.

        Returns
        -------
        out : Tensor of shape (B, n_outputs, H, W)
            Bilinearly upsampled outputs of the 1x1 convolution.
        """
        tau = tau.to(high.dtype).view(-1, 1)
        high = high + self.tau_high(tau)[:, :, None, None]
        low = low + self.tau_low(tau)[:, :, None, None]
        low = self.low_proj(low)
        low = F.interpolate(low, size=high.shape[-2:], mode="bilinear", align_corners=False)
        merged = torch.cat([low, self.high_proj(high)], dim=1)
        out = self.out(merged)
        return F.interpolate(out, size=output_size, mode="bilinear", align_corners=False)


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
        """Backbone features of a batch, computed once for every tau.

        Parameters
        ----------
        x : Tensor of shape (B, C, H, W)
            Normalised images.

        Returns
        -------
        high : Tensor
            The backbone's first (highest-resolution) feature map.
        low : Tensor
            The backbone's last (lowest-resolution) feature map.
        """
        maps = self.backbone(x)
        return maps[0], maps[-1]

    def forward(self, features, tau, output_size):
        """Per-pixel ``(logit, embedding)`` of shape ``(B, 1 + K, H, W)``.

        Parameters
        ----------
        features : tuple of Tensor
            ``(high, low)`` from :meth:`features`.
        tau : Tensor of shape (B,)
            Threshold of each image.
        output_size : tuple of int
            ``(H, W)`` of the output.

        Returns
        -------
        out : Tensor of shape (B, 1 + K, H, W)
            Channel 0 is the selection logit, channels 1..K the embedding.
        """
        high, low = features
        return self.head(high, low, tau, output_size)
