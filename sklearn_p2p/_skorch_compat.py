"""The skorch internals the package relies on, in one place.

skorch's documented hooks (``get_loss``, ``infer``, ``initialize_module``,
callbacks) are overridden where they are used. What follows reaches past
them: private arguments, attributes and behaviours of skorch 1.x that the
package depends on. When a skorch release changes one of them, this is the
module to adapt (each item names what it relies on).
"""

import contextlib

from skorch import NeuralNet

__all__ = ["SkorchCompatMixin", "print_log_sink"]


class SkorchCompatMixin:
    """Overrides of skorch internals for estimators built on ``NeuralNetClassifier``."""

    def _skorch_partial_fit(self, X, y, routing_method, **fit_params):
        """skorch's ``partial_fit`` on prepared data (the next ``partial_fit`` in the MRO).

        Relies on the private ``_routing_method`` keyword that skorch's
        ``fit`` threads through ``partial_fit`` into ``fit_loop``, so that
        scikit-learn's metadata routing sees ``fit`` (not ``partial_fit``)
        as the entry point when the user called ``fit``.
        """
        return super().partial_fit(X, y, _routing_method=routing_method, **fit_params)

    def _set_classes(self, classes):
        """Record the user's classes where skorch's ``classes_`` reads them.

        Relies on ``NeuralNetClassifier.classes_`` returning the ``classes``
        parameter when set and ``classes_inferred_`` otherwise.
        """
        self.classes_inferred_ = classes

    def check_data(self, X, y):
        """Check the data handed to skorch (a skorch hook).

        Unlike ``NeuralNetClassifier.check_data``, which would overwrite
        ``classes_inferred_`` with the encoded labels ``0 .. n_classes - 1``,
        it leaves ``classes_`` as the user's labels (recorded in ``fit``).

        Parameters
        ----------
        X : ndarray or Dataset
            Validated input.
        y : ndarray or None
            Encoded labels ``0 .. n_classes - 1``.
        """
        NeuralNet.check_data(self, X, y)

    def _get_param_names(self):
        # skorch lists every attribute without a trailing underscore, among
        # them its private ``_params_to_validate`` (rebuilt by __init__ from
        # the prefixed keyword arguments that clone() passes) and, with
        # AccelerateMixin, ``_wrapped_with_accelerator``: private
        # bookkeeping, not parameters.
        return [name for name in super()._get_param_names() if not name.startswith("_")]


@contextlib.contextmanager
def print_log_sink(net, sink):
    """Initialise callbacks with ``sink`` as the epoch table's sink.

    skorch's ``PrintLog`` honours ``verbose=0`` only for its default sink
    (``print``); Accelerate's mixin installs ``accelerator.print``. The
    parameter ``callbacks__print_log__sink`` is set for the block and
    restored afterwards, so that ``get_params`` still shows the user's value.
    """
    user_value = net.callbacks__print_log__sink
    net.callbacks__print_log__sink = sink
    try:
        yield
    finally:
        net.callbacks__print_log__sink = user_value
