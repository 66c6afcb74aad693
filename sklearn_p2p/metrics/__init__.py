"""Metrics and scorers for the explanations of P2P and similar models.

Localization compares explanation masks with ground-truth object masks:
:func:`localization_score` (the paper's ``|m & m_true| / |m|``),
:func:`mask_iou_score`, and the chance level :func:`object_fraction`.
Continuous attribution maps (``attributions`` of an explanation) are scored
by :func:`top_k_precision`, :func:`top_k_iou`, :func:`relevance_mass` and
:func:`pointing_game` against the object, and by :func:`gini_sparseness`
alone.

Faithfulness is measured by insertion and deletion fidelity
(:func:`fidelity_curve`, :func:`insertion_auc`, :func:`deletion_auc`): the
regions of the explanation are added to a black image, or removed from the
explanation, in order of selection probability, and the share of images whose
prediction stays the model's own prediction on the explanation is recorded.

The scorers follow scikit-learn's ``scorer(estimator, X, y)`` convention,
greater is better, for ``cross_validate`` and ``GridSearchCV``:

============================  ================================================
``localization_scorer``       :func:`localization_score`; requests ``masks``
``insertion_auc_scorer``      :func:`insertion_auc`
``deletion_auc_scorer``       ``-deletion_auc`` (negated: lower AUC is better)
``kept_fraction_scorer``      ``-kept_fraction_score`` (negated: sparser wins)
============================  ================================================

:func:`make_explanation_scorer` builds others. The ground-truth masks reach
``localization_scorer`` through metadata routing, sliced to each test fold::

    sklearn.set_config(enable_metadata_routing=True)
    GridSearchCV(pipe, grid, refit="accuracy",
                 scoring={"accuracy": "accuracy",
                          "localization": localization_scorer},
                 ).fit(X, y, masks=masks)
"""

from .. import _explanation
from ._attribution import (
    gini_sparseness,
    pointing_game,
    relevance_mass,
    top_k_iou,
    top_k_precision,
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
)

# The protocol is written down once, in _explanation; the metrics' page shows
# it. Under ``python -OO`` there is no docstring to extend.
if __doc__ is not None:
    __doc__ += _explanation.PROTOCOL_DOC

__all__ = [
    "deletion_auc",
    "deletion_auc_scorer",
    "fidelity_curve",
    "gini_sparseness",
    "insertion_auc",
    "insertion_auc_scorer",
    "kept_fraction_score",
    "kept_fraction_scorer",
    "localization_score",
    "localization_scorer",
    "make_explanation_scorer",
    "mask_iou_score",
    "object_fraction",
    "pointing_game",
    "relative_input_stability",
    "relative_output_stability",
    "relevance_mass",
    "top_k_iou",
    "top_k_precision",
]
