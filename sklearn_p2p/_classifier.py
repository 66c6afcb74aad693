"""P2PClassifier: the P2P network as a scikit-learn classifier on skorch.

The input handling, labels, devices and the training and inference loops
are the shared :class:`~sklearn_p2p._image_classifier.ImageClassifier`'s;
this module holds what is P2P's own: its hyper-parameters, its network, its
loss and annealing (skorch hooks) and :meth:`P2PClassifier.explain`.
"""

import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import Bunch
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import PrintLog, ProgressBar
from skorch.utils import is_dataset, to_numpy

from ._explanation import flag_empty_masks, paint_regions
from ._image_classifier import ImageClassifier
from ._logging import logger
from ._region_transformer import RegionTransformer
from ._superpixels import SuperpixelTransformer
from .callbacks import (
    GumbelTemperatureSchedule, SelectionCheck, SparsityWarmup, StopOnNonFiniteLoss,
)
from .nn import P2PNetwork, p2p_penalty
from .nn._precision import full_precision
from .nn.backbones import check_backbone_name
from .utils._docstrings import fill_doc
from .utils._packed import unpack

__all__ = ["P2PClassifier"]

# The terms of P2P's loss recorded in the history (get_loss), in the order
# they are computed: name -> whether lower is better.
_LOSS_TERMS = {"cross_entropy": True, "sparsity": None, "covariance": None,
               "kept_fraction": None}


@fill_doc
class P2PClassifier(ImageClassifier):
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
        (100 SLIC segments, compactness 20); any transformer of the package
        that appends a region label map (e.g.
        :class:`~sklearn_p2p.baselines.PatchGridTransformer`) works too.
        ``"precomputed"``: ``X`` is the output of a
        :class:`SuperpixelTransformer` (e.g. an earlier Pipeline step).
    %(image_shape)s
        With ``superpixels="precomputed"`` each pixel carries one more
        value, the superpixel label.
    %(value_range)s
        P2P owns the range: it reads the images and hands them to the
        superpixel step already in [0, 1], so the step's own
        ``value_range`` must stay None. With ``superpixels="precomputed"``
        set it on the :class:`SuperpixelTransformer` instead.
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
    mixed_precision : {"no", "bf16", "fp16"}, default="no"
        Run the forward passes of training and inference under
        ``torch.autocast`` in bfloat16 (``"bf16"``) or float16 (``"fp16"``),
        as Accelerate names them: the backbones' convolutions and matrix
        products in half precision, while the region averages, the sampling
        of the region logits, the penalties, the loss and the threshold
        search stay float32, and what is returned (probabilities, masks,
        ``region_probs``) is float32 or bool as without it. ``"fp16"``
        scales the loss (``torch.amp.GradScaler``). On a GPU with tensor
        cores it trains and predicts faster and takes less memory; on a CPU
        ``"bf16"`` helps only where the CPU has bfloat16 instructions (see
        the user guide). It can be changed after ``fit``, e.g. to predict
        in bfloat16 with a model trained in float32.
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
        **ImageClassifier._parameter_constraints,
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
        mixed_precision="no",
        **kwargs,
    ):
        super().__init__(
            module,
            image_shape=image_shape,
            value_range=value_range,
            random_state=random_state,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            mixed_precision=mixed_precision,
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

    def _region_step(self):
        return SuperpixelTransformer() if self.superpixels is None else self.superpixels

    def _check_params(self):
        check_backbone_name(self.selector, "selector")
        check_backbone_name(self.classifier, "classifier")
        step = self._region_step()
        if self._takes_packed_input():
            return
        if not isinstance(step, RegionTransformer):
            raise TypeError(
                f"The 'superpixels' parameter of {type(self).__name__} must be a "
                "transformer of this package that appends a region label map "
                "(SuperpixelTransformer, PatchGridTransformer), 'precomputed' or "
                f"None; got {type(step).__name__}. For another segmentation, pack "
                "the images with their label maps (sklearn_p2p.utils."
                "pack_superpixels) and pass superpixels='precomputed'."
            )
        params = step.get_params()
        for name in ("value_range", "image_shape"):
            if params.get(name) is not None:
                raise ValueError(
                    f"The {type(step).__name__} passed as superpixels has "
                    f"{name}={params[name]!r}, which is not used: "
                    f"{type(self).__name__} reads the images itself and hands "
                    f"them to it in [0, 1]. Set {type(self).__name__}({name}=...) "
                    "instead."
                )

    # -- skorch hooks --------------------------------------------------
    # The terms of the loss that get_loss records per batch, with the prefix
    # of skorch's losses (train_ or valid_), and their epoch means (see
    # ImageClassifier): name -> whether lower is better.
    _loss_terms = {
        f"{split}_{term}": lower
        for split in ("train", "valid") for term, lower in _LOSS_TERMS.items()
    }
    # History columns the epoch table leaves out, to stay readable.
    _unprinted_columns = ("temperature", "train_sparsity", "train_covariance",
                          "valid_cross_entropy", "valid_sparsity", "valid_covariance",
                          "valid_kept_fraction")

    def get_default_callbacks(self):
        """skorch callbacks installed unless overridden (a skorch hook).

        Returns
        -------
        callbacks : list of (str, Callback)
            ``temperature`` (:class:`~sklearn_p2p.callbacks.GumbelTemperatureSchedule`),
            ``sparsity_warmup`` (:class:`~sklearn_p2p.callbacks.SparsityWarmup`),
            ``stop_on_nan`` (:class:`~sklearn_p2p.callbacks.StopOnNonFiniteLoss`),
            ``selection_check`` (:class:`~sklearn_p2p.callbacks.SelectionCheck`:
            warns when the trained model keeps everything or nothing),
            ``progress_bar`` with ``verbose >= 2``, then skorch's defaults
            with the epoch means of the loss terms (``train_cross_entropy``,
            ``train_sparsity``, ``train_covariance``, ``train_kept_fraction``
            and their ``valid_`` counterparts, see :meth:`get_loss`). The
            epoch table (``print_log``) shows ``lambda1``,
            ``train_cross_entropy``, ``train_kept_fraction`` and skorch's
            columns; ``callbacks__print_log__keys_ignored=[]`` shows every
            column.
        """
        callbacks = [
            ("temperature", GumbelTemperatureSchedule()),
            ("sparsity_warmup", self._default_sparsity_warmup()),
            ("stop_on_nan", StopOnNonFiniteLoss()),
            ("selection_check", SelectionCheck()),
        ]
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        for name, callback in super().get_default_callbacks():
            if name == "print_log":
                callback = PrintLog(keys_ignored=list(self._unprinted_columns))
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
        covariance penalty (:func:`~sklearn_p2p.nn.p2p_penalty`). The terms
        are recorded in the history of the batch, unweighted, with skorch's
        prefix (``train_`` in training, ``valid_`` on a validation split):
        ``train_cross_entropy``, ``train_sparsity`` (the batch mean of
        :func:`~sklearn_p2p.nn.sparsity_penalty`), ``train_covariance``
        (the batch mean of ``||Sigma||``) and ``train_kept_fraction`` (the
        batch mean of the expected kept fraction), so that ``train_loss =
        train_cross_entropy + lambda1_ * train_sparsity + lambda2 *
        train_covariance``. In training the kept fraction is also recorded
        as ``kept_fraction``, its name in earlier versions.

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
        # Unweighted, to be recorded; weighted below as p2p_penalty weights them.
        sparsity, covariance = p2p_penalty(kept_fraction, tau, covariance_norm, 1.0, 1.0)
        if self.history and self.history[-1]["batches"]:  # not outside a fit loop
            self._record_loss_terms("train" if training else "valid", cross_entropy,
                                    sparsity, covariance, kept_fraction.mean())
        lambda1 = getattr(self, "lambda1_", self.lambda1)
        return cross_entropy + lambda1 * sparsity + self.lambda2 * covariance

    def _record_loss_terms(self, prefix, *terms):
        """Record the loss terms of a batch, in ``_loss_terms`` order, in the history."""
        # One transfer to the host for all of them.
        values = torch.stack([term.detach().float() for term in terms]).tolist()
        for name, value in zip(_LOSS_TERMS, values):
            self.history.record_batch(f"{prefix}_{name}", value)
        if prefix == "train":
            self.history.record_batch("kept_fraction", values[-1])

    # -- inference -----------------------------------------------------
    @fill_doc
    def predict_proba(self, X):
        """Class probabilities of the classifier on each image's selected regions.

        Parameters
        ----------
        %(X_images_or_dataset)s

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes in ``classes_`` order, predicted from
            the masked image at each image's threshold (as :meth:`explain`
            returns it).
        """
        return super().predict_proba(X)

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
            ``n_regions``; ``attributions`` (n_samples, H, W), the
            ``region_probs`` painted onto the pixels of their regions;
            ``proba`` and ``y_pred`` (the prediction made from the masks);
            ``kept_fraction`` (fraction of pixels kept); ``empty`` (the masks
            that keep no pixel).

        Warns
        -----
        EmptyExplanationWarning
            When some masks keep no pixel: the classifier was certain on the
            black image before any region was added (see
            :class:`~sklearn_p2p.exceptions.EmptyExplanationWarning`).
        """
        check_is_fitted(self)
        delta = self.delta if delta is None else delta
        validate_parameter_constraints(
            {"delta": self._parameter_constraints["delta"]}, {"delta": delta},
            caller_name=f"{type(self).__name__}.explain",
        )
        network_input = self._inference_input(X)
        with self._inference_progress("explain"):
            outputs = self._explain_batches(network_input, delta, with_segments=return_details)
        empty = flag_empty_masks(outputs["masks"], f"{type(self).__name__}.explain")
        kept = outputs["kept_fraction"]
        logger.info(
            "%s.explain: %d images at delta=%g; kept %.1f%% of the pixels on average "
            "(%.1f%% to %.1f%%), mean tau %.3f, %d empty", type(self).__name__, len(kept),
            delta, 100 * kept.mean(), 100 * kept.min(), 100 * kept.max(),
            outputs["tau"].mean(), empty.sum(),
        )
        if not return_details:
            return outputs["masks"]
        proba = outputs["proba"]
        segments = outputs["segments"].astype(np.int64)
        return Bunch(
            masks=outputs["masks"],
            segments=segments,
            region_probs=outputs["region_probs"],
            attributions=paint_regions(outputs["region_probs"], segments),
            tau=outputs["tau"],
            embeddings=outputs["embeddings"],
            n_regions=outputs["n_regions"],
            proba=proba,
            y_pred=self.classes_[proba.argmax(axis=1)],
            kept_fraction=outputs["kept_fraction"],
            empty=empty,
        )

    def _explain_batches(self, Xp, delta, with_segments=False):
        keys = ("masks", "region_probs", "tau", "embeddings", "n_regions", "proba", "kept_fraction")
        # The label maps go back to the host only when asked for: they are
        # the largest output (one float per pixel).
        chunks = {key: [] for key in keys + (("segments",) if with_segments else ())}
        self.module_.eval()
        dataset = Xp if is_dataset(Xp) else self.get_dataset(Xp)
        for Xi in self._inference_batches(dataset):
            with self._autocast():
                out = self.module_.explain(
                    Xi, tau=self._fixed_tau(), delta=delta, tau_step=self.tau_step,
                )
            for key in keys:
                chunks[key].append(to_numpy(full_precision(out[key])))
            if with_segments:
                chunks["segments"].append(to_numpy(unpack(Xi)[1]))
        return {key: _concatenate_padded(parts) for key, parts in chunks.items()}


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
