"""Blackbox and Blackbox Pixel: P2P's classifier without the selector."""

from numbers import Real

from sklearn.utils._param_validation import Interval

from .._classifier import P2PClassifier
from ..nn.baselines import BlackboxNetwork

__all__ = ["BlackboxClassifier"]


class BlackboxClassifier(P2PClassifier):
    """The P2P classifier backbone trained and used without a selector.

    Shares everything else with :class:`~sklearn_p2p.P2PClassifier` (input
    handling, superpixels for the explanation details, training loop,
    optimiser, devices), so accuracy differences come from the selection
    alone.

    Parameters
    ----------
    module : torch module class, default=BlackboxNetwork
        The network: :class:`~sklearn_p2p.nn.BlackboxNetwork`, the classifier
        backbone with a fixed pixel mask.
    kept_fraction : float in (0, 1] or None, default=None
        None: the classifier sees full images (*Blackbox*). A float: the
        classifier always sees that fraction of the pixels, evenly spaced
        (*Blackbox Pixel*; set it to P2P's mean kept fraction to compare at
        equal sparsity).
    **kwargs
        Any :class:`~sklearn_p2p.P2PClassifier` or skorch parameter; the
        selector-related ones (``selector``, ``lambda1``, ``delta``, ...)
        have no effect.

    Examples
    --------
    >>> from sklearn_p2p.baselines import BlackboxClassifier
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> data = make_cluttered_objects(n_samples=24, image_size=32, random_state=0)
    >>> clf = BlackboxClassifier(kept_fraction=0.25, max_epochs=1, verbose=0,
    ...                          random_state=0).fit(data.images, data.target)
    >>> float(clf.explain(data.images[:2]).mean())
    0.25
    """

    _parameter_constraints = {
        **P2PClassifier._parameter_constraints,
        "kept_fraction": [None, Interval(Real, 0, 1, closed="right")],
    }

    def __init__(self, module=BlackboxNetwork, *, kept_fraction=None, **kwargs):
        super().__init__(module, **kwargs)
        self.kept_fraction = kept_fraction

    def get_default_callbacks(self):
        """P2P's default callbacks but ``selection_check`` (a skorch hook).

        Returns
        -------
        callbacks : list of (str, Callback)
            Those of :meth:`P2PClassifier.get_default_callbacks
            <sklearn_p2p.P2PClassifier.get_default_callbacks>` without
            ``selection_check``: a Blackbox keeps every pixel (or the fixed
            ``kept_fraction``) by design, which is no degenerate selection.
        """
        return [(name, callback) for name, callback in super().get_default_callbacks()
                if name != "selection_check"]

    def initialize_module(self):
        """Build the network from the data and the parameters (a skorch hook).

        Only the classifier-related parameters are used (``classifier``,
        ``pretrained``, or its ``"classifier"`` entry, and
        ``kept_fraction``); ``module__<name>`` parameters override them.

        Returns
        -------
        self : BlackboxClassifier
            With the new network in ``module_``.
        """
        pretrained = self.pretrained
        if isinstance(pretrained, dict):
            pretrained = pretrained.get("classifier", False)
        kwargs = {
            "n_classes": len(self.classes_),
            "in_chans": self.n_channels_,
            "classifier": self.classifier,
            "pretrained": pretrained,
            "kept_fraction": self.kept_fraction,
            **self.get_params_for("module"),
        }
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self
