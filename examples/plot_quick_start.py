"""
Quick start: train P2P and look at what it predicts from
========================================================

:class:`~sklearn_p2p.P2PClassifier` is used like any scikit-learn classifier:
``fit``, ``predict``, ``score``. What sets it apart is
:meth:`~sklearn_p2p.P2PClassifier.explain`: the binary mask of superpixels
that each prediction was made from. The classifier inside P2P never sees the
pixels outside that mask, so the mask is not an approximation of the model's
reasoning but the input itself.

The images come from :func:`~sklearn_p2p.datasets.make_cluttered_objects`:
the class is the shape of one object (its colour is random), placed among
clutter, and the data set knows exactly where each object is.
"""

# %%
# Data
# ----
# Set ``SKLEARN_P2P_FAST_EXAMPLES=1`` to run this example at toy scale (the
# test suite does).
import os

import matplotlib.pyplot as plt
import numpy as np

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.metrics import localization_score
from sklearn_p2p.plotting import plot_explanations

FAST = os.environ.get("SKLEARN_P2P_FAST_EXAMPLES") == "1"
n_train, n_test = (60, 20) if FAST else (800, 200)

data = make_cluttered_objects(n_samples=n_train + n_test, image_size=32, random_state=0)
labels = np.asarray(data.target_names)[data.target]
X_train, X_test = data.images[:n_train], data.images[n_train:]
y_train, y_test = labels[:n_train], labels[n_train:]
print(X_train.shape, X_train.dtype, "classes:", data.target_names)

# %%
# Train
# -----
# Fifty SLIC superpixels per image; the selector and the classifier are the
# small built-in CNN, trained from scratch on the CPU. ``random_state`` makes
# the run repeatable.
clf = P2PClassifier(
    superpixels=SuperpixelTransformer(n_segments=50),
    max_epochs=2 if FAST else 20,
    random_state=0,
    verbose=0,
)
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Explain
# -------
# ``explain`` returns one boolean mask per image. With
# ``return_details=True`` it also returns the threshold tau chosen for each
# image by dynamic thresholding, the prediction made from the mask and its
# probabilities.
details = clf.explain(X_test, return_details=True)
print(f"mean kept fraction of pixels: {details.kept_fraction.mean():.3f}")
print(f"share of kept pixels on the object: "
      f"{localization_score(details.masks, data.masks[n_train:]):.3f} "
      f"(the object covers {data.masks[n_train:].mean():.3f} of an image)")

# %%
# Each row: the image, its superpixels, and the regions P2P kept: exactly what
# its classifier saw.
titles = [
    f"{pred} p={proba.max():.2f} tau={tau:.2f}"
    for pred, proba, tau in zip(details.y_pred, details.proba, details.tau)
]
plot_explanations(X_test[:6], details.masks[:6], segments=details.segments[:6],
                  titles=titles[:6], n_cols=2)
plt.show()
