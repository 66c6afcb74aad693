"""
Detecting a shortcut with the explanations
==========================================

A model can be accurate for the wrong reason. Here the background is planted
as a shortcut: in the training data every class comes with its own kind of
photograph behind the digit (:func:`~sklearn_p2p.datasets.make_pasted_objects`
with ``spurious_correlation=1``). Because a P2P prediction is made from the
kept regions only, the masks show where the evidence came from, and the exact
object masks measure it.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_pasted_objects
from sklearn_p2p.metrics import localization_score
from sklearn_p2p.plotting import plot_explanations

FAST = os.environ.get("SKLEARN_P2P_FAST_EXAMPLES") == "1"
n_train, n_test = (60, 30) if FAST else (600, 200)
epochs = 2 if FAST else 15


def make(spurious, seed):
    return make_pasted_objects(n_samples=n_train + n_test, image_size=32, n_classes=3,
                               spurious_correlation=spurious, random_state=seed)


def fit_p2p(data):
    clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=50),
                        max_epochs=epochs, random_state=0, verbose=0)
    return clf.fit(data.images[:n_train], data.target[:n_train])


# %%
# Two models: one trained where the background gives the class away, one on
# unbiased data. Both are tested on unbiased images, where only the digit
# tells the class.
biased_train, fair_train = make(1.0, seed=0), make(0.0, seed=1)
test = make(0.0, seed=2)
X_test, y_test, masks_test = test.images[n_train:], test.target[n_train:], test.masks[n_train:]

for name, train in [("biased", biased_train), ("fair", fair_train)]:
    clf = fit_p2p(train)
    seen = clf.explain(train.images[n_train:], return_details=True)
    print(f"{name:6s} model: accuracy on its own kind of data "
          f"{np.mean(seen.y_pred == train.target[n_train:]):.2f}, on unbiased data "
          f"{clf.score(X_test, y_test):.2f}; kept pixels on the digit "
          f"{localization_score(seen.masks, train.masks[n_train:]):.2f} "
          f"(digit covers {train.masks[n_train:].mean():.2f})")
    if name == "biased":
        biased_clf, biased_details = clf, seen

# %%
# The biased model's masks on its own kind of data. Where they keep the
# background rather than the digit, the model has taken the shortcut, and the
# explanation says so without any post-hoc attribution: these pixels are all
# its classifier saw.
images = biased_train.images[n_train:n_train + 6]
titles = [f"{test.target_names[p]} tau={t:.2f}"
          for p, t in zip(biased_details.y_pred[:6], biased_details.tau[:6])]
plot_explanations(images, biased_details.masks[:6], segments=biased_details.segments[:6],
                  titles=titles, n_cols=2)
plt.show()
