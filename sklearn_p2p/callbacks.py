"""skorch callbacks that anneal P2P's training (paper Section 4).

Both schedules are functions of the epoch index relative to ``max_epochs``
and write the value of the current epoch onto the net, where
:class:`~sklearn_p2p.P2PClassifier` reads it: ``net.temperature_`` for the
relaxed-Bernoulli sampling and ``net.lambda1_`` for the sparsity weight.
"""

import math

from skorch.callbacks import Callback

__all__ = ["GumbelTemperatureSchedule", "SparsityWarmup", "StopOnNonFiniteLoss"]


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

    Parameters
    ----------
    initial_temperature : float, default=1.0
    anneal_fraction : float, default=0.5
        Fraction of ``max_epochs`` after which the final temperature holds.
    """

    def __init__(self, initial_temperature=1.0, anneal_fraction=0.5):
        self.initial_temperature = initial_temperature
        self.anneal_fraction = anneal_fraction

    def temperature_at(self, epoch, max_epochs, final_temperature):
        progress = min(epoch / max(self.anneal_fraction * max_epochs, 1e-12), 1.0)
        ratio = final_temperature / self.initial_temperature
        return self.initial_temperature * ratio**progress

    def on_epoch_begin(self, net, **kwargs):
        epoch, max_epochs = _epoch_progress(net)
        net.temperature_ = self.temperature_at(epoch, max_epochs, net.final_temperature)


class SparsityWarmup(Callback):
    """Linear ramp of the sparsity weight ``lambda1``.

    ``lambda1 * start_factor`` until ``begin`` of the epochs, then linear up
    to the full ``lambda1`` at ``end`` of the epochs, constant after. A weak
    sparsity pull at the start keeps the selector from collapsing to the
    empty mask before the classifier has learned anything.

    Parameters
    ----------
    start_factor : float, default=0.01
    begin, end : float, default=0.1, 0.5
        Fractions of ``max_epochs``.
    """

    def __init__(self, start_factor=0.01, begin=0.1, end=0.5):
        self.start_factor = start_factor
        self.begin = begin
        self.end = end

    def factor_at(self, epoch, max_epochs):
        begin, end = self.begin * max_epochs, self.end * max_epochs
        if epoch >= end:
            return 1.0
        if epoch < begin:
            return self.start_factor
        return self.start_factor + (1.0 - self.start_factor) * (epoch - begin) / (end - begin)

    def on_epoch_begin(self, net, **kwargs):
        epoch, max_epochs = _epoch_progress(net)
        net.lambda1_ = net.lambda1 * self.factor_at(epoch, max_epochs)


class StopOnNonFiniteLoss(Callback):
    """Stop training with a clear error as soon as a training loss is NaN or inf.

    Once a loss is not finite, the next optimiser step writes NaN into the
    weights and every later prediction is garbage; stopping at the batch that
    caused it says when it happened and what to try.
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
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
