"""
Explain and visualise: masks, selection probabilities and part embeddings
=========================================================================

:meth:`~sklearn_p2p.P2PClassifier.explain` returns more than the masks. With
``return_details=True`` it gives, per image, the selection probability
``sigmoid(mu_j)`` of every superpixel, the threshold tau chosen by dynamic
thresholding, and the region embeddings ``E_j`` that tie related regions
together through the covariance ``E E^T``. The displays of
:mod:`sklearn_p2p.plotting` show each of them.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.plotting import (
    ExplanationDisplay,
    FidelityCurveDisplay,
    PartEmbeddingDisplay,
    RegionProbabilityDisplay,
)

FAST = os.environ.get("SKLEARN_P2P_FAST_EXAMPLES") == "1"
n_train, n_test = (60, 20) if FAST else (800, 100)

data = make_cluttered_objects(n_samples=n_train + n_test, image_size=32, random_state=0)
labels = np.asarray(data.target_names)[data.target]
X_train, y_train = data.images[:n_train], labels[:n_train]
X_test = data.images[n_train:]

clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=50),
                    max_epochs=2 if FAST else 20, random_state=0, verbose=0)
clf.fit(X_train, y_train)

# %%
# The kept regions
# ----------------
# Image, superpixels, and the regions the classifier saw; the title gives the
# prediction, its certainty and the threshold tau used for the image.
ExplanationDisplay.from_estimator(clf, X_test, n_images=4)
plt.show()

# %%
# Selection probabilities
# -----------------------
# ``sigmoid(mu_j)`` per superpixel: at inference a region is kept when this
# exceeds 0.5 at the chosen tau (the red outline). Regions just below 0.5
# are the next ones a higher certainty ``delta`` would add.
RegionProbabilityDisplay.from_estimator(clf, X_test, n_images=4)
plt.show()

# %%
# Part embeddings
# ---------------
# The K = 3 region embeddings ``E_j`` as colours (scaled per image). Regions
# with similar colours have correlated selection logits, so they tend to be
# kept or dropped together: the learned notion of "parts of one thing".
PartEmbeddingDisplay.from_estimator(clf, X_test, n_images=4)
plt.show()

# %%
# Faithfulness
# ------------
# Insertion adds the kept regions to a black image in order of selection
# probability, deletion removes them; the curves show how often the
# prediction matches the model's own prediction from the full mask.
FidelityCurveDisplay.from_estimator(clf, X_test, kind="both", name="P2P")
plt.show()
