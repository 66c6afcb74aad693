"""The base of the package's classifiers: skorch inside, images outside.

:class:`ImageClassifier` is a skorch ``NeuralNetClassifier`` that owns, once
for every classifier of the package, what lies between the user's input and
the network: images read and validated once per call
(:class:`~sklearn_p2p._image_input.ImageInputMixin`), torch Datasets read
lazily, the region label maps appended when the estimator uses regions,
labels of any type (and the class names of a torchvision-style Dataset),
``device="auto"``, seeding, and the inference loop. A subclass provides the
network (``initialize_module``), the loss and, if it selects regions,
:meth:`ImageClassifier._region_step`.
"""

import contextlib
import inspect
import time
import warnings

import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import accuracy_score
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import StrOptions, validate_parameter_constraints
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochScoring, PassthroughScoring
from skorch.dataset import Dataset as SkorchDataset
from skorch.dataset import unpack_data
from skorch.utils import TeeGenerator, is_dataset, to_numpy, to_tensor

from ._allocator import reused_cpu_memory
from ._dataset_input import EncodedItems, ImageItems, base_dataset, item_image
from ._image_input import ImageInputMixin
from ._labels import LabelEncodingMixin
from ._logging import logger, progress
from ._skorch_compat import SkorchCompatMixin
from ._superpixel_dataset import SuperpixelDataset
from .nn._precision import full_precision
from .utils._docstrings import fill_doc
from .utils._packed import validated_packed
from .utils._validation import check_masks

__all__ = ["ImageClassifier", "check_device", "resolve_device"]


def resolve_device(device):
    """``"auto"`` means CUDA when available, else CPU; anything else is kept."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def check_device(device, name="device"):
    """Raise a clear ValueError when ``device`` cannot be used on this machine.

    ``"auto"`` and None (placement left to Accelerate) always pass; a CUDA,
    MPS or XPU device must be available, and its index must exist. torch
    itself would only say so at the first tensor moved, after the images
    were read and segmented.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{name}={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' "
            "or 'cuda:<index>'."
        ) from exc
    if parsed.type == "cpu":
        return
    backend = getattr(torch, parsed.type, None)
    if parsed.type == "mps":
        backend = getattr(torch.backends, "mps", None)
    available = backend is not None and getattr(backend, "is_available", lambda: False)()
    if not available:
        raise ValueError(
            f"{name}={device!r}, but {parsed.type.upper()} is not available on this "
            f"machine (torch {torch.__version__}); use {name}='auto' (the GPU when "
            f"there is one, else the CPU) or {name}='cpu'."
        )
    count = getattr(backend, "device_count", None)
    if parsed.index is not None and count is not None and parsed.index >= count():
        raise ValueError(
            f"{name}={device!r}, but this machine has {count()} {parsed.type} "
            f"device(s) (indices 0 to {count() - 1}); choose one of them or "
            f"{name}='auto'."
        )


@contextlib.contextmanager
def seeded_torch(random_state):
    """Seed torch's global RNG for the block and restore it afterwards.

    Weight initialisation, batch shuffling and any sampling in the network
    use torch's global generator; forking it keeps the caller's own torch
    random stream untouched.
    """
    if random_state is None:
        yield
        return
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
        torch.manual_seed(seed)
        yield


# ``mixed_precision`` values (Accelerate's names) and the autocast dtypes.
_AUTOCAST_DTYPES = {"no": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def _accuracy_on_encoded(net, X, y):
    """Validation accuracy: skorch hands over the encoded labels 0..K-1."""
    return accuracy_score(to_numpy(y) if torch.is_tensor(y) else y,
                          net.predict_proba(X).argmax(axis=1))


class ImageClassifier(SkorchCompatMixin, LabelEncodingMixin, ImageInputMixin,
                      NeuralNetClassifier):
    """Base of the image classifiers: input handling around a skorch network.

    Parameters
    ----------
    module : torch module class
        The network; it reads float32 batches ``(B, H, W, C)`` (images in
        [0, 1]) or, with regions, ``(B, H, W, C + 1)`` (plus the label map),
        and returns logits (the default criterion is the cross-entropy).
    image_shape, value_range : see :class:`~sklearn_p2p.P2PClassifier`
        How to read flattened rows and other value ranges.
    random_state : int, RandomState instance or None, default=None
        Seeds torch's global generator during ``fit`` (restored afterwards).
    device : str, default="auto"
        ``"auto"``: CUDA when available, else CPU.
    mixed_precision : {"no", "bf16", "fp16"}, default="no"
        Forward passes (training and inference) under ``torch.autocast``
        in bfloat16 or float16 (Accelerate's names); losses, penalties and
        returned values stay float32. ``"fp16"`` trains with a
        ``torch.amp.GradScaler``.
    **kwargs
        Every other skorch parameter.
    """

    _parameter_constraints = {
        "image_shape": [None, tuple, list],
        "value_range": [None, tuple, list],
        "random_state": ["random_state"],
        "mixed_precision": [StrOptions(set(_AUTOCAST_DTYPES))],
    }

    def __init__(self, module, *, image_shape=None, value_range=None, random_state=None,
                 criterion=torch.nn.CrossEntropyLoss, device="auto", mixed_precision="no",
                 **kwargs):
        super().__init__(module, criterion=criterion, device=device, **kwargs)
        self.image_shape = image_shape
        self.value_range = value_range
        self.random_state = random_state
        self.mixed_precision = mixed_precision

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

    def __setstate__(self, state):
        # skorch loads the weights onto state["device"]: give it a concrete
        # one. None (device placement left to Accelerate) loads like "auto".
        requested = state["device"]
        state["device"] = resolve_device("auto" if requested is None else requested)
        super().__setstate__(state)
        if requested is None or (isinstance(requested, str) and requested == "auto"):
            self.__dict__["device"] = requested

    # -- device and mixed precision ------------------------------------
    def _check_device_and_precision(self):
        """Check ``device`` and ``mixed_precision`` at the start of fit and inference.

        Before any reading or segmenting, so that a model asked to run on a
        device this machine lacks says so at once.
        """
        check_device(self.__dict__.get("device", "auto"))
        self._check_mixed_precision()

    def _autocast_dtype(self):
        """``mixed_precision`` as a torch dtype (None for ``"no"``).

        Read at every batch, so it only looks the value up:
        :meth:`_check_mixed_precision` validates it before any torch work of
        ``fit`` and of the inference methods.
        """
        # Classifiers pickled before the parameter existed train in float32.
        return _AUTOCAST_DTYPES[self.__dict__.get("mixed_precision", "no")]

    def _check_mixed_precision(self):
        """Validate ``mixed_precision`` at the start of fit and of inference.

        float16 on a CPU works (torch autocasts to it there too) but most
        CPUs have no float16 arithmetic: it is many times slower than
        float32, so it is allowed with a warning.
        """
        value = self.__dict__.get("mixed_precision", "no")
        validate_parameter_constraints(
            {"mixed_precision": ImageClassifier._parameter_constraints["mixed_precision"]},
            {"mixed_precision": value}, caller_name=type(self).__name__,
        )
        dtype = _AUTOCAST_DTYPES[value]
        device_type = self._device_type()
        if dtype is not None and not torch.amp.is_autocast_available(device_type):
            raise ValueError(
                f"mixed_precision={value!r} needs torch.autocast, which torch does not "
                f"offer on device {self.device!r}; use mixed_precision='no' there."
            )
        if dtype is torch.float16 and device_type == "cpu":
            warnings.warn(
                f"{type(self).__name__}(mixed_precision='fp16') on the CPU: most CPUs "
                "emulate float16, which is many times slower than float32. Use "
                "mixed_precision='bf16' on a CPU (fast where it has bfloat16 "
                "instructions) and 'fp16' on a GPU.", UserWarning, stacklevel=3,
            )

    def _device_type(self):
        """``"cuda"``, ``"cpu"``, ...: the type of the device in use."""
        device = self.device
        return torch.device(resolve_device("auto") if device is None else device).type

    def _autocast(self):
        """The context of the network's forward passes: autocast under mixed precision.

        Under mixed precision the network's convolution weights are also
        laid out ``channels_last`` (once per network): its input reaches the
        backbones channels_last already, and with the weights alike the
        NHWC kernels of cuDNN (tensor cores) and oneDNN run without
        reordering the weights at every call (measured in
        ``benchmarks/mixed_precision.py``).
        """
        dtype = self._autocast_dtype()
        if dtype is None:
            return contextlib.nullcontext()
        module = self.__dict__.get("module_")
        if module is not None and not getattr(module, "_sklearn_p2p_channels_last", False):
            torch.nn.utils.convert_conv2d_weight_memory_format(module, torch.channels_last)
            module._sklearn_p2p_channels_last = True
        return torch.autocast(self._device_type(), dtype=dtype)

    def infer(self, x, **fit_params):
        """Forward pass of the network on a batch (a skorch hook).

        Under ``mixed_precision`` the network runs in ``torch.autocast``;
        its bfloat16 or float16 outputs are returned in float32, so that
        the loss and the returned probabilities are computed in float32.

        Parameters
        ----------
        x : Tensor, ndarray or dict
            A batch of the network's input.
        **fit_params
            Further keyword arguments of the network's ``forward``.

        Returns
        -------
        y_pred : Tensor or tuple of Tensor
            The network's output.
        """
        with self._autocast():
            y_pred = super().infer(x, **fit_params)
        return _in_float32(y_pred)

    def _grad_scaler(self):
        """The loss scaler of float16 training, or None.

        One ``torch.amp.GradScaler``, kept in ``grad_scaler_`` across batches
        and ``partial_fit`` calls (its scale adapts over the first steps) and
        replaced by ``fit``; torch pickles it without its device tensors.
        """
        if self._autocast_dtype() is not torch.float16:
            return None
        device_type = self._device_type()
        scaler = self.__dict__.get("grad_scaler_")
        if scaler is None or getattr(scaler, "_device", device_type) != device_type:
            init_scale = 2.0 ** 16 if scaler is None else scaler.get_scale()
            scaler = torch.amp.GradScaler(device_type, init_scale=init_scale)
            self.grad_scaler_ = scaler
        return scaler

    def train_step(self, batch, **fit_params):
        """One optimisation step on a batch (a skorch hook).

        skorch's, except under ``mixed_precision="fp16"``: the loss is
        scaled before the backward pass (``torch.amp.GradScaler``), and the
        gradients are unscaled before the ``on_grad_computed`` callbacks
        (e.g. gradient clipping) and the optimiser step, which is skipped
        when they overflowed.

        Parameters
        ----------
        batch : tuple
            ``(X, y)`` as the data loader yields it.
        **fit_params
            Further keyword arguments of the network's ``forward``.

        Returns
        -------
        step : dict
            ``{"loss": loss, "y_pred": y_pred}``, as skorch expects.
        """
        scaler = self._grad_scaler()
        if scaler is None:
            return super().train_step(batch, **fit_params)
        self._zero_grad_optimizer()
        self.__dict__["_loss_scaling"] = {"scaler": scaler, "scaled": False}
        try:
            step = self.train_step_single(batch, **fit_params)
            scaled = self.__dict__["_loss_scaling"]["scaled"]
        finally:
            self.__dict__.pop("_loss_scaling", None)
        optimizers = [getattr(self, name + "_") for name in self._optimizers]
        if scaled:
            for optimizer in optimizers:
                scaler.unscale_(optimizer)
        else:
            warnings.warn(
                f"{type(self).__name__}.train_step_single calls loss.backward() "
                "itself, not self._backward(loss): mixed_precision='fp16' trains "
                "without loss scaling.", RuntimeWarning, stacklevel=2,
            )
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch, training=True,
        )
        for optimizer in optimizers:
            if scaled:
                scaler.step(optimizer)
            else:
                optimizer.step()
        if scaled:
            scaler.update()
        return step

    def train_step_single(self, batch, **fit_params):
        """Loss and gradients of a batch (a skorch hook).

        skorch's, with the backward pass in :meth:`_backward` (scaled under
        ``mixed_precision="fp16"``).

        Parameters
        ----------
        batch : tuple
            ``(X, y)`` as the data loader yields it.
        **fit_params
            Further keyword arguments of the network's ``forward``.

        Returns
        -------
        step : dict
            ``{"loss": loss, "y_pred": y_pred}``, as skorch expects.
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self._backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def _backward(self, loss):
        """``loss.backward()``, with the loss scaled in float16 training steps.

        Subclasses that override :meth:`train_step_single` call this
        instead of ``loss.backward()``.
        """
        scaling = self.__dict__.get("_loss_scaling")
        if scaling is None:
            loss.backward()
            return
        scaling["scaler"].scale(loss).backward()
        scaling["scaled"] = True

    # -- hooks for subclasses ------------------------------------------
    def _region_step(self):
        """How regions are obtained: None, a region transformer or ``"precomputed"``.

        None: the network reads images alone. A (fitted or not)
        :class:`~sklearn_p2p._region_transformer.RegionTransformer`: its
        label maps are appended. ``"precomputed"``: ``X`` is packed already.
        """
        return None

    def _check_params(self):
        """Checks beyond ``_parameter_constraints`` (e.g. backbone names)."""

    # Terms of the objective that a subclass records per batch
    # (``history.record_batch``): name -> whether lower is better (None:
    # neither). Each gets an epoch mean of the same name, weighted by the
    # batch sizes as skorch's ``train_loss``, in the history and the printed
    # log; names starting with ``valid_`` average the validation batches.
    _loss_terms = {}

    def get_default_callbacks(self):
        """skorch's default callbacks, ``valid_acc`` scoring encoded labels.

        Returns
        -------
        callbacks : list of (str, Callback)
            skorch's defaults; ``valid_acc`` compares with the labels skorch
            hands over (encoded ``0 .. n_classes - 1``). Before
            ``print_log``, a ``PassthroughScoring`` per term of the method's
            objective (e.g. ``cross_entropy``), so that the history and the
            training log show their epoch means.
        """
        terms = [
            (name, PassthroughScoring(name, lower_is_better=lower,
                                      on_train=not name.startswith("valid_")))
            for name, lower in self._loss_terms.items()
        ]
        callbacks = []
        for name, callback in super().get_default_callbacks():
            if name == "valid_acc":
                callback = EpochScoring(
                    _accuracy_on_encoded, name="valid_acc",
                    lower_is_better=False, use_caching=True,
                )
            if name == "print_log":
                callbacks += terms
                terms = []
            callbacks.append((name, callback))
        return callbacks + terms

    # -- parameters ----------------------------------------------------
    def _validate_hyperparameters(self):
        constraints = self._parameter_constraints
        validate_parameter_constraints(
            constraints, {name: getattr(self, name) for name in constraints},
            caller_name=type(self).__name__,
        )
        self._check_device_and_precision()
        self._check_input_params()
        self._check_params()

    def _takes_packed_input(self):
        step = self._region_step()
        return isinstance(step, str) and step == "precomputed"

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
            if "sample_weight" in unknown:
                hint = (
                    f" {type(self).__name__} does not support sample weights: every "
                    "image counts once in the loss. To weight classes, pass "
                    "criterion__weight=torch.tensor([...]) (one weight per class, in "
                    "classes_ order; the cross-entropy's class weights); to weight "
                    "images, resample them, e.g. with sklearn.utils.resample."
                )
            raise TypeError(
                f"{type(self).__name__}.fit got unexpected keyword argument(s) "
                f"{unknown}.{hint}"
            )

    # -- arrays --------------------------------------------------------
    def _read_input(self, X, *, reset):
        """Validated images of ``X``, with a spare channel if regions are added."""
        step = self._region_step()
        segments = step is not None and not self._takes_packed_input()
        return self._read_images(X, reset=reset, n_spare_channels=int(segments))

    def _network_input(self, batch, *, reset):
        """What the network reads: the images, plus label maps when it uses regions."""
        step = self._region_step()
        if step is None or self._takes_packed_input():
            return batch.data
        with batch.reading():
            if reset:
                self.superpixels_ = self._new_region_transformer(step)._fit_images(batch.images)
            self.superpixels_._label_into(batch.data)
        return batch.data

    def _new_region_transformer(self, step):
        """An unfitted copy of the region step that reads images as this classifier does.

        The classifier owns ``value_range``: the copy gets it, so that
        ``superpixels_.transform`` and the Dataset path read raw images
        alike.
        """
        transformer = clone(step).set_params(value_range=self.value_range)
        if self.verbose >= 2 and "verbose" in transformer.get_params():
            transformer.set_params(verbose=max(transformer.verbose, 1))
        return transformer

    def _inference_input(self, X):
        """The network's input for ``X``: an array, or a dataset for a Dataset."""
        self._check_device_and_precision()
        if is_dataset(X):
            return EncodedItems(self._dataset_input(X, reset=False), codes=None)
        return self._network_input(self._read_input(X, reset=False), reset=False)

    # -- torch Datasets ------------------------------------------------
    def _dataset_input(self, X, *, reset):
        """A dataset of network inputs from a user's Dataset.

        Records (reset) or checks the image format from the first item; only
        that item is read here.
        """
        if len(X) == 0:
            raise ValueError("X is an empty dataset; pass at least one image.")
        step = self._region_step()
        segmented = isinstance(base_dataset(X), SuperpixelDataset)
        if self._takes_packed_input():
            if self.value_range is not None:
                raise ValueError(
                    "value_range cannot be used with superpixels='precomputed': "
                    "set it on the SuperpixelTransformer of the SuperpixelDataset."
                )
            # Packed items are channel-last, as SuperpixelDataset returns them.
            first = validated_packed(np.asarray(item_image(X[0]))[None], input_name="X[0]")
            self._check_image_format(first.shape[1:3], first.shape[-1] - 1, reset=reset)
            return X
        if segmented:
            raise ValueError(
                "X is a SuperpixelDataset, whose items already carry their label "
                "maps; pass superpixels='precomputed' to "
                f"{type(self).__name__}, or pass the dataset it wraps."
            )
        if step is None:
            dataset = ImageItems(X, value_range=self.value_range)
        else:
            transformer = self._new_region_transformer(step) if reset else self.superpixels_
            dataset = SuperpixelDataset(X, transformer)
            if reset:
                self.superpixels_ = dataset.superpixels_
        self._check_image_format(dataset.image_shape_, dataset.n_channels_, reset=reset)
        return dataset

    # -- training data -------------------------------------------------
    def _validate_training_data(self, X, y, *, reset):
        """The network's input and the encoded labels, validated once."""
        self._validate_hyperparameters()
        if is_dataset(X):
            return self._validate_training_dataset(X, y, reset=reset)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target "
                "y is None; pass one label per image (only a torch Dataset of "
                "(image, label) items can go without)."
            )
        batch = self._read_input(X, reset=reset)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        n_images = len(batch.data)
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
        return self._network_input(batch, reset=reset), y_encoded

    def _validate_training_dataset(self, X, y, *, reset):
        labels, names = self._dataset_labels(X, y)
        if reset:
            self._record_classes(self._dataset_classes(labels, names))
        y_encoded = None if y is None else self._encode_labels(labels, names)
        dataset = self._dataset_input(X, reset=reset)
        codes = self._label_codes(names)
        return EncodedItems(dataset, codes, self.classes_.tolist()), y_encoded

    # -- fitting -------------------------------------------------------
    def fit(self, X, y=None, **fit_params):
        """Train on images ``X`` with labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W), \
                or torch Dataset
            uint8 in [0, 255] or float in [0, 1] (other ranges with
            ``value_range``); with ``image_shape``, also flattened, of shape
            (n_samples, n_features); with ``superpixels="precomputed"``, the
            output of :class:`~sklearn_p2p.SuperpixelTransformer` of shape
            (n_samples, H, W, C + 1). Torch tensors are read channel-first,
            ``(n_samples, C, H, W)``, as torchvision lays them out. For data
            larger than memory, a map-style torch Dataset of ``(image,
            label)`` items (e.g.
            :class:`~sklearn_p2p.datasets.ImageFolderDataset`): items are
            read, augmented by the dataset's own transform (and segmented)
            batch by batch, in DataLoader workers with
            ``iterator_train__num_workers``; with
            ``superpixels="precomputed"``, a
            :class:`~sklearn_p2p.SuperpixelDataset`.
        y : array-like of shape (n_samples,), default=None
            Labels of any type. Required for arrays; for a Dataset the labels
            come from its items, and ``y`` (if given) only tells the classes
            and stratifies a validation split. Without ``y``, the classes of a
            Dataset come from the ``classes`` parameter, the dataset's
            ``classes`` attribute when its labels are integers (torchvision's
            convention: ``classes_`` are then the class names), or its
            ``targets`` attribute.
        **fit_params
            Passed to skorch's ``fit_loop``.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        self._check_fit_params(fit_params)
        reset = not self.warm_start or not self.initialized_
        start = time.perf_counter()
        data, y_encoded = self._validate_training_data(X, y, reset=reset)
        self._log_fit_start(data, start)
        with seeded_torch(self.random_state), self._training_memory():
            if reset:
                self.__dict__.pop("grad_scaler_", None)  # a new fp16 loss scale
                self.initialize()
            self._skorch_partial_fit(data, y_encoded, "fit", **fit_params)
        self._log_fit_end(start)
        return self

    def _training_memory(self):
        """On the CPU, keep freed memory for reuse while training (see ``_allocator``).

        Without it every step faults its large activations in again; with
        it a P2P epoch at 96 pixels took 9.7 s instead of 16.1 s, a
        Blackbox epoch 4.6 s instead of 5.6 s (``docs/performance.rst``).
        """
        return reused_cpu_memory(enabled=self._device_type() == "cpu")

    def _log_fit_start(self, data, start):
        logger.info(
            "%s: training on %d images of %dx%d (%d channel(s)), %d classes, device %s, "
            "mixed_precision=%r, %d epochs (input read%s in %.1f s)",
            type(self).__name__, len(data), *self.image_shape_, self.n_channels_,
            len(self.classes_), self.device, self.__dict__.get("mixed_precision", "no"),
            self.max_epochs, "" if self._region_step() is None else " and segmented",
            time.perf_counter() - start,
        )

    def _log_fit_end(self, start):
        last = self.history[-1] if self.history else {}
        logger.info(
            "%s: trained %d epoch(s) in %.1f s; last epoch: %s", type(self).__name__,
            len(self.history), time.perf_counter() - start,
            ", ".join(f"{key}={last[key]:.4g}" for key in ("train_loss", "valid_loss",
                                                             "valid_acc")
                      if isinstance(last.get(key), float)) or "no scores",
        )

    @contextlib.contextmanager
    def _inference_progress(self, description):
        """A progress bar over the inference batches of the block, with ``verbose >= 2``.

        Read by :meth:`get_iterator`; validation batches during ``fit`` are
        left to skorch's own ``ProgressBar``.
        """
        previous = self.__dict__.get("_progress_description")
        self.__dict__["_progress_description"] = description
        try:
            yield
        finally:
            if previous is None:  # leave the estimator's __dict__ as it was
                del self.__dict__["_progress_description"]
            else:
                self.__dict__["_progress_description"] = previous

    @fill_doc
    def get_iterator(self, dataset, training=False):
        """skorch's DataLoader, with a progress bar in verbose inference (a skorch hook).

        Parameters
        ----------
        %(iterator_params)s

        Returns
        -------
        iterator : iterable of batches
            ``iterator_train``/``iterator_valid`` on ``dataset``; inside
            ``predict``, ``predict_proba`` and ``explain`` with ``verbose >=
            2``, wrapped in a tqdm progress bar.
        """
        return self._with_progress(super().get_iterator(dataset, training=training), training)

    def _with_progress(self, iterator, training, *, shown=True):
        """``iterator`` with the progress bar of :meth:`_inference_progress`, if any."""
        description = self.__dict__.get("_progress_description")
        enabled = shown and not training and description is not None and self.verbose >= 2
        return progress(iterator, description, enabled=enabled)

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
        self : object
            The updated classifier.
        """
        routing_method = fit_params.pop("_routing_method", "partial_fit")
        self._check_fit_params(fit_params)
        data, y_encoded = self._validate_training_data(X, y, reset=not self.initialized_)
        with seeded_torch(self.random_state), self._training_memory():
            self._skorch_partial_fit(data, y_encoded, routing_method, **fit_params)
        return self

    # -- inference -----------------------------------------------------
    def predict_proba(self, X):
        """Class probabilities of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W), \
                or torch Dataset
            Images as in :meth:`fit`; a Dataset's labels are ignored.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes in ``classes_`` order.
        """
        if _is_prepared(X):  # skorch's validation passes what fit prepared
            return super().predict_proba(X)
        check_is_fitted(self)
        network_input = self._inference_input(X)
        with self._inference_progress("predict"):
            return super().predict_proba(network_input)

    def predict(self, X):
        """Class labels of each image.

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

    def predict_proba_masked(self, X, masks):
        """Class probabilities of the classifier alone on ``X`` under given masks.

        Every image is shown to the classifier with the pixels where
        ``masks`` is False set to black: "what would the classifier say on
        these pixels", which is what insertion/deletion fidelity and masked
        baselines ask. The images are not segmented.

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
        """
        check_is_fitted(self)
        self._check_device_and_precision()
        if is_dataset(X):
            raise TypeError(
                "predict_proba_masked takes images as an array, not a Dataset; "
                "load the images to mask (e.g. a Subset) into an array first."
            )
        batch = self._read_images(X, reset=False)
        # A fractional mask would blend pixels with black instead of removing them.
        masks = check_masks(masks, "masks")
        if masks.shape != batch.data.shape[:3]:
            raise ValueError(
                f"masks must have shape {batch.data.shape[:3]} (one (H, W) mask per "
                f"image of X); got {masks.shape}."
            )
        dataset = self.get_dataset({"images": batch.images, "masks": masks})
        probas = []
        self.module_.eval()
        for Xi in self._inference_batches(dataset):
            with self._autocast():
                logits = self.module_.classify_images(Xi["images"], Xi["masks"])
            probas.append(to_numpy(torch.softmax(full_precision(logits), dim=1)))
        return np.concatenate(probas)

    def _inference_batches(self, dataset):
        """Input tensors of the batches of ``dataset``, in order, on the device."""
        for batch in self.get_iterator(dataset, training=False):
            Xi, _ = unpack_data(batch)
            yield to_tensor(Xi, device=self.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Inputs are image batches; (n_samples, n_features) tables only when
        # image_shape says how to read each row as an image.
        tags.input_tags.two_d_array = self.image_shape is not None
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        tags.non_deterministic = self.random_state is None
        return tags


def _in_float32(outputs):
    """Network outputs with their float16/bfloat16 tensors in float32."""
    if isinstance(outputs, tuple):
        return tuple(_in_float32(out) for out in outputs)
    if isinstance(outputs, list):
        return [_in_float32(out) for out in outputs]
    if isinstance(outputs, dict):
        return {key: _in_float32(out) for key, out in outputs.items()}
    return full_precision(outputs)


def _is_prepared(X):
    """Whether X is a dataset this classifier built (skorch passes them back)."""
    return isinstance(base_dataset(X), (SkorchDataset, EncodedItems))
