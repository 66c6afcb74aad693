"""The package's logger and its progress bars over inference batches.

Messages go to ``logging.getLogger("sklearn_p2p")``, which has a
:class:`logging.NullHandler` so that nothing is printed unless the
application configures logging (``logging.basicConfig(level=logging.INFO)``
shows them). Warnings that ask for action stay :mod:`warnings`.
"""

import logging

logger = logging.getLogger("sklearn_p2p")
logger.addHandler(logging.NullHandler())


def progress(iterable, description, *, enabled, total=None):
    """``iterable`` with a tqdm progress bar on stderr when ``enabled``.

    The bar is removed once done (``leave=False``), so that a verbose
    ``predict`` inside a loop does not fill the screen.
    """
    if not enabled:
        return iterable
    from tqdm.auto import tqdm  # a dependency of skorch

    if total is None:
        try:
            total = len(iterable)
        except TypeError:
            total = None
    return tqdm(iterable, desc=description, total=total, leave=False, unit="batch")
