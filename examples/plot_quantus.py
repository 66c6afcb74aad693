"""
Scoring explanations with Quantus
=================================

`Quantus <https://github.com/understandable-machine-intelligence-lab/Quantus>`_
is the toolkit the XAI literature uses to score explanations; Captum and
pytorch-grad-cam compute them. All three take a ``torch.nn.Module`` from
channel-first images to logits and channel-first numpy arrays.
:mod:`sklearn_p2p.interop` turns the package's estimators and explanations
into those formats, so that P2P's explanations and post-hoc ones can be
scored by Quantus next to the package's own metrics.

Here a :class:`~sklearn_p2p.P2PClassifier` (explained by its own superpixel
selection) and a :class:`~sklearn_p2p.baselines.BlackboxClassifier`
(explained post hoc by Integrated Gradients) are scored by both. Quantus is
optional (``pip install quantus``; LGPL): the package never imports it.
"""

# %%
import os
import warnings

import numpy as np
import pandas as pd
import quantus
import torch
from scipy.stats import ConstantInputWarning

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.baselines import BlackboxClassifier
from sklearn_p2p.datasets import make_cluttered_objects
from sklearn_p2p.explainers import GradientExplainer
from sklearn_p2p.interop import (
    as_torch_module,
    explain_func,
    images_to_channels_first,
    to_channels_first,
)
from sklearn_p2p.metrics import (
    pointing_game_score,
    relative_input_stability,
    relevance_mass_score,
    sparseness_score,
)

FAST = os.environ.get("SKLEARN_P2P_FAST_EXAMPLES") == "1"
n_train, n_test = (60, 12) if FAST else (300, 32)
epochs = 2 if FAST else 15

data = make_cluttered_objects(n_samples=n_train + n_test, image_size=24, random_state=0)
X_train, y_train = data.images[:n_train], data.target[:n_train]
X_test, masks_test = data.images[n_train:], data.masks[n_train:]

# %%
# Two models and their explanations
# ---------------------------------
# P2P's explanation is the selection its prediction was made from; its
# continuous ``attributions`` are the selection probabilities of the
# regions, painted onto their pixels. The black box is explained by
# Integrated Gradients, computed by Captum through
# :class:`~sklearn_p2p.explainers.GradientExplainer`.
# Both are small and briefly trained, so that the example runs in seconds:
# read the scores below as a demonstration of the tools, not as a result.
superpixels = SuperpixelTransformer(n_segments=40)
common = dict(max_epochs=epochs, batch_size=16, lr=3e-3, random_state=0, verbose=0)
p2p = P2PClassifier(superpixels=superpixels, lambda1=1.0, **common).fit(X_train, y_train)
blackbox = BlackboxClassifier(superpixels=superpixels, **common).fit(X_train, y_train)
ig = GradientExplainer(blackbox, method="integrated_gradients")
explanations = {
    "P2P": (p2p, p2p.explain(X_test, return_details=True)),
    "IG (blackbox)": (blackbox, ig.explain(X_test, return_details=True)),
}
print(f"test accuracy: P2P {p2p.score(X_test, data.target[n_train:]):.2f}, blackbox "
      f"{blackbox.score(X_test, data.target[n_train:]):.2f}; the object covers "
      f"{masks_test.mean():.2f} of the image")

# %%
# Quantus' formats
# ----------------
# :func:`~sklearn_p2p.interop.images_to_channels_first` reads the images as
# the estimator does (uint8 divided by 255) into ``x_batch``;
# :func:`~sklearn_p2p.interop.to_channels_first` lays out the maps and masks
# ``(N, H, W)`` as ``(N, 1, H, W)``. ``y_batch`` holds column indices of
# ``classes_``: here the predicted classes, which the explanations explain.
# :func:`~sklearn_p2p.interop.as_torch_module` is the model: its softmax is
# ``predict_proba``; for P2P it segments and selects inside ``forward``.
x_batch = images_to_channels_first(p2p, X_test)
s_batch = to_channels_first(masks_test)
batches = {}
for name, (estimator, details) in explanations.items():
    model = as_torch_module(estimator)
    with torch.no_grad():
        proba = torch.softmax(model(torch.as_tensor(x_batch)), dim=1).numpy()
    print(f"{name}: max |softmax(model(x)) - predict_proba(X)| = "
          f"{np.abs(proba - details.proba).max():.1e}")
    batches[name] = dict(model=model, x_batch=x_batch,
                         y_batch=np.searchsorted(estimator.classes_, details.y_pred),
                         a_batch=to_channels_first(details.attributions), s_batch=s_batch)

# %%
# The same metrics, twice
# -----------------------
# Three metrics exist in both libraries. Quantus returns one value per image;
# the package's functions average them (``average=False`` gives them too).
# ``disable_warnings`` silences Quantus' notes on each metric's assumptions.
quiet = dict(disable_warnings=True)
rows = []
for name, (_, details) in explanations.items():
    maps, batch = details.attributions, batches[name]
    pairs = {
        "pointing game": (quantus.PointingGame(**quiet),
                          pointing_game_score(maps, masks_test)),
        "relevance mass": (quantus.RelevanceMassAccuracy(**quiet),
                           relevance_mass_score(maps, masks_test)),
        "sparseness": (quantus.Sparseness(**quiet), sparseness_score(maps)),
    }
    for metric, (quantus_metric, ours) in pairs.items():
        theirs = np.nanmean(np.asarray(quantus_metric(**batch), dtype=float))
        rows.append(dict(method=name, metric=metric, sklearn_p2p=ours, quantus=theirs))
table = pd.DataFrame(rows).set_index(["metric", "method"]).sort_index()
print(table.round(3).to_string())

# %%
# Relevance mass and sparseness agree to float precision: the same formulas.
# The pointing game can differ on P2P: its maps are constant on each region,
# so the maximum is a whole region, and Quantus counts a hit when any pixel
# of the maximum lies on the object; the package scores the share of the
# tied pixels on the object (the expected hit of a random tie-break, so a
# flat map scores chance, not 1). IG's maps have a single maximum, and both
# agree.
#
# Metrics that call the model
# ---------------------------
# Quantus' faithfulness and robustness metrics run the model on perturbed
# images; the module computes P2P's superpixels and selection for each of
# them. The relative input stability (RIS) explains the perturbed images
# again: :func:`~sklearn_p2p.interop.explain_func` gives Quantus the
# estimator's own explanation, or an explainer's
# (``explain_func_kwargs``). The package's
# :func:`~sklearn_p2p.metrics.relative_input_stability` is reported in
# log10; Quantus' value is converted to match. Quantus draws its
# perturbations from NumPy's global generator: seeding it makes the scores
# reproducible.
rows = []
for name, (estimator, details) in explanations.items():
    batch = batches[name]
    np.random.seed(0)
    with warnings.catch_warnings():
        # A prediction no perturbation changes has an undefined correlation (NaN).
        warnings.filterwarnings("ignore", category=ConstantInputWarning)
        faithfulness = quantus.FaithfulnessCorrelation(
            nr_runs=20, subset_size=32, return_aggregate=False, **quiet)(**batch)
    explainer_kwargs = {} if name == "P2P" else {"explainer": GradientExplainer}
    ris = quantus.RelativeInputStability(nr_samples=5, **quiet)(
        model=batch["model"], x_batch=batch["x_batch"], y_batch=batch["y_batch"],
        explain_func=explain_func, explain_func_kwargs=explainer_kwargs)
    ours = relative_input_stability(estimator if name == "P2P" else ig, X_test,
                                    random_state=0)
    # NaN where every perturbation changed the prediction.
    theirs = np.nanmean(np.log10(np.asarray(ris, dtype=float)))
    rows.append({"method": name,
                 "faithfulness corr. (quantus)": np.nanmean(faithfulness),
                 "log10 RIS (quantus)": theirs, "log10 RIS (sklearn_p2p)": ours})
print(pd.DataFrame(rows).set_index("method").round(2).to_string())

# %%
# The two RIS columns are not expected to be equal, and need not even rank
# the methods alike: Quantus perturbs with uniform noise of up to 0.2 and
# keeps the maps as they are, the package perturbs with Gaussian noise of
# standard deviation 0.05 and normalises each map to a maximum of 1. A
# larger perturbation moves more of P2P's superpixel boundaries, and with
# them its map. Compare methods within one column, and report which
# definition (and noise) a number comes from.
#
# Faithfulness correlation is not in the package. It correlates the drop of
# the predicted class's probability when random pixel subsets are set to
# black with the attribution those pixels carry; for P2P, setting pixels to
# black can change the superpixels and the selection themselves, so a low
# value does not mean the selection was not what the prediction rested on
# (its prediction is made from the selected pixels alone). The package's
# insertion and deletion curves
# (:func:`~sklearn_p2p.metrics.fidelity_curve`) measure that instead.
#
# Captum and pytorch-grad-cam take the same module: e.g.
# ``captum.attr.IntegratedGradients(model).attribute(x, target=...)``, and,
# for Grad-CAM, the layer ``model.attribution_layer()``.
