"""A classifier that sees images through binary pixel masks.

Shared by :class:`~sklearn_p2p.nn.P2PNetwork` and the baselines, so that
every model normalises its input and blacks out masked pixels the same way.
"""

import torch
from torch import nn

from .backbones import create_classifier, normalization_constants

__all__ = ["MaskedClassifier", "split_input"]


def split_input(X):
    """Split ``(B, H, W, C + 1)`` input into a ``(B, C, H, W)`` image and labels."""
    return X[..., :-1].permute(0, 3, 1, 2), X[..., -1].round().long()


class MaskedClassifier(nn.Module):
    """Classifier backbone fed ``m * x + (1 - m) * black``.

    ``black`` is the value of a 0 pixel after the backbone's normalisation,
    so a masked pixel carries no information, whatever the normalisation.

    Parameters
    ----------
    n_classes : int
    in_chans : int
    classifier : str
        ``"tiny_cnn"`` or a timm model name.
    pretrained : bool or path
    """

    def __init__(self, n_classes, in_chans=3, classifier="tiny_cnn", pretrained=False):
        super().__init__()
        self.classifier = create_classifier(
            classifier, num_classes=n_classes, in_chans=in_chans, pretrained=pretrained
        )
        mean, std = normalization_constants(classifier, pretrained, in_chans)
        self.register_buffer("mean", mean.view(1, -1, 1, 1))
        self.register_buffer("std", std.view(1, -1, 1, 1))
        self.n_classes = n_classes

    def normalize(self, image):
        return (image - self.mean) / self.std

    def classify_pixels(self, image, pixel_mask):
        """Logits on a normalised ``(B, C, H, W)`` image under a ``(B, H, W)`` mask."""
        pixel_mask = pixel_mask.unsqueeze(1).to(image.dtype)
        black = (0.0 - self.mean) / self.std
        return self.classifier(pixel_mask * image + (1 - pixel_mask) * black)

    @torch.no_grad()
    def classify_masked(self, X, pixel_masks):
        """Classifier logits for ``X`` with any given pixel masks applied.

        Any selector is bypassed: this is how fidelity metrics and baselines
        query the classifier on masks the model did not choose itself.

        Parameters
        ----------
        X : Tensor of shape (B, H, W, C + 1)
        pixel_masks : Tensor of shape (B, H, W)
            1 (or True) where the pixel is kept.
        """
        image, _ = split_input(X)
        return self.classify_pixels(self.normalize(image), pixel_masks)
