"""Sphinx configuration for sklearn_p2p.

Build with ``make docs`` (or ``.venv/bin/sphinx-build -W --keep-going docs
docs/_build/html``); warnings are errors, and so is a failing gallery example.
"""

import os
import re
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import sklearn_p2p

project = "sklearn_p2p"
author = "sklearn_p2p developers"
copyright = "the sklearn_p2p developers"
release = sklearn_p2p.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
html_theme = "alabaster"
html_static_path = ["_static"]

# -- autodoc / autosummary / numpydoc ----------------------------------------
autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
# Class pages come from _templates/autosummary/class.rst, which lists the
# methods a class or one of the package's own (private) bases defines;
# numpydoc must not add its own member tables.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False


def _documented_methods():
    """Fully qualified public class name -> the methods its page documents."""
    import importlib
    import inspect
    import pkgutil

    from sklearn_p2p.utils._docstrings import documented_methods

    modules = ["sklearn_p2p"] + [
        info.name for info in pkgutil.iter_modules(sklearn_p2p.__path__, "sklearn_p2p.")
        if not info.name.rsplit(".", 1)[-1].startswith("_")
    ]
    methods = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj):
                methods[f"{module_name}.{name}"] = documented_methods(obj)
    return methods


autosummary_context = {"documented_methods": _documented_methods()}

# -- intersphinx, with an offline fallback -----------------------------------
# Links into these projects' documentation need their ``objects.inv``
# inventories, which Sphinx downloads at build time. Without network access
# the download fails with a warning, and ``-W`` turns that into an error, so
# the docs would not build offline. No installed package ships these
# inventories, so before the build each inventory URL is probed (a HEAD
# request, a few seconds at most) and the projects that cannot be reached are
# left out of ``intersphinx_mapping``: references to them then render as plain
# code instead of links, which is not a warning (``nitpicky`` is off). The
# environment variable P2P_DOCS_INTERSPHINX chooses the behaviour:
#
#   auto (default)  probe, keep the reachable projects, print what was dropped;
#   on              keep every project without probing: an unreachable
#                   inventory is then a warning, i.e. an error under -W (for a
#                   build that must have working links, e.g. a release);
#   off             no intersphinx links at all, no network access.
INTERSPHINX_PROJECTS = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "sklearn": "https://scikit-learn.org/stable",
    "torch": "https://docs.pytorch.org/docs/stable",
    "skorch": "https://skorch.readthedocs.io/en/stable",
    "skimage": "https://scikit-image.org/docs/stable",
    "joblib": "https://joblib.readthedocs.io/en/stable",
    "matplotlib": "https://matplotlib.org/stable",
}
intersphinx_timeout = 10


def _inventory_reachable(url, timeout=5.0):
    """Whether ``url/objects.inv`` answers (a HEAD request; honours proxies)."""
    request = urllib.request.Request(url.rstrip("/") + "/objects.inv", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except urllib.error.HTTPError as error:
        return error.code == 405  # HEAD not allowed, but the server is there
    except (OSError, ValueError):
        return False


def _intersphinx_mapping(projects, mode):
    mode = mode.strip().lower()
    if mode in {"off", "0", "false", "no"}:
        return {}
    if mode in {"on", "1", "true", "yes"}:
        return {name: (url, None) for name, url in projects.items()}
    if mode not in {"", "auto"}:
        raise ValueError(
            f"P2P_DOCS_INTERSPHINX must be 'auto', 'on' or 'off'; got {mode!r}."
        )
    with ThreadPoolExecutor(max_workers=len(projects)) as pool:
        reachable = dict(zip(projects, pool.map(_inventory_reachable, projects.values())))
    dropped = sorted(name for name, ok in reachable.items() if not ok)
    if dropped:
        print(
            f"intersphinx: cannot reach the inventories of {', '.join(dropped)}; "
            "building without links to them (P2P_DOCS_INTERSPHINX=on makes "
            "this an error).",
            file=sys.stderr,
        )
    return {name: (url, None) for name, url in projects.items() if reachable[name]}


intersphinx_mapping = _intersphinx_mapping(
    INTERSPHINX_PROJECTS, os.environ.get("P2P_DOCS_INTERSPHINX", "auto")
)

# -- sphinx-gallery ------------------------------------------------------------
# Every examples/plot_*.py is run and rendered into auto_examples/; a failing
# example fails the build. Other files there (examples/demo.py, the README's
# main job) are not part of the gallery and are never run by it.
#
# The gallery's index page text is examples/GALLERY_HEADER.rst.


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run (and render) only plot_*.py; skip every other file entirely.
    "filename_pattern": re.escape(os.sep) + r"plot_",
    "ignore_pattern": r"^(?!plot_)",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "doc_module": ("sklearn_p2p",),
    "backreferences_dir": "generated/backreferences",
    "min_reported_time": 1,
    # No sg_execution_times.rst at the top of docs/ (it would be a tracked-looking
    # file outside the ignored build folders); each example page shows its time.
    "write_computation_times": False,
}


# -- docs of module-level scorer objects -----------------------------------------
def _attribute_comment(obj, name):
    """The ``#:`` comment of a module-level object defined in sklearn_p2p.

    autodoc looks for the comment in the module a name is documented under
    (``sklearn_p2p.metrics``), not where the object is defined (e.g.
    ``sklearn_p2p.metrics._scorers``), so it is looked up here.
    """
    from sphinx.pycode import ModuleAnalyzer

    for modname, module in list(sys.modules.items()):
        if not modname.startswith("sklearn_p2p") or getattr(module, name, None) is not obj:
            continue
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:  # noqa: BLE001 - compiled or source-less modules
            continue
        if ("", name) in docs:
            return list(docs[("", name)])
    return None


def _document_data_with_comment(app, what, name, obj, options, lines):
    if what != "data" or not name.startswith("sklearn_p2p."):
        return
    comment = _attribute_comment(obj, name.rsplit(".", 1)[-1])
    if comment:
        lines[:0] = [*comment, ""]


def setup(app):
    app.connect("autodoc-process-docstring", _document_data_with_comment)
