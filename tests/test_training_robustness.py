"""Training stops clearly on NaN, survives Ctrl-C, shows progress on request,
and is reproducible across processes."""

import subprocess
import sys

import pytest
import torch
from skorch.callbacks import Callback

from sklearn_p2p import P2PClassifier


class _NaNLossP2P(P2PClassifier):
    """A P2P model whose loss turns NaN from the second batch on."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if training and len(self.history[-1]["batches"]) >= 2:
            return loss * torch.tensor(float("nan"))
        return loss


def test_nan_loss_stops_training_with_a_clear_message(tiny_data, make_p2p):
    params = make_p2p().get_params(deep=False)
    model = _NaNLossP2P(**params)
    with pytest.raises(FloatingPointError, match="became nan at epoch 1, batch 2.*smaller lr"):
        model.fit(tiny_data.images, tiny_data.target)


class _InterruptAfter(Callback):
    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epochs:
            raise KeyboardInterrupt


def test_keyboard_interrupt_leaves_a_usable_model(tiny_data, make_p2p):
    model = make_p2p(max_epochs=5, callbacks=[("interrupt", _InterruptAfter(2))])
    model.fit(tiny_data.images, tiny_data.target)
    assert len(model.history) == 2
    assert model.predict(tiny_data.images[:3]).shape == (3,)


def test_verbose_zero_is_silent_and_verbose_two_shows_progress(tiny_data, make_p2p, capsys):
    make_p2p(max_epochs=1, verbose=0).fit(tiny_data.images, tiny_data.target)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    make_p2p(max_epochs=1, verbose=2).fit(tiny_data.images, tiny_data.target)
    captured = capsys.readouterr()
    assert "superpixels" in captured.err  # tqdm bar over the images
    assert "train_loss" in captured.out  # skorch's epoch table


_FIT_AND_PRINT = """
import hashlib, numpy as np
from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import make_cluttered_objects
d = make_cluttered_objects(n_samples=32, image_size=24, n_classes=3, random_state=0)
m = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=16), max_epochs=2,
                  batch_size=16, random_state=0, verbose=0).fit(d.images, d.target)
det = m.explain(d.images, return_details=True)
print(hashlib.sha256(det.proba.tobytes() + det.masks.tobytes()).hexdigest())
"""


def test_same_random_state_is_bit_identical_across_processes():
    digests = {
        subprocess.run([sys.executable, "-c", _FIT_AND_PRINT], capture_output=True,
                       text=True, check=True, timeout=300).stdout.strip()
        for _ in range(2)
    }
    assert len(digests) == 1 and len(digests.pop()) == 64
