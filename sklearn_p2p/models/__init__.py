"""Classifiers trained so that they explain themselves.

Each is a scikit-learn classifier of whole images trained with its method's
own objective, and explains its predictions through the explanation protocol
of :mod:`sklearn_p2p.metrics` (``explain(X, return_details=False)``), as
:class:`~sklearn_p2p.P2PClassifier` does:

- :class:`ERSMClassifier`: an energy-regularised spatial mask on the last
  feature map; the explanation is the mask's keep probability.
- :class:`SIBClassifier`: cross-entropy plus the spatial information
  bottleneck on the input gradients; explained by its gradient.
- :class:`SmoothedAdversarialClassifier`: PGD adversarial training with an
  optional Gaussian feature-map smoothing block; explained by its gradient.

Explainers of any fitted classifier (gradients, AGOP, LIME) are in
:mod:`sklearn_p2p.explainers`.
"""

from ._adversarial import SmoothedAdversarialClassifier
from ._base import BackboneClassifier
from ._ersm import ERSMClassifier
from ._sib import SIBClassifier

__all__ = ["BackboneClassifier", "SmoothedAdversarialClassifier", "ERSMClassifier", "SIBClassifier"]
