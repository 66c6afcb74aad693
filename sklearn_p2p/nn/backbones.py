"""Backbones for the selector and the classifier, built by name.

``"tiny_cnn"`` is a small built-in network fast enough for CPU tests and
demos; every other name goes to :func:`timm.create_model`, so any timm
architecture (``"resnet18"``, ``"efficientnet_lite0"``, ``"vit_tiny_patch16_224"``,
...) can be used without code written here for it.
"""

import difflib
import os

import torch
from torch import nn

__all__ = [
    "BUILTIN_BACKBONES",
    "TinyCNN",
    "TinyFeatureExtractor",
    "available_backbones",
    "create_classifier",
    "create_feature_extractor",
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


def _timm_pretrained_kwargs(pretrained):
    if pretrained is False or pretrained is None:
        return {"pretrained": False}
    if pretrained is True:
        return {"pretrained": True}
    # A local file: timm loads it through its usual pretrained path, which
    # drops or adapts the classifier and first conv as needed.
    return {"pretrained": True, "pretrained_cfg_overlay": {"file": os.fspath(pretrained)}}


def _load_builtin_weights(module, pretrained, name):
    if pretrained is False or pretrained is None:
        return module
    if pretrained is True:
        raise ValueError(
            f"No published pretrained weights exist for the built-in {name!r} "
            "backbone; pass pretrained=False or a path to a state-dict file."
        )
    state = torch.load(os.fspath(pretrained), map_location="cpu", weights_only=True)
    module.load_state_dict(state)
    return module


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
        ``False``: random initialisation. ``True``: timm's pretrained weights
        (downloaded unless cached; not available for ``"tiny_cnn"``). A path:
        a local weights file (a state dict of the module for ``"tiny_cnn"``).

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
        module = _load_builtin_weights(TinyFeatureExtractor(in_chans), pretrained, name)
        return module, (module.channels[0], module.channels[-1])
    import timm

    module = timm.create_model(
        name, features_only=True, in_chans=in_chans, **_timm_pretrained_kwargs(pretrained)
    )
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
        ``False``: random initialisation. ``True``: timm's pretrained weights
        (downloaded unless cached; not available for ``"tiny_cnn"``). A path:
        a local weights file; timm adapts the first convolution and replaces
        the classification head as needed, and for ``"tiny_cnn"`` the file
        holds the weights of the feature extractor only.

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
            _load_builtin_weights(module.features, pretrained, name)
        return module
    import timm

    return timm.create_model(
        name, num_classes=num_classes, in_chans=in_chans, **_timm_pretrained_kwargs(pretrained)
    )


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
