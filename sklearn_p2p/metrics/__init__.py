"""Metrics and scorers for the explanations of P2P and similar models.

Localization compares explanation masks with ground-truth object masks:
:func:`localization_score` (the paper's ``|m & m_true| / |m|``),
:func:`mask_iou_score`, and the chance level :func:`object_fraction`.
Continuous attribution maps (``attributions`` of an explanation) are scored
against the object by :func:`top_k_precision_score`, :func:`top_k_iou_score`,
:func:`relevance_mass_score` and :func:`pointing_game_score`, and alone by
:func:`sparseness_score`. They take ``(attributions, masks_true)`` in the
order of :func:`localization_score`. The stability of an explainer under
small input noise is :func:`relative_input_stability` and
:func:`relative_output_stability`.

Faithfulness is measured by insertion and deletion fidelity
(:func:`fidelity_curve`, :func:`insertion_auc`, :func:`deletion_auc`): the
regions of the explanation are added to a black image, or removed from the
explanation, in order of selection probability, and the share of images whose
prediction stays the model's own prediction on the explanation is recorded.

The scorers follow scikit-learn's ``scorer(estimator, X, y)`` convention,
greater is better, for ``cross_validate`` and ``GridSearchCV``:

====================================  ========================================
``localization_scorer``               :func:`localization_score`; requests
                                      ``masks``
``insertion_auc_scorer``              :func:`insertion_auc`
``deletion_auc_scorer``               ``-deletion_auc`` (negated: lower AUC
                                      is better)
``kept_fraction_scorer``              ``-kept_fraction_score`` (negated:
                                      sparser wins)
``top_k_precision_scorer``            :func:`top_k_precision_score`;
                                      requests ``masks``
``top_k_iou_scorer``                  :func:`top_k_iou_score`; requests
                                      ``masks``
``relevance_mass_scorer``             :func:`relevance_mass_score`; requests
                                      ``masks``
``pointing_game_scorer``              :func:`pointing_game_score`; requests
                                      ``masks``
``sparseness_scorer``                 :func:`sparseness_score`
``relative_input_stability_scorer``   ``-relative_input_stability`` (negated:
                                      more stable wins), seeded noise
``relative_output_stability_scorer``  ``-relative_output_stability``, seeded
====================================  ========================================

:func:`make_explanation_scorer` builds others. The ground-truth masks reach
the scorers that request them through metadata routing, sliced to each test fold::

    sklearn.set_config(enable_metadata_routing=True)
    GridSearchCV(pipe, grid, refit="accuracy",
                 scoring={"accuracy": "accuracy",
                          "localization": localization_scorer},
                 ).fit(X, y, masks=masks)
"""

from .. import _explanation
from ._attribution import (
    sparseness_score,
    pointing_game_score,
    relevance_mass_score,
    top_k_iou_score,
    top_k_precision_score,
)
from ._fidelity import deletion_auc, fidelity_curve, insertion_auc
from ._localization import (
    kept_fraction_score,
    localization_score,
    mask_iou_score,
    object_fraction,
)
from ._stability import relative_input_stability, relative_output_stability
from ._scorers import (
    deletion_auc_scorer,
    insertion_auc_scorer,
    kept_fraction_scorer,
    localization_scorer,
    make_explanation_scorer,
    pointing_game_scorer,
    relative_input_stability_scorer,
    relative_output_stability_scorer,
    relevance_mass_scorer,
    sparseness_scorer,
    top_k_iou_scorer,
    top_k_precision_scorer,
)

# The protocol is written down once, in _explanation; the metrics' page shows
# it. Under ``python -OO`` there is no docstring to extend.
if __doc__ is not None:
    __doc__ += _explanation.PROTOCOL_DOC

__all__ = [
    "deletion_auc",
    "deletion_auc_scorer",
    "fidelity_curve",
    "insertion_auc",
    "insertion_auc_scorer",
    "kept_fraction_score",
    "kept_fraction_scorer",
    "localization_score",
    "localization_scorer",
    "make_explanation_scorer",
    "mask_iou_score",
    "object_fraction",
    "pointing_game_score",
    "pointing_game_scorer",
    "relative_input_stability",
    "relative_input_stability_scorer",
    "relative_output_stability",
    "relative_output_stability_scorer",
    "relevance_mass_score",
    "relevance_mass_scorer",
    "sparseness_score",
    "sparseness_scorer",
    "top_k_iou_score",
    "top_k_iou_scorer",
    "top_k_precision_score",
    "top_k_precision_scorer",
]
