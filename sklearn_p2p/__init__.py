"""Inherently interpretable image classification by superpixel selection (P2P).

The estimators follow scikit-learn's API: :class:`P2PClassifier` trains the
P2P network of Vandenhirtz & Vogt (ICML 2025) and explains every prediction
with the binary superpixel mask it was made from;
:class:`SuperpixelTransformer` computes the superpixels as a Pipeline step,
and :class:`SuperpixelDataset` computes them lazily for a torch Dataset too
large for memory.
"""

from ._accelerate import AcceleratedP2PClassifier
from ._classifier import P2PClassifier
from ._superpixel_dataset import SuperpixelDataset
from ._superpixels import SuperpixelTransformer

__version__ = "0.1.0.dev0"

__all__ = [
    "AcceleratedP2PClassifier",
    "P2PClassifier", "SuperpixelDataset", "SuperpixelTransformer",
    "__version__",
]
