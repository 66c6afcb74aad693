"""Data set generators with exact ground-truth object masks."""

from ._synthetic import make_cluttered_objects

__all__ = ["make_cluttered_objects"]
