"""Float32 islands inside mixed-precision (autocast) forward passes.

The estimators' ``mixed_precision`` runs the networks under
``torch.autocast``: convolutions and matrix products then compute in
bfloat16 or float16. A few steps of P2P must not: averaging thousands of
per-pixel outputs per region, the low-rank Gaussian (its capacitance matrix
and Cholesky factor) and the covariance penalty. They go through the
helpers below, which are no-ops outside autocast and for float32 or float64
tensors.
"""

import contextlib

import torch

__all__ = ["autocast_disabled", "full_precision"]

_HALF_DTYPES = (torch.float16, torch.bfloat16)


def full_precision(tensor):
    """``tensor`` in float32 if it is float16 or bfloat16, else unchanged."""
    if torch.is_tensor(tensor) and tensor.dtype in _HALF_DTYPES:
        return tensor.float()
    return tensor


def autocast_disabled(tensor):
    """A context without autocast on the device of ``tensor``.

    A no-op where autocast is unavailable for that device (nothing to
    disable) or not active.
    """
    device_type = tensor.device.type
    if not torch.amp.is_autocast_available(device_type) or not torch.is_autocast_enabled(
        device_type
    ):
        return contextlib.nullcontext()
    return torch.autocast(device_type, enabled=False)
