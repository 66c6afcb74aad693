"""Sphinx configuration for sklearn_p2p."""

import sklearn_p2p

project = "sklearn_p2p"
release = sklearn_p2p.__version__
version = release
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    "torch": ("https://pytorch.org/docs/stable", None),
}
html_theme = "alabaster"
exclude_patterns = ["_build"]
