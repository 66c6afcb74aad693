"""
P2P and the related methods, side by side
=========================================

The four related methods of the seed documents answer P2P's question --
which parts of the image a decision rests on -- by other means. Here they
are trained and explained on one data set with exact object masks, and
compared through the one explanation contract of the package:

- :class:`~sklearn_p2p.P2PClassifier`: predicts from a binary selection of
  superpixels;
- :class:`~sklearn_p2p.models.ERSMClassifier`: an energy-regularised mask on
  its last feature map;
- :class:`~sklearn_p2p.models.SIBClassifier`: trained with a spatial
  information bottleneck on its input gradients;
- :class:`~sklearn_p2p.models.SmoothedAdversarialClassifier`: adversarial
  training with a Gaussian feature-map smoothing block;
- a :class:`~sklearn_p2p.baselines.BlackboxClassifier` explained post hoc by
  :class:`~sklearn_p2p.explainers.AGOPExplainer` (AGOP-Weighted) and by
  Integrated Gradients (:class:`~sklearn_p2p.explainers.GradientExplainer`).

Every mask of the continuous methods keeps the top pixels of its map at
P2P's own kept fraction of each image, so that all are compared at the same
sparsity.
"""

# %%
import os

import matplotlib.pyplot as plt

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.baselines import BlackboxClassifier
from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.explainers import AGOPExplainer, GradientExplainer
from sklearn_p2p.metrics import localization_score, relevance_mass_score, top_k_precision_score
from sklearn_p2p.models import ERSMClassifier, SIBClassifier, SmoothedAdversarialClassifier

FAST = os.environ.get("SKLEARN_P2P_FAST_EXAMPLES") == "1"
n_train, n_test = (60, 16) if FAST else (600, 100)
epochs = 2 if FAST else 15

data = make_cluttered_objects(n_samples=n_train + n_test, image_size=32, random_state=0)
X_train, y_train = data.images[:n_train], data.target[:n_train]
X_test, y_test, masks_test = (data.images[n_train:], data.target[n_train:],
                              data.masks[n_train:])
common = dict(max_epochs=epochs, batch_size=32, lr=3e-3, random_state=0, verbose=0)

# %%
# Training
# --------
# P2P and the black box share their superpixels; the three trained methods
# read whole images. All use the small built-in CNN (``"tiny_cnn"``); any timm
# backbone name works the same way.
# P2P keeps its own defaults (it trains its classifier before the sparsity
# pull sets in); the smoothed adversarial model attacks half of the batches
# at eps 2/255 (the authors' 8/255 does not train at this scale, see
# :doc:`/related/adversarial`).
superpixels = SuperpixelTransformer(n_segments=50)
p2p = P2PClassifier(superpixels=superpixels, max_epochs=2 if FAST else 20, random_state=0,
                    verbose=0).fit(X_train, y_train)
blackbox = BlackboxClassifier(superpixels=superpixels, **common).fit(X_train, y_train)
models = {
    "ERSM": ERSMClassifier(**common),
    "S-IB": SIBClassifier(**common),
    "smoothed adv.": SmoothedAdversarialClassifier(
        eps=2 / 255, step_size=0.5 / 255, n_steps=7, adversarial_share=0.5, **common),
}
for model in models.values():
    model.fit(X_train, y_train)

# %%
# Explaining at P2P's sparsity
# ----------------------------
# P2P's masks decide the kept fraction of every test image; the other
# methods keep that many of the top pixels of their own map.
p2p_details = p2p.explain(X_test, delta=0.9, return_details=True)
kept = p2p_details.kept_fraction
explanations = {"P2P": p2p_details}
for name, model in models.items():
    explanations[name] = model.set_params(kept_fraction=kept).explain(
        X_test, return_details=True)
agop = AGOPExplainer(blackbox, variant="weighted", kept_fraction=kept).fit(X_train)
explanations["AGOP-W (blackbox)"] = agop.explain(X_test, return_details=True)
ig = GradientExplainer(blackbox, "integrated_gradients", kept_fraction=kept)
explanations["IG (blackbox)"] = ig.explain(X_test, return_details=True)

# %%
# The masks, side by side
# -----------------------
# One row per image, one column per method: the pixels each keeps.
n_shown = 4
fig, axes = plt.subplots(n_shown, len(explanations) + 1,
                         figsize=(1.6 * (len(explanations) + 1), 1.7 * n_shown))
for row in range(n_shown):
    axes[row, 0].imshow(X_test[row])
    axes[row, 0].contour(masks_test[row], levels=[0.5], colors="yellow", linewidths=0.8)
    for col, (name, details) in enumerate(explanations.items(), start=1):
        axes[row, col].imshow(X_test[row] * details.masks[row][..., None])
        if row == 0:
            axes[row, col].set_title(name, fontsize="small")
axes[0, 0].set_title("image (object)", fontsize="small")
for axis in axes.ravel():
    axis.set_axis_off()
fig.tight_layout()
plt.show()

# %%
# The maps behind the masks
# -------------------------
# The continuous ``attributions`` of each explanation (P2P: its region
# selection probabilities painted onto the pixels), scaled per image.
fig, axes = plt.subplots(n_shown, len(explanations),
                         figsize=(1.6 * len(explanations), 1.7 * n_shown))
for col, (name, details) in enumerate(explanations.items()):
    for row in range(n_shown):
        attribution = details.attributions[row]
        axes[row, col].imshow(attribution / max(attribution.max(), 1e-12), cmap="viridis",
                              vmin=0, vmax=1)
        axes[row, col].set_axis_off()
    axes[0, col].set_title(name, fontsize="small")
fig.tight_layout()
plt.show()

# %%
# Scores
# ------
# Accuracy of the model explained, the share of kept pixels on the object
# (localization, at equal sparsity), and two scores of the continuous map:
# the share of its mass on the object and the precision of its top-k pixels
# (k = the object's size). The object covers this share of the images:
print(f"object share of the image: {masks_test.mean():.2f}; mean kept fraction "
      f"{kept.mean():.2f}\n")
accuracy = {"P2P": p2p.score(X_test, y_test),
            "AGOP-W (blackbox)": blackbox.score(X_test, y_test),
            "IG (blackbox)": blackbox.score(X_test, y_test)}
accuracy.update({name: model.score(X_test, y_test) for name, model in models.items()})
print(f"{'method':18s} {'accuracy':>8s} {'localization':>12s} {'rel. mass':>9s} "
      f"{'top-k prec.':>11s}")
for name, details in explanations.items():
    print(f"{name:18s} {accuracy[name]:8.2f} "
          f"{localization_score(details.masks, masks_test):12.2f} "
          f"{relevance_mass_score(details.attributions, masks_test):9.2f} "
          f"{top_k_precision_score(details.attributions, masks_test):11.2f}")

# %%
# At this size (600 images, 15 to 20 epochs from scratch on a CPU) P2P and
# the adversarial model are still far below the accuracy they reach with
# longer training (see the benchmarks pages), so read the scores as a demo
# of the comparison, not as its result.
#
# How to read it: P2P's mask is the input its prediction was made from, the
# others rank the pixels of an image the model saw whole. A method that
# localizes the object well at P2P's sparsity points at the same evidence;
# how faithful each ranking is to its model is what
# :func:`~sklearn_p2p.metrics.fidelity_curve` measures (see the user guide).
