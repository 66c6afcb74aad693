"""One explanation contract for every model and explainer of the package.

Whatever explains -- P2P's selection, a Blackbox's fixed mask, ERSM's mask,
the gradients of S-IB or of the smoothed adversarial model, AGOP, Integrated
Gradients -- answers ``explain(X)`` with bool masks and
``explain(X, return_details=True)`` with the continuous map behind them and
the prediction explained, and is accepted by the metrics and plots.
"""

import numpy as np
import pytest

from sklearn_p2p import SuperpixelTransformer
from sklearn_p2p.baselines import BlackboxClassifier
from sklearn_p2p.explainers import AGOPExplainer, GradientExplainer
from sklearn_p2p.metrics import (
    insertion_auc,
    localization_score,
    relevance_mass_score,
    top_k_precision_score,
)
from sklearn_p2p.models import ERSMClassifier, SIBClassifier, SmoothedAdversarialClassifier

FIT = dict(max_epochs=1, batch_size=16, random_state=0, verbose=0)
MODELS = {
    "ERSM": lambda: ERSMClassifier(**FIT),
    "S-IB": lambda: SIBClassifier(**FIT),
    "smoothed-adversarial": lambda: SmoothedAdversarialClassifier(eps=2 / 255, n_steps=2,
                                                                  **FIT),
}


@pytest.fixture(scope="module")
def blackbox(tiny_data):
    clf = BlackboxClassifier(superpixels=SuperpixelTransformer(n_segments=16), **FIT)
    return clf.fit(tiny_data.images, tiny_data.target)


def _explainers(name, tiny_data, fitted_p2p, blackbox):
    if name == "P2P":
        return fitted_p2p
    if name == "blackbox":
        return blackbox
    if name == "AGOP":
        return AGOPExplainer(blackbox, variant="weighted").fit(tiny_data.images[:16])
    if name == "IG":
        return GradientExplainer(blackbox, "integrated_gradients", n_steps=4)
    return MODELS[name]().fit(tiny_data.images, tiny_data.target)


@pytest.mark.parametrize("name", ["P2P", "blackbox", "AGOP", "IG", *MODELS])
def test_every_explainer_follows_the_contract(name, tiny_data, fitted_p2p, blackbox):
    explainer = _explainers(name, tiny_data, fitted_p2p, blackbox)
    X, truth = tiny_data.images[:6], tiny_data.masks[:6]
    masks = explainer.explain(X)
    assert masks.dtype == bool and masks.shape == (6, 24, 24)
    details = explainer.explain(X, return_details=True)
    np.testing.assert_array_equal(details["masks"], masks)
    attributions = np.asarray(details["attributions"])
    assert attributions.shape == (6, 24, 24) and np.isfinite(attributions).all()
    assert details["proba"].shape == (6, 3)
    model = getattr(explainer, "estimator", explainer)
    np.testing.assert_array_equal(details["y_pred"],
                                  model.classes_[details["proba"].argmax(axis=1)])
    # The mask is the top of the map: no dropped pixel outranks a kept one.
    for mask, attribution in zip(masks, attributions):
        if mask.any() and (~mask).any():
            assert attribution[mask].min() >= attribution[~mask].max() - 1e-6
    # Metrics of masks and of maps, and fidelity, accept it.
    assert 0.0 <= localization_score(masks, truth) <= 1.0
    assert 0.0 <= relevance_mass_score(attributions, truth) <= 1.0
    assert 0.0 <= top_k_precision_score(attributions, truth) <= 1.0
    assert 0.0 <= insertion_auc(explainer, X, details=details) <= 1.0


@pytest.mark.parametrize("name", ["AGOP", "IG", *MODELS])
def test_continuous_methods_match_a_given_sparsity_per_image(name, tiny_data, fitted_p2p,
                                                             blackbox):
    explainer = _explainers(name, tiny_data, fitted_p2p, blackbox)
    X = tiny_data.images[:4]
    kept = fitted_p2p.explain(X, return_details=True).kept_fraction
    explainer.set_params(kept_fraction=kept)
    masks = explainer.explain(X)
    n_pixels = 24 * 24
    np.testing.assert_array_equal(masks.sum(axis=(1, 2)), np.ceil(kept.astype(float) * n_pixels - 0.01))
