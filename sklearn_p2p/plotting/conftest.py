"""The doctests of sklearn_p2p.plotting draw off screen and leave no figure open.

This way the Examples show the code a user writes, without a backend
choice and clean-up that only the test run needs.
"""

import pytest


@pytest.fixture(autouse=True)
def _matplotlib_agg():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
