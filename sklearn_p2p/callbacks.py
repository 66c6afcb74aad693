"""skorch callbacks that anneal P2P's training (paper Section 4).

Both schedules are functions of the epoch index relative to ``max_epochs``
and write the value of the current epoch onto the net, where
:class:`~sklearn_p2p.P2PClassifier` reads it: ``net.temperature_`` for the
relaxed-Bernoulli sampling and ``net.lambda1_`` for the sparsity weight.
They also record it in the history of the epoch, as ``temperature`` and
``lambda1``.
"""

import math
import warnings

from skorch.callbacks import Callback

from .exceptions import DegenerateSelectionWarning
from .utils._docstrings import fill_doc

__all__ = [
    "GumbelTemperatureSchedule", "SelectionCheck", "SparsityWarmup", "StopOnNonFiniteLoss",
]


def _epoch_progress(net):
    """Index of the running epoch (0-based) and the planned epoch count."""
    return len(net.history) - 1, max(int(net.max_epochs), 1)


class GumbelTemperatureSchedule(Callback):
    """Exponential decay of the relaxed-Bernoulli temperature.

    ``T(e) = T0 * (T_final / T0) ** min(e / (anneal_fraction * max_epochs), 1)``:
    from ``initial_temperature`` at the first epoch to the net's
    ``final_temperature`` after ``anneal_fraction`` of the epochs, then
    constant. High temperatures give soft masks early on, so the selector
    gets useful gradients before the masks become nearly binary.

    :class:`~sklearn_p2p.P2PClassifier` installs it as the callback
    ``temperature``; its parameters are set through the classifier, e.g.
    ``callbacks__temperature__anneal_fraction=0.8``.

    Parameters
    ----------
    initial_temperature : float, default=1.0
        Temperature of the first epoch, ``T0``.
    anneal_fraction : float, default=0.5
        Fraction of ``max_epochs`` after which the final temperature holds.

    See Also
    --------
    SparsityWarmup : The schedule of the sparsity weight.

    Examples
    --------
    >>> from sklearn_p2p.callbacks import GumbelTemperatureSchedule
    >>> schedule = GumbelTemperatureSchedule(initial_temperature=1.0, anneal_fraction=0.5)
    >>> [round(schedule.temperature_at(epoch, max_epochs=10, final_temperature=0.5), 3)
    ...  for epoch in (0, 2, 5, 9)]
    [1.0, 0.758, 0.5, 0.5]

    Inside :class:`~sklearn_p2p.P2PClassifier`, the temperature of the last
    epoch is ``temperature_``:

    >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=8),
    ...                     callbacks__temperature__initial_temperature=2.0,
    ...                     max_epochs=1, verbose=0, random_state=0)
    >>> clf.fit(data.images, data.target).temperature_
    2.0
    """

    def __init__(self, initial_temperature=1.0, anneal_fraction=0.5):
        self.initial_temperature = initial_temperature
        self.anneal_fraction = anneal_fraction

    @fill_doc
    def temperature_at(self, epoch, max_epochs, final_temperature):
        """Temperature of a given epoch.

        Parameters
        ----------
        %(schedule_epoch)s
        final_temperature : float
            Temperature after annealing (the net's ``final_temperature``).

        Returns
        -------
        temperature : float
            ``T0 * (final_temperature / T0) ** progress``, with the progress
            ``epoch / (anneal_fraction * max_epochs)`` capped at 1.
        """
        progress = min(epoch / max(self.anneal_fraction * max_epochs, 1e-12), 1.0)
        ratio = final_temperature / self.initial_temperature
        return self.initial_temperature * ratio**progress

    @fill_doc
    def on_epoch_begin(self, net, **kwargs):
        """Set ``net.temperature_``, from ``net.final_temperature``, for the epoch.

        The value is also recorded as the epoch's ``temperature`` in
        ``net.history``.

        Parameters
        ----------
        %(schedule_hook)s
        """
        net.temperature_ = self.temperature_at(*_epoch_progress(net), net.final_temperature)
        net.history.record("temperature", net.temperature_)


class SparsityWarmup(Callback):
    """Linear ramp of the sparsity weight ``lambda1``.

    ``lambda1 * start_factor`` until ``begin`` of the epochs, then linear up
    to the full ``lambda1`` at ``end`` of the epochs, constant after. A weak
    sparsity pull at the start keeps the selector from collapsing to the
    empty mask before the classifier has learned anything.

    :class:`~sklearn_p2p.P2PClassifier` installs it as the callback
    ``sparsity_warmup``: with ``SparsityWarmup()`` (the paper's schedule) for
    pretrained backbones, and with ``start_factor=0, begin=0.3, end=0.7`` for
    backbones trained from scratch (see the user guide). Its parameters are
    set through the classifier, e.g. ``callbacks__sparsity_warmup__end=0.5``.

    Parameters
    ----------
    start_factor : float, default=0.01
        Multiple of ``lambda1`` used before ``begin``.
    begin, end : float, default=0.1, 0.5
        Fractions of ``max_epochs`` at which the ramp starts and ends.

    See Also
    --------
    GumbelTemperatureSchedule : The schedule of the sampling temperature.

    Examples
    --------
    >>> from sklearn_p2p.callbacks import SparsityWarmup
    >>> warmup = SparsityWarmup(start_factor=0.0, begin=0.3, end=0.7)
    >>> [warmup.factor_at(epoch, max_epochs=10) for epoch in (0, 3, 5, 7, 9)]
    [0.0, 0.0, 0.5, 1.0, 1.0]

    The current weight is ``lambda1_`` on the classifier; from scratch it is
    still 0 after one epoch:

    >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=8),
    ...                     max_epochs=1, verbose=0, random_state=0)
    >>> clf.fit(data.images, data.target).lambda1_
    0.0

    The weight of each epoch is in the history, next to the loss terms:

    >>> clf.history[:, "lambda1"]
    [0.0]
    """

    def __init__(self, start_factor=0.01, begin=0.1, end=0.5):
        self.start_factor = start_factor
        self.begin = begin
        self.end = end

    @fill_doc
    def factor_at(self, epoch, max_epochs):
        """Multiple of ``lambda1`` used in a given epoch.

        Parameters
        ----------
        %(schedule_epoch)s

        Returns
        -------
        factor : float
            ``start_factor`` before ``begin * max_epochs``, 1 from
            ``end * max_epochs`` on, linear in between.
        """
        begin, end = self.begin * max_epochs, self.end * max_epochs
        if epoch >= end:
            return 1.0
        if epoch < begin:
            return self.start_factor
        return self.start_factor + (1.0 - self.start_factor) * (epoch - begin) / (end - begin)

    @fill_doc
    def on_epoch_begin(self, net, **kwargs):
        """Set ``net.lambda1_``, a multiple of ``net.lambda1``, for the epoch.

        The value is also recorded as the epoch's ``lambda1`` in
        ``net.history``.

        Parameters
        ----------
        %(schedule_hook)s
        """
        net.lambda1_ = net.lambda1 * self.factor_at(*_epoch_progress(net))
        net.history.record("lambda1", net.lambda1_)


class StopOnNonFiniteLoss(Callback):
    """Stop training with a clear error as soon as a training loss is NaN or inf.

    Once a loss is not finite, the next optimiser step writes NaN into the
    weights and every later prediction is garbage; stopping at the batch that
    caused it says when it happened and what to try.

    :class:`~sklearn_p2p.P2PClassifier` installs it as the callback
    ``stop_on_nan``; ``callbacks__stop_on_nan=None`` removes it.

    Examples
    --------
    The callback sees every training batch's loss:

    >>> from types import SimpleNamespace
    >>> import torch
    >>> from sklearn_p2p.callbacks import StopOnNonFiniteLoss
    >>> net = SimpleNamespace(history=[{"batches": [{}, {}]}])  # epoch 1, batch 2
    >>> StopOnNonFiniteLoss().on_batch_end(net, training=True, loss=torch.tensor(0.7))
    >>> StopOnNonFiniteLoss().on_batch_end(net, training=True,
    ...                                    loss=torch.tensor(float("nan")))
    Traceback (most recent call last):
        ...
    FloatingPointError: The training loss became nan at epoch 1, batch 2; ...
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        """Raise if the loss of a training batch is NaN or infinite.

        Parameters
        ----------
        net : NeuralNet
            The net being trained.
        batch : object, default=None
            The batch; ignored.
        training : bool, default=None
            Whether the batch was a training batch; others are not checked.
        loss : Tensor or float, default=None
            The batch's loss.
        **kwargs
            Further arguments skorch passes to callbacks; ignored.

        Raises
        ------
        FloatingPointError
            When ``loss`` is not finite, naming the epoch and batch.
        """
        if not training or loss is None:
            return
        value = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
        if not math.isfinite(value):
            epoch = len(net.history)
            n_batch = len(net.history[-1]["batches"])
            raise FloatingPointError(
                f"The training loss became {value} at epoch {epoch}, batch "
                f"{n_batch}; training was stopped. Try a smaller lr, check the "
                "input images for NaN/inf, or lower lambda1."
            )


class SelectionCheck(Callback):
    """Warn at the end of training when the model keeps everything or nothing.

    Reads the last epoch's ``train_kept_fraction`` (the mean expected share
    of pixels kept on the training images, see
    :meth:`P2PClassifier.get_loss <sklearn_p2p.P2PClassifier.get_loss>`). At
    or above ``high`` no selection was learned: the explanation is the whole
    image. At or below ``low`` the classifier is reading (nearly) black
    images. Either way the fit "succeeded" without the model being what P2P
    promises, and the warning
    (:class:`~sklearn_p2p.exceptions.DegenerateSelectionWarning`) says what
    to change.

    :class:`~sklearn_p2p.P2PClassifier` installs it as the callback
    ``selection_check``; ``callbacks__selection_check=None`` removes it.

    Parameters
    ----------
    low : float, default=0.01
        Kept fractions at or below it count as "nothing".
    high : float, default=0.99
        Kept fractions at or above it count as "everything".

    Examples
    --------
    >>> import warnings
    >>> from types import SimpleNamespace
    >>> from sklearn_p2p.callbacks import SelectionCheck
    >>> net = SimpleNamespace(history=[{"train_kept_fraction": 0.999}], max_epochs=3,
    ...                       lambda1=0.1)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     SelectionCheck().on_train_end(net)
    >>> print(caught[0].message)  # doctest: +ELLIPSIS
    After training, the model keeps 99.9% of the pixels of the training images...
    """

    def __init__(self, low=0.01, high=0.99):
        self.low = low
        self.high = high

    def on_train_end(self, net, **kwargs):
        """Warn if the last epoch's mean kept fraction is at ``low`` or ``high``.

        Parameters
        ----------
        net : NeuralNet
            The trained net; its history must record ``train_kept_fraction``
            (nothing is checked otherwise).
        **kwargs
            Further arguments skorch passes to callbacks; ignored.
        """
        if not net.history:
            return
        kept = net.history[-1].get("train_kept_fraction")
        if kept is None or not math.isfinite(kept):
            return
        if kept >= self.high:
            advice = (
                "no selection was learned, so the explanations are the whole image. "
                f"Raise lambda1 (now {net.lambda1}) or max_epochs (now "
                f"{net.max_epochs}): the sparsity penalty is ramped up over the "
                "epochs (callbacks__sparsity_warmup)."
            )
        elif kept <= self.low:
            advice = (
                "the classifier is reading (nearly) black images and the masks are "
                f"(nearly) empty. Lower lambda1 (now {net.lambda1}) or start the "
                "sparsity penalty later (callbacks__sparsity_warmup__begin)."
            )
        else:
            return
        warnings.warn(
            f"After training, the model keeps {kept:.1%} of the pixels of the training "
            f"images (train_kept_fraction of the last epoch): {advice}",
            DegenerateSelectionWarning, stacklevel=2,
        )
