"""
Choosing delta: accuracy against the kept fraction
==================================================

At inference P2P raises the threshold tau per image, step by step, until the
classifier's certainty ``max_c p(c | x_m)`` reaches ``delta``. A lower delta
stops earlier, so masks are sparser and predictions a little less accurate.
Because delta is used at prediction time only, one trained model can be
explained at every delta without refitting, and the trade-off read off the
curve.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.plotting import DeltaCurveDisplay

FAST = os.environ.get("SKLEARN_P2P_FAST_EXAMPLES") == "1"
n_train, n_test = (60, 20) if FAST else (800, 200)

data = make_cluttered_objects(n_samples=n_train + n_test, image_size=32, random_state=0)
X_train, y_train = data.images[:n_train], data.target[:n_train]
X_test, y_test = data.images[n_train:], data.target[n_train:]

clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=50),
                    max_epochs=2 if FAST else 20, random_state=0, verbose=0)
clf.fit(X_train, y_train)

# %%
# Kept fraction and accuracy for several deltas, from one fitted model.
deltas = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
display = DeltaCurveDisplay.from_estimator(clf, X_test, y_test, deltas=deltas, name="P2P")
for delta, kept, accuracy in zip(display.deltas, display.kept_fraction, display.accuracy):
    print(f"delta={delta:.2f}: kept fraction {kept:.3f}, accuracy {accuracy:.3f}")
plt.show()

# %%
# How tau is distributed at two deltas: with the lower one most images are
# decided from a small fraction of their regions.
fig, ax = plt.subplots(figsize=(5, 3))
for delta in (0.7, 0.99):
    tau = clf.explain(X_test, delta=delta, return_details=True).tau
    ax.hist(tau, bins=np.arange(0.025, 1.05, 0.05), alpha=0.6, label=f"delta={delta}")
ax.set_xlabel("tau chosen per image")
ax.set_ylabel("images")
ax.legend()
plt.show()
