"""
Reading the training curves: the loss, its terms and the schedules
==================================================================

P2P's training loss is the cross-entropy of the classifier on the masked
image plus ``lambda1`` times a sparsity penalty plus ``lambda2`` times a
covariance penalty. ``lambda1`` is not constant: the ``sparsity_warmup``
callback ramps it up while the relaxed-Bernoulli temperature is annealed. So
the total loss can *rise* for a few epochs without anything going wrong: the
weight of the sparsity term grows, and as the masks shrink the classifier
sees less of each image.

Every epoch of skorch's ``history`` holds what it takes to tell these apart:
``train_cross_entropy``, ``train_sparsity`` and ``train_covariance`` (the
terms, unweighted), ``train_kept_fraction``, ``lambda1`` and ``temperature``,
with ``train_loss = train_cross_entropy + lambda1 * train_sparsity + lambda2
* train_covariance``. With a validation split (``train_split``) the same
terms of the validation batches are recorded as ``valid_cross_entropy``,
``valid_sparsity``, ``valid_covariance`` and ``valid_kept_fraction``.
"""

# %%
# Train
# -----
# Set ``SKLEARN_P2P_FAST_EXAMPLES=1`` to run this example at toy scale (the
# test suite does). The run is short, to show the curves in seconds, far too
# short to learn the task well (the quick start trains longer on more
# images). With ``verbose=1`` skorch prints one row per epoch, where the
# ``lambda1`` column shows the warm-up next to the loss.
import os

import matplotlib.pyplot as plt
import numpy as np

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_cluttered_objects

FAST = os.environ.get("SKLEARN_P2P_FAST_EXAMPLES") == "1"
n_images, n_epochs = (40, 4) if FAST else (300, 16)

data = make_cluttered_objects(n_samples=n_images, image_size=32, n_classes=3, random_state=0)
clf = P2PClassifier(
    superpixels=SuperpixelTransformer(n_segments=30),
    max_epochs=n_epochs,
    lr=3e-3,
    batch_size=16,
    random_state=0,
    verbose=1,
)
clf.fit(data.images, data.target)

# %%
# The loss, its terms and the schedules
# -------------------------------------
# ``history[:, name]`` has one value per epoch: the mean over the epoch's
# batches, weighted by their sizes as skorch weights ``train_loss``. The
# shaded epochs are the ramp of ``lambda1`` (trained from scratch: 0 until
# 30% of the epochs, the full ``lambda1`` from 70% on).
history = clf.history
epochs = np.asarray(history[:, "epoch"])
lambda1 = np.asarray(history[:, "lambda1"])
ramp = epochs[(lambda1 > 0) & (lambda1 < clf.lambda1)]

fig, axes = plt.subplots(3, 1, figsize=(6, 8), sharex=True)
ax = axes[0]
ax.plot(epochs, history[:, "train_loss"], "k-o", label="train_loss")
ax.plot(epochs, history[:, "train_cross_entropy"], "-o", label="train_cross_entropy")
ax.plot(epochs, lambda1 * np.asarray(history[:, "train_sparsity"]), "-o",
        label="lambda1 * train_sparsity")
ax.plot(epochs, clf.lambda2 * np.asarray(history[:, "train_covariance"]), "-o",
        label="lambda2 * train_covariance")
ax.set_ylabel("loss")
ax.legend(fontsize="small")

ax = axes[1]
ax.plot(epochs, lambda1, "-o", color="C3", label="lambda1")
ax.set_ylabel("lambda1")
twin = ax.twinx()
twin.plot(epochs, history[:, "temperature"], "-s", color="C4", label="temperature")
twin.set_ylabel("temperature")
ax.legend(handles=ax.get_lines() + twin.get_lines(), fontsize="small", loc="center right")

ax = axes[2]
ax.plot(epochs, history[:, "train_kept_fraction"], "-o", color="C5",
        label="train_kept_fraction")
ax.set_ylim(0, 1.05)
ax.set_ylabel("expected kept fraction")
ax.set_xlabel("epoch")
ax.legend(fontsize="small")
for ax in axes:
    if len(ramp):
        ax.axvspan(ramp[0] - 0.5, ramp[-1] + 0.5, color="0.9", zorder=0)
fig.tight_layout()
plt.show()

# %%
# Before the ramp, ``train_loss`` is the cross-entropy alone and falls. In the
# first epoch with ``lambda1 > 0`` it jumps: the selector still keeps most of
# each image, far above the random thresholds tau, and ``lambda1 *
# train_sparsity`` dominates. The selector answers by keeping much less
# (``train_kept_fraction`` drops), so that term falls back, while the
# cross-entropy rises because the classifier now sees only part of each
# image. That rise is the warm-up doing its job, not a diverging run: the
# ``lambda1`` column says so. ``train_kept_fraction`` is the *expected* share
# of kept pixels of the training masks, at random thresholds tau; predictions
# use dynamic thresholding instead (see the quick start).
print(f"lambda1 per epoch: {np.round(lambda1, 2).tolist()}")
print(f"train_loss per epoch: {np.round(history[:, 'train_loss'], 3).tolist()}")
last = history[-1]
print(f"last epoch: cross-entropy {last['train_cross_entropy']:.3f}, "
      f"sparsity {last['train_sparsity']:.3f}, covariance {last['train_covariance']:.3f}, "
      f"kept fraction {last['train_kept_fraction']:.3f}")
