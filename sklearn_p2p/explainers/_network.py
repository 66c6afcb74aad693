"""Running a fitted classifier's network on images, with gradients.

Every post-hoc explainer of :mod:`sklearn_p2p.explainers` differentiates the
same function: ``module_.image_logits``, the classifier's logits on full
images in [0, 1] (channel first). This module reads the images as the
estimator reads them and hands them over in batches on the network's device.
"""

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "ImageLogits", "batch_size_for", "check_explained_estimator", "image_batches",
    "network_device", "read_images",
]


class ImageLogits(torch.nn.Module):
    """``network.image_logits`` as a module: what Captum differentiates.

    Parameters
    ----------
    network : MaskedClassifier
        A fitted estimator's ``module_``.
    """

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, image):
        """Logits of ``(B, C, H, W)`` images in [0, 1]."""
        return self.network.image_logits(image)


def check_explained_estimator(estimator, caller):
    """Raise a clear error unless ``estimator`` is a fitted classifier of the package."""
    if not hasattr(estimator, "_read_images") or not hasattr(estimator, "module"):
        raise TypeError(
            f"{caller} explains a classifier of this package (P2PClassifier, "
            "BlackboxClassifier or a model of sklearn_p2p.models); got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    network = estimator.module_
    if not callable(getattr(network, "image_logits", None)):
        raise TypeError(
            f"{caller} differentiates module_.image_logits(images), which the "
            f"network {type(network).__name__} of {type(estimator).__name__} "
            "lacks; build networks on sklearn_p2p.nn.MaskedClassifier."
        )
    return network


def read_images(estimator, X):
    """The images of ``X`` as ``estimator`` reads them: float32 (n, H, W, C) in [0, 1]."""
    return estimator._read_images(X, reset=False).images


def network_device(network):
    """The device of the network's weights."""
    return next(network.parameters()).device


def image_batches(images, batch_size, device):
    """``(start, tensor)`` pairs: ``(B, C, H, W)`` float32 batches on ``device``."""
    for start in range(0, len(images), batch_size):
        chunk = np.ascontiguousarray(images[start:start + batch_size])
        yield start, torch.as_tensor(chunk, device=device).permute(0, 3, 1, 2)


def batch_size_for(batch_size, estimator, n_images):
    """Images per backward pass: the explainer's, else the estimator's.

    skorch's ``batch_size=-1`` (or anything not positive) means one batch of
    all images.
    """
    size = batch_size or getattr(estimator, "batch_size", None)
    return int(size) if size is not None and size > 0 else max(n_images, 1)
