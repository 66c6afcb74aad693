"""The base of the classifiers of the related methods: a backbone on full images.

ERSM, S-IB and the smoothed adversarial model are classifiers of whole
images (no superpixels) that differ in their network and their training
objective. :class:`BackboneClassifier` holds what they share on top of
:class:`~sklearn_p2p._image_classifier.ImageClassifier`: the backbone
parameters, the ``kept_fraction`` of their explanation masks and the
``explain`` of the explanation protocol.
"""

import os
from numbers import Real

import torch
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._explanation import attribution_explanation, check_kept_fraction
from .._image_classifier import ImageClassifier
from ..nn import ImageNetwork
from ..nn.backbones import check_backbone_name
from ..utils._docstrings import fill_doc

__all__ = ["BackboneClassifier"]


@fill_doc
class BackboneClassifier(ImageClassifier):
    """A backbone classifier of full images that explains itself by a map.

    Subclasses set the network (``module``) and, where the method has one,
    the training objective (skorch's ``get_loss`` or ``train_step_single``)
    and the map (:meth:`_explanation_maps`); by default the explanation is
    the vanilla gradient (saliency) of the predicted class, computed by
    :class:`~sklearn_p2p.explainers.GradientExplainer`.

    Parameters
    ----------
    module : torch module class, default=ImageNetwork
        The network; it reads float32 batches ``(B, H, W, C)`` in [0, 1].
    classifier : str, default="tiny_cnn"
        Backbone: ``"tiny_cnn"`` or any timm model name.
    pretrained : bool, str or path, default=False
        ``False``: random initialisation; ``True``: timm's pretrained
        weights; a path: a local weights file.
    kept_fraction : float in [0, 1] or array-like of shape (n_samples,), \
            default=0.25
        Share of the pixels each explanation mask keeps (the top pixels of
        the map); an array gives one value per explained image, e.g. P2P's
        own ``kept_fraction`` details, to compare at P2P's sparsity.
    %(image_shape)s
    %(value_range)s
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and shuffling; with an int, two fits on
        CPU give identical models.
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        The classification loss.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Optimiser of all weights; its own parameters are set with
        ``optimizer__<name>``.
    lr : float, default=1e-3
        The optimiser's learning rate.
    max_epochs : int, default=10
        Passes over the training data per call of :meth:`fit`.
    batch_size : int, default=64
        Images per training and inference batch.
    train_split : callable or None, default=None
        skorch's validation split; e.g. ``skorch.dataset.ValidSplit(5)``.
    device : str, default="auto"
        ``"auto"``: CUDA when available, else CPU.
    mixed_precision : {"no", "bf16", "fp16"}, default="no"
        Forward passes under ``torch.autocast`` in bfloat16 or float16
        (``"fp16"`` also scales the loss); the loss and the returned values
        stay float32. ``explain`` computes its maps in float32. See
        :class:`~sklearn_p2p.P2PClassifier`.
    **kwargs
        Every other skorch parameter (``callbacks``, ``verbose``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen during ``fit``.
    image_shape_ : tuple of int
        ``(H, W)`` of the training images.
    n_channels_ : int
        Image channels at fit (1 or 3).
    module_ : torch module
        The trained network.

    See Also
    --------
    sklearn_p2p.explainers.GradientExplainer : Other gradient maps of the
        same model.

    Examples
    --------
    >>> from sklearn_p2p.datasets import make_cluttered_objects
    >>> from sklearn_p2p.models import BackboneClassifier
    >>> data = make_cluttered_objects(n_samples=24, image_size=16, random_state=0)
    >>> clf = BackboneClassifier(max_epochs=1, kept_fraction=0.1, verbose=0,
    ...                          random_state=0).fit(data.images, data.target)
    >>> details = clf.explain(data.images[:2], return_details=True)
    >>> details.masks.shape, sorted(details)
    ((2, 16, 16), ['attributions', 'empty', 'kept_fraction', 'masks', 'proba', 'y_pred'])
    """

    _parameter_constraints = {
        **ImageClassifier._parameter_constraints,
        "classifier": [str],
        "pretrained": ["boolean", str, os.PathLike],
        "kept_fraction": [Interval(Real, 0, 1, closed="both"), "array-like"],
    }

    def __init__(
        self,
        module=ImageNetwork,
        *,
        classifier="tiny_cnn",
        pretrained=False,
        kept_fraction=0.25,
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
        self.classifier = classifier
        self.pretrained = pretrained
        self.kept_fraction = kept_fraction

    # A subclass names the terms of its objective that it records per batch
    # in ``_loss_terms``; ImageClassifier adds their epoch means.

    def _check_params(self):
        check_backbone_name(self.classifier, "classifier")

    def _module_kwargs(self):
        """Constructor arguments of the network beyond the data and backbone."""
        return {}

    def initialize_module(self):
        """Build the network from the data and the parameters (a skorch hook).

        The number of classes and of image channels come from the data seen
        in :meth:`fit`; ``module__<name>`` parameters override the others.

        Returns
        -------
        self : BackboneClassifier
            With the new network in ``module_``.
        """
        kwargs = {
            "n_classes": len(self.classes_),
            "in_chans": self.n_channels_,
            "classifier": self.classifier,
            "pretrained": self.pretrained,
            **self._module_kwargs(),
            **self.get_params_for("module"),
        }
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    @fill_doc
    def explain(self, X, delta=None, return_details=False):
        """Masks of the top pixels of the model's own explanation map.

        Parameters
        ----------
        X : array-like of shape (n_samples, H, W, C) or (n_samples, H, W)
            Images as in :meth:`fit`.
        %(explain_no_delta)s

        Returns
        -------
        masks : ndarray of bool, shape (n_samples, H, W)
            The top ``kept_fraction`` of the pixels of each map.
        details : Bunch
            With ``return_details=True``: ``masks``, ``attributions`` (the
            map, (n_samples, H, W)), ``proba`` and ``y_pred`` (the
            prediction on the full images), ``kept_fraction`` (the share
            each mask keeps) and the method's own entries.
        """
        check_is_fitted(self)
        # A wrong number of kept fractions fails before any network work.
        fractions = check_kept_fraction(self.kept_fraction, len(X), type(self).__name__)
        attributions, proba, extra = self._explanation_maps(X)
        return attribution_explanation(
            attributions, proba, self.classes_, fractions, type(self).__name__,
            return_details, **extra,
        )

    def _explanation_maps(self, X):
        """``(attributions, proba, extra)`` of the images ``X``.

        The default is the saliency map (the absolute input gradient of the
        predicted class, summed over channels) of
        :class:`~sklearn_p2p.explainers.GradientExplainer`.
        """
        from ..explainers import GradientExplainer

        details = GradientExplainer(self, method="saliency").explain(X, return_details=True)
        return details.attributions, details.proba, {}
