"""Plotting utilities for P2P explanations.

matplotlib (and scikit-image's segmentation module) are imported lazily,
inside the functions that draw: importing :mod:`sklearn_p2p` or this module
does not import them.

The Display classes follow scikit-learn's visualization API: create one with
``from_estimator`` (or from precomputed arrays with the constructor and
:meth:`plot`); the matplotlib artists are stored on the display as attributes
ending in ``_`` (``figure_``, ``ax_`` or ``axes_``, ...).

- :func:`plot_explanations`: image | superpixels | kept regions, from arrays;
- :class:`ExplanationDisplay`: the same from an estimator, with the
  prediction, its certainty and tau in the titles;
- :class:`RegionProbabilityDisplay`: heat map of the region selection
  probabilities ``sigmoid(mu_j)``;
- :class:`PartEmbeddingDisplay`: the region embeddings ``E_j`` (K = 3) as
  colours;
- :class:`FidelityCurveDisplay`: insertion and deletion fidelity curves,
  for one model or several on one axes;
- :class:`DeltaCurveDisplay`: mean kept fraction (and accuracy) against the
  certainty delta.
"""

from ._delta import DeltaCurveDisplay
from ._embeddings import PartEmbeddingDisplay
from ._explanations import ExplanationDisplay, plot_explanations
from ._fidelity import FidelityCurveDisplay
from ._regions import RegionProbabilityDisplay

__all__ = [
    "DeltaCurveDisplay",
    "ExplanationDisplay",
    "FidelityCurveDisplay",
    "PartEmbeddingDisplay",
    "RegionProbabilityDisplay",
    "plot_explanations",
]
