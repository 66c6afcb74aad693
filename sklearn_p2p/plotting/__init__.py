"""Plotting utilities for P2P explanations (matplotlib is imported lazily)."""

from ._explanations import plot_explanations

__all__ = ["plot_explanations"]
