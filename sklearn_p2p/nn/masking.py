"""A classifier that sees images through binary pixel masks.

Shared by :class:`~sklearn_p2p.nn.P2PNetwork` and the baselines, so that
every model normalises its input and blacks out masked pixels the same way.
"""

import torch
from torch import nn

from ..utils._docstrings import fill_doc
from ..utils._packed import unpack
from ._precision import full_precision
from .backbones import create_classifier, last_feature_stage, normalization_constants

__all__ = ["ImageNetwork", "MaskedClassifier", "split_input"]


def split_input(X):
    """Split ``(B, H, W, C + 1)`` input into a ``(B, C, H, W)`` image and labels.

    Parameters
    ----------
    X : Tensor of shape (B, H, W, C + 1)
        Channel-last images followed by the superpixel label map, as
        :class:`~sklearn_p2p.SuperpixelTransformer` produces them.

    Returns
    -------
    image : Tensor of shape (B, C, H, W)
        The images, channel first (a view of ``X``).
    segments : LongTensor of shape (B, H, W)
        The label maps, rounded to integers.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import split_input
    >>> image, segments = split_input(torch.zeros(2, 8, 8, 4))
    >>> image.shape, segments.dtype
    (torch.Size([2, 3, 8, 8]), torch.int64)
    """
    image, segments = unpack(X)
    return image.permute(0, 3, 1, 2), segments.round().long()


@fill_doc
class MaskedClassifier(nn.Module):
    """Classifier backbone fed ``m * x + (1 - m) * black``.

    ``black`` is the value of a 0 pixel after the backbone's normalisation,
    so a masked pixel carries no information, whatever the normalisation.

    Parameters
    ----------
    %(classifier_network)s
    pretrained : bool or path, default=False
        ``False``: random initialisation; ``True``: timm's pretrained
        weights; a path: a local weights file (see
        :func:`create_classifier`).

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import MaskedClassifier
    >>> model = MaskedClassifier(n_classes=4, in_chans=3)
    >>> X = torch.rand(2, 16, 16, 4)  # images and (ignored) label maps
    >>> keep_left_half = torch.zeros(2, 16, 16)
    >>> keep_left_half[:, :, :8] = 1
    >>> model.classify_masked(X, keep_left_half).shape
    torch.Size([2, 4])
    """

    def __init__(self, n_classes, in_chans=3, classifier="tiny_cnn", pretrained=False):
        super().__init__()
        self.classifier = self._build_classifier(n_classes, in_chans, classifier, pretrained)
        mean, std = normalization_constants(classifier, pretrained, in_chans)
        self.register_buffer("mean", mean.view(1, -1, 1, 1))
        self.register_buffer("std", std.view(1, -1, 1, 1))
        self.n_classes = n_classes

    def _build_classifier(self, n_classes, in_chans, classifier, pretrained):
        """The module from normalised ``(B, C, H, W)`` images to logits.

        Subclasses whose classifier is more than a backbone (ERSM's masked
        one) override this hook; the normalisation stays the backbone's.
        """
        return create_classifier(
            classifier, num_classes=n_classes, in_chans=in_chans, pretrained=pretrained
        )

    def normalize(self, image):
        """Normalise a ``(B, C, H, W)`` image in [0, 1] as the backbone expects.

        Parameters
        ----------
        image : Tensor of shape (B, C, H, W)
            Values in [0, 1].

        Returns
        -------
        normalized : Tensor of shape (B, C, H, W)
            ``(image - mean) / std`` with the backbone's per-channel
            constants.
        """
        return (image - self.mean) / self.std

    def classify_pixels(self, image, pixel_mask):
        """Logits on a normalised ``(B, C, H, W)`` image under a ``(B, H, W)`` mask.

        Parameters
        ----------
        image : Tensor of shape (B, C, H, W)
            Normalised images (see :meth:`normalize`).
        pixel_mask : Tensor of shape (B, H, W)
            Values in [0, 1]: 1 keeps a pixel, 0 replaces it with black, and
            values in between blend the two (the relaxed masks of training).

        Returns
        -------
        logits : Tensor of shape (B, n_classes)
            The classifier's output on ``m * x + (1 - m) * black``.
        """
        pixel_mask = pixel_mask.unsqueeze(1).to(image.dtype)
        black = (0.0 - self.mean) / self.std
        # float32 logits under mixed precision too (the search compares their
        # softmax with delta, the loss takes their log-softmax).
        return full_precision(self.classifier(pixel_mask * image + (1 - pixel_mask) * black))

    def image_logits(self, image):
        """Differentiable logits of the classifier on full images in [0, 1].

        What the gradient explainers differentiate: for P2P it is its
        classifier alone, without the selection.

        Parameters
        ----------
        image : Tensor of shape (B, C, H, W)
            Images in [0, 1], channel first (not normalised).

        Returns
        -------
        logits : Tensor of shape (B, n_classes)
            The classifier's output on the normalised images.
        """
        return full_precision(self.classifier(self.normalize(image)))

    def attribution_layer(self):
        """The module whose output is the last spatial feature map (for Grad-CAM).

        Returns
        -------
        layer : nn.Module
            The last stage of the classifier backbone: the last
            :class:`TinyFeatureExtractor` stage, or the module timm's
            ``feature_info`` names last.
        """
        return last_feature_stage(self.classifier)

    @torch.no_grad()
    def classify_images(self, images, pixel_masks):
        """Classifier logits for channel-last images under given pixel masks.

        Any selector is bypassed: this is how fidelity metrics and baselines
        query the classifier on masks the model did not choose itself.

        Parameters
        ----------
        images : Tensor of shape (B, H, W, C)
            Images in [0, 1], channel last.
        pixel_masks : Tensor of shape (B, H, W)
            1 (or True) where the pixel is kept.

        Returns
        -------
        logits : Tensor of shape (B, n_classes)
            Classifier logits, computed without gradients.
        """
        return self.classify_pixels(self.normalize(images.permute(0, 3, 1, 2)), pixel_masks)

    def classify_masked(self, X, pixel_masks):
        """:meth:`classify_images` on packed input (the label map is ignored).

        Parameters
        ----------
        X : Tensor of shape (B, H, W, C + 1)
            Images in [0, 1] followed by the label map.
        pixel_masks : Tensor of shape (B, H, W)
            As for :meth:`classify_images`.

        Returns
        -------
        logits : Tensor of shape (B, n_classes)
            As :meth:`classify_images` returns them.
        """
        return self.classify_images(unpack(X)[0], pixel_masks)


@fill_doc
class ImageNetwork(MaskedClassifier):
    """The classifier on full channel-last images: the plain network.

    The network of the package's classifiers that read images without
    superpixels (:class:`~sklearn_p2p.models.SIBClassifier`,
    :class:`~sklearn_p2p.models.SmoothedAdversarialClassifier`).

    Parameters
    ----------
    %(classifier_network)s
    pretrained : bool or path, default=False
        As for :class:`~sklearn_p2p.nn.MaskedClassifier`.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import ImageNetwork
    >>> ImageNetwork(n_classes=3, in_chans=1)(torch.rand(2, 16, 16, 1)).shape
    torch.Size([2, 3])
    """

    def forward(self, X):
        """Logits of channel-last images.

        Parameters
        ----------
        X : Tensor of shape (B, H, W, C)
            Images in [0, 1].

        Returns
        -------
        logits : Tensor of shape (B, n_classes)
            The classifier's output on the full images.
        """
        return self.image_logits(X.permute(0, 3, 1, 2))
