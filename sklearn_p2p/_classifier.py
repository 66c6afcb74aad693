"""P2PClassifier: the P2P network as a scikit-learn classifier on skorch."""

import contextlib
import inspect
import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import accuracy_score
from sklearn.utils import Bunch, check_random_state, column_or_1d
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import EpochScoring, ProgressBar
from skorch.dataset import Dataset as SkorchDataset
from skorch.dataset import unpack_data
from skorch.utils import is_dataset, to_numpy, to_tensor

from ._superpixel_dataset import (
    EncodedItems,
    SuperpixelDataset,
    base_dataset,
    dataset_targets,
    item_image,
)
from ._superpixels import SuperpixelTransformer
from .callbacks import GumbelTemperatureSchedule, SparsityWarmup, StopOnNonFiniteLoss
from .nn import P2PNetwork, p2p_penalty
from .nn.backbones import check_backbone_name
from .utils import check_images, check_precomputed, pack_superpixels
from .utils._validation import (
    check_image_shape_param,
    check_value_range_param,
    reading_flat_input,
    unflatten_checked,
)

__all__ = ["P2PClassifier"]


def resolve_device(device):
    """``"auto"`` means CUDA when available, else CPU; anything else is kept."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


@contextlib.contextmanager
def _seeded_torch(random_state):
    """Seed torch's global RNG for the block and restore it afterwards.

    Weight initialisation, batch shuffling, the tau draws and the Gumbel
    noise all use torch's global generator; forking it keeps the caller's
    own torch random stream untouched.
    """
    if random_state is None:
        yield
        return
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
        torch.manual_seed(seed)
        yield


def _accuracy_on_encoded(net, X, y):
    """Validation accuracy: skorch hands over the encoded labels 0..K-1."""
    return accuracy_score(to_numpy(y) if torch.is_tensor(y) else y,
                          net.predict_proba(X).argmax(axis=1))


class P2PClassifier(NeuralNetClassifier):
    """Inherently interpretable image classifier by superpixel selection (P2P).

    A selector network scores every superpixel of an image; a binary
    selection of whole superpixels is kept and everything else is set to
    black; a classifier predicts from that masked image only. At inference
    the kept fraction grows per image until the classifier is certain
    (dynamic thresholding), and the mask returned by :meth:`explain` is
    exactly the input the prediction was made from.

    Vandenhirtz & Vogt, "From Pixels to Perception: Interpretable
    Predictions via Instance-wise Grouped Feature Selection", ICML 2025.

    Parameters
    ----------
    module : torch module class, default=P2PNetwork
        The network. Its ``n_classes`` and ``in_chans`` are set from the data;
        other constructor arguments come from the parameters below (and can be
        overridden with ``module__<name>``).
    selector : str, default="tiny_cnn"
        Backbone of the selector: ``"tiny_cnn"`` (small built-in CNN) or any
        timm model name usable with ``features_only=True``. The paper uses an
        LR-ASPP MobileNetV3.
    classifier : str, default="tiny_cnn"
        Backbone of the classifier: ``"tiny_cnn"`` or any timm model name.
        The paper uses ViT-Tiny.
    pretrained : bool, str, path or dict, default=False
        ``False``: random initialisation. ``True``: timm's pretrained weights
        (downloads them unless they are cached). A path: a local weights file
        loaded into every timm backbone. A dict ``{"selector": ...,
        "classifier": ...}`` sets each backbone separately.
    n_embedding_dims : int, default=3
        K, the dimension of the region embeddings ``E_j``; the covariance of
        the region logits is ``Sigma = E E^T`` (rank K). With 3 the embeddings
        can be shown as colours.
    lambda1 : float, default=10.0
        Weight of the sparsity penalty on the expected kept fraction above tau.
    lambda2 : float, default=0.01
        Weight of the L1 penalty on ``Sigma`` (mean absolute entry).
    delta : float, default=0.99
        Certainty the classifier must reach during dynamic thresholding: the
        smallest tau whose prediction has ``max_c p(c | x_m) >= delta`` is used.
    threshold : "dynamic" or float in (0, 1], default="dynamic"
        ``"dynamic"``: train with ``tau ~ U[0.05, 1]`` per image and search tau
        per image at inference. A float: train and predict with that fixed tau.
    tau_step : float, default=0.05
        Step of the inference grid ``tau_step, 2 tau_step, ..., 1``.
    final_temperature : float, default=0.5
        Temperature of the relaxed-Bernoulli sampling after annealing (see
        :class:`~sklearn_p2p.callbacks.GumbelTemperatureSchedule`).
        The sparsity weight is annealed too (callback ``sparsity_warmup``, a
        :class:`~sklearn_p2p.callbacks.SparsityWarmup`): with pretrained
        backbones as in the paper, from ``lambda1 / 100`` at 10% of the epochs
        to ``lambda1`` at 50%; with ``pretrained=False``, from 0 at 30% to
        ``lambda1`` at 70%, so that the classifier learns before the masks
        shrink. Change it with e.g. ``callbacks__sparsity_warmup__begin=0.2``.
    superpixels : SuperpixelTransformer, "precomputed" or None, default=None
        How regions are obtained. ``None`` means ``SuperpixelTransformer()``
        (100 SLIC segments, compactness 20). ``"precomputed"``: ``X`` is the
        output of a :class:`SuperpixelTransformer` (e.g. an earlier Pipeline
        step).
    image_shape : tuple of int, default=None
        Shape ``(height, width)`` or ``(height, width, channels)`` of
        flattened images. When set, 2-d ``X`` of shape ``(n_samples, height *
        width * channels)`` is read as images (row-major, channel last, as
        :func:`sklearn.datasets.load_digits` stores its 8x8 images); with
        ``superpixels="precomputed"`` each pixel carries one more value, the
        superpixel label. One of height and width may be -1, inferred from
        the number of columns. Image batches are accepted as they are.
    value_range : tuple (low, high), default=None
        Range of the input values, mapped linearly onto [0, 1]: e.g.
        ``(0, 255)`` for 8-bit intensities stored as floats (as
        ``fetch_openml("mnist_784")`` returns them), ``(0, 16)`` for
        :func:`~sklearn.datasets.load_digits`. None: uint8 in [0, 255] or
        float in [0, 1]. With ``superpixels="precomputed"`` set it on the
        :class:`SuperpixelTransformer` instead.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, tau draws and sampling noise.
        With an int, two fits on CPU give identical models.
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        The classification loss; P2P adds its sparsity and covariance
        penalties to it.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Optimiser of all weights (selector and classifier); its own
        parameters are set with ``optimizer__<name>``.
    lr : float, default=1e-3
        Adam's learning rate. The paper uses 1e-4 with pretrained backbones;
        the built-in CNN trains from scratch and needs a larger rate.
    max_epochs : int, default=10
        Number of passes over the training data per call of :meth:`fit`
        (and of :meth:`partial_fit`).
    batch_size : int, default=64
        Images per training and inference batch.
    train_split : callable or None, default=None
        skorch's validation split. None, because validating means a
        dynamic-threshold search (up to ``1 / tau_step`` classifier passes per
        image); pass ``skorch.dataset.ValidSplit(5)`` to monitor ``valid_acc``.
    device : str, default="auto"
        ``"auto"``: CUDA when available, else CPU. A model trained on CUDA
        loads and predicts on a CPU-only machine.
    **kwargs
        Every other skorch parameter (``callbacks``,
        ``iterator_train__num_workers``, ``warm_start``, ...), among them
        ``verbose`` (default 1): 0 is silent, 1 prints skorch's table of
        epochs, 2 or more also shows a progress bar over the batches of each
        epoch and over the superpixel computation.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen during ``fit``.
    image_shape_ : tuple of int
        ``(H, W)`` of the training images; other sizes are rejected.
    n_channels_ : int
        Image channels at fit (1 or 3).
    n_features_in_ : int
        Number of columns of flattened input at fit; only set when ``fit``
        received flattened images (see ``image_shape``).
    superpixels_ : SuperpixelTransformer
        Fitted copy of ``superpixels`` (absent with ``"precomputed"``).
    module_ : P2PNetwork
        The trained network.
    temperature_, lambda1_ : float
        Annealed values of the last epoch (set by the schedule callbacks).

    Examples
    --------
    >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> data = make_cluttered_objects(n_samples=24, image_size=32, random_state=0)
    >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=16),
    ...                     max_epochs=1, verbose=0, random_state=0)
    >>> clf = clf.fit(data.images, data.target)
    >>> clf.predict(data.images[:2]).shape
    (2,)
    >>> masks = clf.explain(data.images[:2], delta=0.9)
    >>> masks.shape, masks.dtype
    ((2, 32, 32), dtype('bool'))
    """

    _parameter_constraints = {
        "selector": [str],
        "classifier": [str],
        "pretrained": ["boolean", str, os.PathLike, dict],
        "n_embedding_dims": [Interval(Integral, 1, None, closed="left")],
        "lambda1": [Interval(Real, 0, None, closed="left")],
        "lambda2": [Interval(Real, 0, None, closed="left")],
        "delta": [Interval(Real, 0, 1, closed="right")],
        "threshold": [StrOptions({"dynamic"}), Interval(Real, 0, 1, closed="right")],
        "tau_step": [Interval(Real, 0, 1, closed="right")],
        "final_temperature": [Interval(Real, 0, None, closed="neither")],
        "superpixels": [None, StrOptions({"precomputed"}), HasMethods(["fit", "transform"])],
        "image_shape": [None, tuple, list],
        "value_range": [None, tuple, list],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        module=P2PNetwork,
        *,
        selector="tiny_cnn",
        classifier="tiny_cnn",
        pretrained=False,
        n_embedding_dims=3,
        lambda1=10.0,
        lambda2=0.01,
        delta=0.99,
        threshold="dynamic",
        tau_step=0.05,
        final_temperature=0.5,
        superpixels=None,
        image_shape=None,
        value_range=None,
        random_state=None,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=10,
        batch_size=64,
        train_split=None,
        device="auto",
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            **kwargs,
        )
        self.selector = selector
        self.classifier = classifier
        self.pretrained = pretrained
        self.n_embedding_dims = n_embedding_dims
        self.lambda1 = lambda1
        self.lambda2 = lambda2
        self.delta = delta
        self.threshold = threshold
        self.tau_step = tau_step
        self.final_temperature = final_temperature
        self.superpixels = superpixels
        self.image_shape = image_shape
        self.value_range = value_range
        self.random_state = random_state

    # -- device "auto" -------------------------------------------------
    # skorch reads ``self.device`` wherever it moves tensors; the property
    # hands it a concrete device while get_params/clone keep "auto".
    @property
    def device(self):
        """The torch device in use: ``device`` with ``"auto"`` resolved.

        ``"auto"`` becomes ``"cuda"`` when CUDA is available and ``"cpu"``
        otherwise, each time it is read; :meth:`get_params` still returns
        ``"auto"``.
        """
        return resolve_device(self.__dict__.get("device", "auto"))

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value

    def get_params(self, deep=True, **kwargs):
        """Get the parameters of this estimator, as scikit-learn defines them.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators (e.g.
            ``superpixels__n_segments``).
        **kwargs
            Passed to skorch's ``get_params``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values; ``device`` as it was
            set (``"auto"`` stays ``"auto"``).
        """
        params = super().get_params(deep=deep, **kwargs)
        params["device"] = self.__dict__.get("device", "auto")
        return params

    def _get_param_names(self):
        # skorch lists every attribute without a trailing underscore, among
        # them its private ``_params_to_validate`` (rebuilt by __init__ from
        # the prefixed keyword arguments that clone() passes) and, with
        # AcceleratedP2PClassifier, ``_wrapped_with_accelerator``: private
        # bookkeeping, not parameters.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    def __setstate__(self, state):
        # skorch loads the weights onto state["device"]: give it a concrete
        # one. None (device placement left to Accelerate) loads like "auto".
        requested = state["device"]
        state["device"] = resolve_device("auto" if requested is None else requested)
        super().__setstate__(state)
        if requested is None or (isinstance(requested, str) and requested == "auto"):
            self.__dict__["device"] = requested

    # -- skorch hooks --------------------------------------------------
    def get_default_callbacks(self):
        """skorch callbacks installed unless overridden (a skorch hook).

        Returns
        -------
        callbacks : list of (str, Callback)
            ``temperature`` (:class:`~sklearn_p2p.callbacks.GumbelTemperatureSchedule`),
            ``sparsity_warmup`` (:class:`~sklearn_p2p.callbacks.SparsityWarmup`),
            ``stop_on_nan`` (:class:`~sklearn_p2p.callbacks.StopOnNonFiniteLoss`),
            ``progress_bar`` with ``verbose >= 2``, then skorch's defaults.
        """
        callbacks = [
            ("temperature", GumbelTemperatureSchedule()),
            ("sparsity_warmup", self._default_sparsity_warmup()),
            ("stop_on_nan", StopOnNonFiniteLoss()),
        ]
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        for name, callback in super().get_default_callbacks():
            if name == "valid_acc":
                callback = EpochScoring(
                    _accuracy_on_encoded, name="valid_acc",
                    lower_is_better=False, use_caching=True,
                )
            callbacks.append((name, callback))
        return callbacks

    def _default_sparsity_warmup(self):
        if self.pretrained is False:
            # From scratch, any sparsity pull at the start empties the masks
            # before the classifier can tell which regions matter (measured in
            # docs/user_guide.rst): train the classifier first, then ramp.
            return SparsityWarmup(start_factor=0.0, begin=0.3, end=0.7)
        return SparsityWarmup()

    def initialize_module(self):
        """Build the network from the data and the parameters (a skorch hook).

        The number of classes and of image channels come from the data seen
        in :meth:`fit`; ``module__<name>`` parameters override the others.

        Returns
        -------
        self : P2PClassifier
            With the new network in ``module_``.
        """
        kwargs = {
            "n_classes": len(self.classes_),
            "in_chans": self.n_channels_,
            "selector": self.selector,
            "classifier": self.classifier,
            "pretrained": self.pretrained,
            "n_embedding_dims": self.n_embedding_dims,
            **self.get_params_for("module"),
        }
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    def check_data(self, X, y):
        """Check the data handed to skorch (a skorch hook).

        Unlike skorch's, it leaves ``classes_`` as the user's labels.

        Parameters
        ----------
        X : ndarray
            Validated images with their label maps.
        y : ndarray or None
            Encoded labels ``0 .. n_classes - 1``.
        """
        # classes_ come from the user's labels (set in fit); skorch's version
        # would overwrite them with the encoded 0..K-1.
        NeuralNet.check_data(self, X, y)

    def _fixed_tau(self):
        return None if self.threshold == "dynamic" else float(self.threshold)

    def infer(self, x, **fit_params):
        """Forward pass of the network on a batch (a skorch hook).

        In training, the network draws tau (or uses the fixed ``threshold``)
        at the current ``temperature_``; in evaluation, it searches tau with
        ``delta`` and ``tau_step``.

        Parameters
        ----------
        x : Tensor of shape (B, H, W, C + 1)
            A batch of images with their label maps.
        **fit_params
            Further keyword arguments of the network's ``forward``.

        Returns
        -------
        outputs : tuple of Tensor
            ``(logits, kept_fraction, tau, covariance_norm)``, see
            :meth:`sklearn_p2p.nn.P2PNetwork.forward`.
        """
        if self.module_.training:
            # A tensor, not a float: torch.compile specialises on Python
            # floats and would recompile whenever the schedule changes it.
            temperature = torch.tensor(getattr(self, "temperature_", 1.0), dtype=torch.float32)
            kwargs = {"tau": self._fixed_tau(), "temperature": temperature}
        else:
            kwargs = {"tau": self._fixed_tau(), "delta": self.delta,
                      "tau_step": self.tau_step}
        return super().infer(x, **kwargs, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The P2P loss of a batch, Eq. (5) of the paper (a skorch hook).

        Cross-entropy of the classifier on the masked images, plus
        ``lambda1_`` times the sparsity penalty and ``lambda2`` times the
        covariance penalty (:func:`~sklearn_p2p.nn.p2p_penalty`). In
        training, the batch's mean expected kept fraction is recorded in the
        history as ``kept_fraction``.

        Parameters
        ----------
        y_pred : tuple of Tensor
            The output of :meth:`infer`.
        y_true : Tensor of shape (B,)
            Encoded labels.
        X : object, default=None
            The batch's input, passed on to skorch.
        training : bool, default=False
            Whether the loss is for a training step.

        Returns
        -------
        loss : Tensor
            Scalar loss.
        """
        logits, kept_fraction, tau, covariance_norm = y_pred
        cross_entropy = super().get_loss(logits, y_true, X=X, training=training)
        sparsity, covariance = p2p_penalty(
            kept_fraction, tau, covariance_norm,
            getattr(self, "lambda1_", self.lambda1), self.lambda2,
        )
        if training:
            self.history.record_batch("kept_fraction", kept_fraction.mean().item())
        return cross_entropy + sparsity + covariance

    # -- validation ----------------------------------------------------
    def _validate_hyperparameters(self):
        names = self._parameter_constraints
        validate_parameter_constraints(
            names, {name: getattr(self, name) for name in names},
            caller_name=type(self).__name__,
        )
        check_image_shape_param(self.image_shape, type(self).__name__)
        check_value_range_param(self.value_range, type(self).__name__)
        check_backbone_name(self.selector, "selector")
        check_backbone_name(self.classifier, "classifier")

    def _prepare_images(self, X, *, reset):
        """Validated float32 ``(n, H, W, C + 1)``: image plus label map."""
        images, n_features = self._check_X(X, reset=reset)
        return self._add_superpixels(images, n_features, reset=reset)

    def _uses_precomputed(self):
        return isinstance(self.superpixels, str) and self.superpixels == "precomputed"

    def _check_X(self, X, *, reset):
        """Validate X without segmenting it.

        Returns float32 images ``(n, H, W, C)`` in [0, 1] (with the label map
        as one more channel for precomputed input) and the column count of
        flattened X (None for image batches).
        """
        precomputed = self._uses_precomputed()
        X, n_features = unflatten_checked(
            self, X, n_extra_channels=int(precomputed), reset=reset
        )
        flat_shape = X.shape[1:] if n_features is not None else ()
        with reading_flat_input(n_features, flat_shape, self.image_shape):
            if precomputed:
                if self.value_range is not None:
                    raise ValueError(
                        "value_range cannot be used with superpixels='precomputed': "
                        "the precomputed images are already in [0, 1]. Set "
                        "value_range on the SuperpixelTransformer step instead."
                    )
                images = pack_superpixels(*check_precomputed(X))
                n_channels = images.shape[-1] - 1
            else:
                images = check_images(X, value_range=self.value_range)
                n_channels = images.shape[-1]
        self._check_image_format(tuple(images.shape[1:3]), n_channels, reset=reset)
        return images, n_features

    def _check_image_format(self, image_shape, n_channels, *, reset):
        """Record (reset) or check the image size and channel count."""
        if reset:
            self.n_channels_, self.image_shape_ = n_channels, image_shape
        elif image_shape != self.image_shape_:
            raise ValueError(
                f"X has images of shape {image_shape}, but {type(self).__name__} "
                f"was fitted on images of shape {self.image_shape_}. Resize them "
                "to the training size (e.g. with skimage.transform.resize)."
            )
        elif n_channels != self.n_channels_:
            fix = (
                "skimage.color.gray2rgb" if n_channels == 1 else "skimage.color.rgb2gray"
            )
            raise ValueError(
                f"X has images with {n_channels} channel(s), but "
                f"{type(self).__name__} was fitted on images with "
                f"{self.n_channels_} channel(s). Convert them (e.g. with {fix})."
            )

    def _add_superpixels(self, images, n_features, *, reset):
        """Append the label map to validated images (precomputed: as given)."""
        if self._uses_precomputed():
            return images
        with reading_flat_input(n_features, images.shape[1:], self.image_shape):
            if reset:
                transformer = self.superpixels if self.superpixels is not None else SuperpixelTransformer()
                transformer = clone(transformer)
                if self.verbose >= 2 and "verbose" in transformer.get_params():
                    transformer.set_params(verbose=max(transformer.verbose, 1))
                self.superpixels_ = transformer.fit(images)
            return self.superpixels_.transform(images)

    def _packed_dataset(self, X, *, reset):
        """A dataset of packed items ``(H, W, C + 1)`` from a user's Dataset.

        Records (reset) or checks the image format from the first item; only
        that item is read here.
        """
        if len(X) == 0:
            raise ValueError("X is an empty dataset; pass at least one image.")
        segmented = isinstance(base_dataset(X), SuperpixelDataset)
        if self._uses_precomputed():
            if self.value_range is not None:
                raise ValueError(
                    "value_range cannot be used with superpixels='precomputed': "
                    "set it on the SuperpixelTransformer of the SuperpixelDataset."
                )
            # Packed items are channel-last, as SuperpixelDataset returns them.
            first = np.asarray(item_image(X[0]))
            images, _ = check_precomputed(first[None], input_name="X[0]")
            self._check_image_format(tuple(first.shape[:2]), images.shape[-1], reset=reset)
            return X
        if segmented:
            raise ValueError(
                "X is a SuperpixelDataset, whose items already carry their label "
                "maps; pass superpixels='precomputed' to P2PClassifier, or pass "
                "the dataset it wraps."
            )
        if reset:
            transformer = clone(self.superpixels if self.superpixels is not None
                                else SuperpixelTransformer())
            if self.value_range is not None:
                transformer.set_params(value_range=self.value_range)
            dataset = SuperpixelDataset(X, transformer)
            self.superpixels_ = dataset.superpixels_
        else:
            dataset = SuperpixelDataset(X, self.superpixels_)
        self._check_image_format(dataset.image_shape_, dataset.n_channels_, reset=reset)
        return dataset

    def _dataset_classes(self, X, y):
        """Classes of a Dataset: from ``classes``, ``y`` or ``X.targets``."""
        if self.classes is not None:
            return np.asarray(self.classes)
        if y is not None:
            labels = column_or_1d(y, warn=True)
            if len(labels) != len(X):
                raise ValueError(
                    f"X and y have different lengths: {len(X)} items but "
                    f"{len(labels)} labels. Pass one label per item."
                )
        elif (labels := dataset_targets(X)) is None:
            raise ValueError(
                f"{type(self).__name__} cannot tell the classes of a Dataset "
                "without reading every item: pass y (the label of each item), "
                "classes=[...], or a dataset with a 'targets' attribute (as "
                "torchvision's and sklearn_p2p.datasets.ImageFolderDataset have)."
            )
        check_classification_targets(labels)
        return np.unique(labels)

    def _validate_training_dataset(self, X, y, *, reset):
        if reset:
            self._record_classes(self._dataset_classes(X, y))
        y_encoded = None if y is None else self._encode_labels(column_or_1d(y, warn=True))
        packed = self._packed_dataset(X, reset=reset)
        return EncodedItems(packed, self.classes_), y_encoded

    def _check_fit_params(self, fit_params):
        """Reject keywords the network cannot take, before any torch work.

        ``epochs`` is skorch's own: ``fit_loop`` takes it, the network does not.
        """
        module_cls = self.module if isinstance(self.module, type) else type(self.module)
        accepted = inspect.signature(module_cls.forward).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
            return
        unknown = sorted(set(fit_params) - set(accepted) - {"epochs"})
        if unknown:
            hint = ""
            if "masks" in unknown:
                hint = (
                    " Ground-truth masks are for scoring, not training: enable "
                    "sklearn.set_config(enable_metadata_routing=True) and score with "
                    "sklearn_p2p.metrics.localization_scorer, which requests them."
                )
            raise TypeError(
                f"{type(self).__name__}.fit got unexpected keyword argument(s) "
                f"{unknown}.{hint}"
            )

    def _validate_training_data(self, X, y, *, reset):
        self._validate_hyperparameters()
        if is_dataset(X):
            return self._validate_training_dataset(X, y, reset=reset)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target "
                "y is None; pass one label per image (only a torch Dataset of "
                "(image, label) items can go without)."
            )
        images, n_features = self._check_X(X, reset=reset)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        n_images = len(images)
        if n_images == 0:
            raise ValueError("X contains 0 images; pass at least one image.")
        if n_images != len(y):
            raise ValueError(
                f"X and y have different lengths: {n_images} images but "
                f"{len(y)} labels. Pass one label per image."
            )
        if reset:
            self._record_classes(
                np.unique(y) if self.classes is None else np.asarray(self.classes)
            )
        y_encoded = self._encode_labels(y)
        Xp = self._add_superpixels(images, n_features, reset=reset)
        return Xp, y_encoded

    def _record_classes(self, classes):
        if len(classes) < 2:
            raise ValueError(
                f"The labels hold one class only ({classes[0]!r}); a classifier "
                "needs at least two classes to learn from."
            )
        self.classes_inferred_ = classes

    def _encode_labels(self, y):
        """``y`` as indices into ``classes_``, after checking it holds no other label."""
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(
                f"y contains labels {unknown.tolist()} not among the classes "
                f"{self.classes_.tolist()} seen when the model was initialised."
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    # -- fitting -------------------------------------------------------
    def fit(self, X, y=None, **fit_params):
        """Train on images ``X`` with labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W), \
                or torch Dataset
            uint8 in [0, 255] or float in [0, 1] (other ranges with
            ``value_range``); with ``superpixels="precomputed"``, the output
            of :class:`SuperpixelTransformer` of shape (n_samples, H, W, C + 1).
            With ``image_shape``, also flattened, of shape
            (n_samples, n_features). For data larger than memory, a map-style
            torch Dataset of ``(image, label)`` items (e.g.
            :class:`~sklearn_p2p.datasets.ImageFolderDataset`): items are read,
            augmented by the dataset's own transform and segmented batch by
            batch, in DataLoader workers with
            ``iterator_train__num_workers``; with
            ``superpixels="precomputed"``, a :class:`SuperpixelDataset`.
        y : array-like of shape (n_samples,), default=None
            Labels of any type. Required for arrays; for a Dataset the labels
            come from its items, and ``y`` (if given) only tells the classes
            and stratifies a validation split. Without ``y``, the classes of a
            Dataset come from the ``classes`` parameter or the dataset's
            ``targets`` attribute.
        **fit_params
            Passed to skorch's ``fit_loop``.

        Returns
        -------
        self : P2PClassifier
            The fitted classifier.
        """
        self._check_fit_params(fit_params)
        reset = not self.warm_start or not self.initialized_
        Xp, y_encoded = self._validate_training_data(X, y, reset=reset)
        with _seeded_torch(self.random_state):
            if reset:
                self.initialize()
            super().partial_fit(Xp, y_encoded, _routing_method="fit", **fit_params)
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Continue training for ``max_epochs`` (or ``epochs=n``) more epochs.

        The first call on an unfitted classifier initialises it like
        :meth:`fit`; later calls keep the weights, the superpixel settings
        and the classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W), \
                or torch Dataset
            Images as in :meth:`fit`, of the size seen first.
        y : array-like of shape (n_samples,), default=None
            Labels, among the classes seen first (optional for a Dataset, as
            in :meth:`fit`).
        classes : array-like of shape (n_classes,), default=None
            Ignored; the classes are those of the first call (or the
            ``classes`` parameter of skorch).
        **fit_params
            Passed to skorch's ``fit_loop``.

        Returns
        -------
        self : P2PClassifier
            The updated classifier.
        """
        routing_method = fit_params.pop("_routing_method", "partial_fit")
        self._check_fit_params(fit_params)
        Xp, y_encoded = self._validate_training_data(X, y, reset=not self.initialized_)
        with _seeded_torch(self.random_state):
            super().partial_fit(Xp, y_encoded, _routing_method=routing_method, **fit_params)
        return self

    # -- inference -----------------------------------------------------
    def predict_proba(self, X):
        """Class probabilities of the classifier on each image's selected regions.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W), \
                or torch Dataset
            Images as in :meth:`fit`; a Dataset's labels are ignored.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes in ``classes_`` order, predicted from
            the masked image at each image's threshold (as :meth:`explain`
            returns it).
        """
        if _is_prepared(X):  # skorch's validation passes what fit prepared
            return super().predict_proba(X)
        check_is_fitted(self)
        return super().predict_proba(self._prepare_inputs(X))

    def predict(self, X):
        """Class labels, from the masked image at each image's threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W), \
                or torch Dataset
            Images as in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, among ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def explain(self, X, delta=None, return_details=False):
        """The superpixel masks the predictions are made from.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W), \
                or torch Dataset
            Images as in :meth:`fit`; a Dataset's labels are ignored. The
            returned arrays are in memory (one byte per pixel for the masks):
            explain a large Dataset in parts (``torch.utils.data.Subset``).
        delta : float in (0, 1], default=None
            Certainty for dynamic thresholding; None uses the fitted
            ``delta``. Ignored with a fixed ``threshold``.
        return_details : bool, default=False
            Return a Bunch with everything behind the masks.

        Returns
        -------
        masks : ndarray of bool, shape (n_samples, H, W)
            True where a pixel is kept. Always a union of whole superpixels.
            Images even for flattened X.
        details : Bunch
            With ``return_details=True``: ``masks``; ``segments`` (int label
            maps); ``region_probs`` (n_samples, D) ``sigmoid(mu_j)`` per region,
            0 beyond an image's region count; ``tau`` (n_samples,) the threshold
            used; ``embeddings`` (n_samples, D, K) region embeddings ``E_j``;
            ``n_regions``; ``proba`` and ``y_pred`` (the prediction made from
            the masks); ``kept_fraction`` (fraction of pixels kept).
        """
        check_is_fitted(self)
        delta = self.delta if delta is None else delta
        validate_parameter_constraints(
            {"delta": self._parameter_constraints["delta"]}, {"delta": delta},
            caller_name=f"{type(self).__name__}.explain",
        )
        outputs = self._explain_batches(
            self._prepare_inputs(X), delta, with_segments=return_details
        )
        if not return_details:
            return outputs["masks"]
        proba = outputs["proba"]
        return Bunch(
            masks=outputs["masks"],
            segments=outputs["segments"].astype(np.int64),
            region_probs=outputs["region_probs"],
            tau=outputs["tau"],
            embeddings=outputs["embeddings"],
            n_regions=outputs["n_regions"],
            proba=proba,
            y_pred=self.classes_[proba.argmax(axis=1)],
            kept_fraction=outputs["kept_fraction"],
        )

    def predict_proba_masked(self, X, masks):
        """Class probabilities of the classifier alone on ``X`` under given masks.

        The selector is bypassed: every image is shown to the classifier with
        the pixels where ``masks`` is False set to black. With the masks from
        :meth:`explain` this reproduces :meth:`predict_proba`; with other masks
        it answers "what would the classifier say on these pixels", which is
        what insertion/deletion fidelity and masked baselines ask.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images as in :meth:`fit`.
        masks : array-like of bool, shape (n_samples, H, W)
            True (or 1) for the pixels the classifier may see.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes in ``classes_`` order.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_p2p import P2PClassifier, SuperpixelTransformer
        >>> from sklearn_p2p.datasets import make_cluttered_objects
        >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
        >>> clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=8),
        ...                     max_epochs=1, verbose=0, random_state=0)
        >>> clf = clf.fit(data.images, data.target)
        >>> masks = clf.explain(data.images[:4])
        >>> np.allclose(clf.predict_proba_masked(data.images[:4], masks),
        ...             clf.predict_proba(data.images[:4]), atol=1e-5)
        True
        """
        check_is_fitted(self)
        if is_dataset(X):
            raise TypeError(
                "predict_proba_masked takes images as an array, not a Dataset; "
                "load the images to mask (e.g. a Subset) into an array first."
            )
        Xp = self._prepare_images(X, reset=False)
        masks = np.asarray(masks)
        if masks.shape != Xp.shape[:3]:
            raise ValueError(
                f"masks must have shape {Xp.shape[:3]} (one (H, W) mask per "
                f"image of X); got {masks.shape}."
            )
        if masks.dtype != bool and not np.isin(masks, (0, 1)).all():
            raise ValueError(
                "masks must be binary (bool, or 0/1 numbers); a fractional mask "
                "would blend pixels with black instead of removing them."
            )
        packed = np.concatenate([Xp, masks[..., None].astype(np.float32)], axis=-1)
        probas = []
        self.module_.eval()
        for Xi in self._inference_batches(self.get_dataset(packed)):
            logits = self.module_.classify_masked(Xi[..., :-1], Xi[..., -1])
            probas.append(to_numpy(torch.softmax(logits, dim=1)))
        return np.concatenate(probas)

    def _prepare_inputs(self, X):
        """Packed images for inference: an array, or a dataset for a Dataset."""
        if is_dataset(X):
            return EncodedItems(self._packed_dataset(X, reset=False), classes=None)
        return self._prepare_images(X, reset=False)

    def _inference_batches(self, dataset):
        """Input tensors of the batches of ``dataset``, in order, on the device."""
        for batch in self.get_iterator(dataset, training=False):
            Xi, _ = unpack_data(batch)
            yield to_tensor(Xi, device=self.device)

    def _explain_batches(self, Xp, delta, with_segments=False):
        keys = ("masks", "region_probs", "tau", "embeddings", "n_regions", "proba", "kept_fraction")
        # The label maps go back to the host only when asked for: they are
        # the largest output (one float per pixel).
        chunks = {key: [] for key in keys + (("segments",) if with_segments else ())}
        self.module_.eval()
        dataset = Xp if is_dataset(Xp) else self.get_dataset(Xp)
        for Xi in self._inference_batches(dataset):
            out = self.module_.explain(
                Xi, tau=self._fixed_tau(), delta=delta, tau_step=self.tau_step,
            )
            for key in keys:
                chunks[key].append(to_numpy(out[key]))
            if with_segments:
                chunks["segments"].append(to_numpy(Xi[..., -1]))
        return {key: _concatenate_padded(parts) for key, parts in chunks.items()}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Inputs are image batches; (n_samples, n_features) tables only when
        # image_shape says how to read each row as an image.
        tags.input_tags.two_d_array = self.image_shape is not None
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        tags.non_deterministic = self.random_state is None
        return tags


def _is_prepared(X):
    """Whether X is a dataset this classifier built (skorch passes them back)."""
    return isinstance(base_dataset(X), (SkorchDataset, EncodedItems))


def _concatenate_padded(parts):
    """Concatenate batches whose second axis (regions) may differ in length."""
    if parts[0].ndim < 2 or len({p.shape[1] for p in parts}) == 1:
        return np.concatenate(parts)
    width = max(p.shape[1] for p in parts)
    padded = [
        np.pad(p, [(0, 0), (0, width - p.shape[1])] + [(0, 0)] * (p.ndim - 2))
        for p in parts
    ]
    return np.concatenate(padded)
