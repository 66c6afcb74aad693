"""Explainers of any fitted classifier of the package (post-hoc).

Each wraps a fitted classifier (:class:`~sklearn_p2p.P2PClassifier`,
:class:`~sklearn_p2p.baselines.BlackboxClassifier` or a model of
:mod:`sklearn_p2p.models`) and explains its predictions through the
explanation protocol of :mod:`sklearn_p2p.metrics`: bool masks of the top
pixels (or regions) of a continuous map at a ``kept_fraction``, and the map
itself as ``attributions``. The prediction explained is the classifier's on
the full image; ``predict_proba_masked`` is the classifier's own.

- :class:`AGOPExplainer`: gradients weighted by the diagonal of the average
  gradient outer product over the training images, or that diagonal alone.
- :class:`GradientExplainer`: saliency, input x gradient, integrated
  gradients, SmoothGrad and Grad-CAM, through Captum.
- :class:`LimeBaseline`: LIME weights of the classifier's superpixels.

:class:`ExplainedClassifier` pairs an unfitted classifier with an explainer
as one estimator, so that ``cross_validate`` and ``GridSearchCV`` fit both
per fold and score post-hoc explanations next to models that explain
themselves.
"""

from ._agop import AGOPExplainer
from ._explained import ExplainedClassifier
from ._gradient import GradientExplainer
from ._lime import LimeBaseline, top_regions_mask

__all__ = ["AGOPExplainer", "ExplainedClassifier", "GradientExplainer", "LimeBaseline", "top_regions_mask"]
