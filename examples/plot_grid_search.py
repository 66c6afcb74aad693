"""
Tuning segment count, sparsity and delta with GridSearchCV
==========================================================

Superpixels are an ordinary pipeline step, so
:class:`~sklearn.model_selection.GridSearchCV` can tune the segment count
together with P2P's own hyper-parameters. Accuracy alone would favour keeping
every pixel; the scorers of :mod:`sklearn_p2p.metrics` score the
explanations too. :data:`~sklearn_p2p.metrics.localization_scorer` needs the
ground-truth object masks, which reach it through scikit-learn's metadata
routing, sliced to each test fold like ``y``.
"""

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd
import sklearn
from sklearn.model_selection import GridSearchCV, ShuffleSplit
from sklearn.pipeline import make_pipeline

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.metrics import kept_fraction_scorer, localization_scorer

FAST = os.environ.get("SKLEARN_P2P_FAST_EXAMPLES") == "1"
sklearn.set_config(enable_metadata_routing=True)

# Two shape classes at 24x24 keep the eight candidates quick on a CPU.
data = make_cluttered_objects(n_samples=40 if FAST else 300, image_size=24, n_classes=2,
                              random_state=0)

# %%
# The pipeline computes superpixels once per fit and hands them to P2P as a
# precomputed label channel. ``delta`` is only used at prediction time, but
# searching it here shows its effect next to the others. One train/test split
# (``ShuffleSplit``) rather than k folds, because every candidate trains a
# network.
pipe = make_pipeline(
    SuperpixelTransformer(),
    P2PClassifier(superpixels="precomputed", max_epochs=1 if FAST else 10, lr=3e-3,
                  batch_size=16, random_state=0, verbose=0),
)
param_grid = {
    "superpixeltransformer__n_segments": [16, 32],
    "p2pclassifier__lambda1": [1.0, 10.0],
    "p2pclassifier__delta": [0.9, 0.99],
}
search = GridSearchCV(
    pipe,
    param_grid,
    cv=ShuffleSplit(n_splits=1, test_size=1 / 3, random_state=0),
    scoring={
        "accuracy": "accuracy",
        "localization": localization_scorer,
        "sparsity": kept_fraction_scorer,  # minus the kept fraction
    },
    refit=False,  # the table is what we are after here
)
search.fit(data.images, data.target, masks=data.masks)

# %%
# The results: accuracy, the share of kept pixels on the object, and the kept
# fraction, per candidate. At this budget (200 training images, 10 epochs,
# a network trained from scratch) the models stay near chance, so read the
# table for how the search is set up rather than for which settings win; with
# the data and epochs of ``plot_quick_start.py`` P2P reaches over 90%. The
# candidates with ``lambda1=10`` keep almost nothing: a strong sparsity weight
# needs a classifier that has already learned.
results = pd.DataFrame(search.cv_results_)
columns = {
    "param_superpixeltransformer__n_segments": "n_segments",
    "param_p2pclassifier__lambda1": "lambda1",
    "param_p2pclassifier__delta": "delta",
    "mean_test_accuracy": "accuracy",
    "mean_test_localization": "localization",
    "mean_test_sparsity": "-kept",
}
table = results[list(columns)].rename(columns=columns)
print(table.sort_values("accuracy", ascending=False).to_string(index=False))
print("best by accuracy:", table.sort_values("accuracy").iloc[-1].to_dict())

# %%
# Accuracy against kept fraction for every candidate: lower delta and larger
# lambda1 keep fewer pixels.
fig, ax = plt.subplots(figsize=(5, 3.5))
kept = -table["-kept"]
ax.scatter(kept, table["accuracy"], c=table["localization"], cmap="viridis")
for (_, row), k in zip(table.iterrows(), kept):
    ax.annotate(f"{row.n_segments}/{row.lambda1:g}/{row.delta}", (k, row.accuracy),
                fontsize="x-small")
ax.set_xlabel("mean kept fraction")
ax.set_ylabel("accuracy")
ax.set_title("n_segments / lambda1 / delta (colour: localization)", fontsize="small")
plt.show()

sklearn.set_config(enable_metadata_routing=False)
