"""The P2P network: selector, region distribution, masking and classifier."""

import torch

from ..utils._docstrings import fill_doc
from ._precision import full_precision
from .backbones import create_feature_extractor
from .masking import MaskedClassifier, split_input
from .regions import count_regions, region_mean, region_sizes, regions_to_pixels
from .sampling import (
    covariance_l1,
    hard_region_mask,
    relaxed_region_mask,
    sample_region_logits,
)
from .selector import Selector
from .thresholding import search_tau, tau_grid

__all__ = ["P2PNetwork"]


@fill_doc
class P2PNetwork(MaskedClassifier):
    """From Pixels to Perception: classify an image from a subset of its superpixels.

    Input is a float tensor ``X`` of shape ``(B, H, W, C + 1)``: the image
    in [0, 1] (channel-last) and, as last channel, the superpixel label map
    with contiguous ids per image.

    Parameters
    ----------
    %(network_classes)s
    selector, classifier : str, default="tiny_cnn"
        Backbone names (``"tiny_cnn"`` or any timm model name).
    pretrained : bool, path or dict, default=False
        ``False``, ``True`` (timm's weights), a weights file for every
        backbone, or ``{"selector": ..., "classifier": ...}``.
    n_embedding_dims : int, default=3
        K, the rank of the region covariance ``Sigma = E E^T``.
    tau_min : float, default=0.05
        Lower end of the training distribution ``tau ~ U[tau_min, 1]``.
    jitter : float, default=1e-4
        Diagonal added to ``Sigma`` so the distribution stays proper.
    initial_keep_logit : float, default=2.0
        Initial bias of the selection logit. Positive values start training
        with most regions kept (sigmoid(2) = 0.88), so the classifier first
        learns from nearly full images and the sparsity penalty then removes
        what it does not need; starting at 0.5 with a randomly initialised
        classifier lets the penalty empty the masks before the classifier
        can say which regions matter.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import P2PNetwork
    >>> _ = torch.manual_seed(0)
    >>> net = P2PNetwork(n_classes=3, in_chans=3)
    >>> image = torch.rand(2, 16, 16, 3)
    >>> segments = (torch.arange(16) // 4).repeat(16, 1)  # 4 vertical stripes
    >>> X = torch.cat([image, segments.expand(2, 16, 16)[..., None].float()], dim=-1)
    >>> logits, kept_fraction, tau, covariance_norm = net(X)  # training mode
    >>> logits.shape, tau.shape
    (torch.Size([2, 3]), torch.Size([2]))
    >>> out = net.eval().explain(X, delta=0.9)
    >>> out["masks"].shape, out["region_probs"].shape
    (torch.Size([2, 16, 16]), torch.Size([2, 4]))
    """

    def __init__(
        self,
        n_classes,
        in_chans=3,
        selector="tiny_cnn",
        classifier="tiny_cnn",
        pretrained=False,
        n_embedding_dims=3,
        tau_min=0.05,
        jitter=1e-4,
        initial_keep_logit=2.0,
    ):
        pretrained_for = (
            pretrained if isinstance(pretrained, dict)
            else {"selector": pretrained, "classifier": pretrained}
        )
        super().__init__(
            n_classes, in_chans, classifier, pretrained=pretrained_for.get("classifier", False)
        )
        backbone, channels = create_feature_extractor(
            selector, in_chans=in_chans, pretrained=pretrained_for.get("selector", False)
        )
        self.selector = Selector(backbone, channels, n_embedding_dims, initial_keep_logit)
        self.tau_min = tau_min
        self.jitter = jitter

    # -- pieces --------------------------------------------------------
    def _split(self, X):
        image, segments = split_input(X)
        return self.normalize(image), segments

    def _regions(self, pixel_out, segments, n_regions, sizes):
        """Region logits ``mu`` (B, D) and embeddings ``E`` (B, D, K), in float32.

        Under mixed precision the selector's output is bfloat16 or float16;
        the sums over thousands of pixels per region are taken in float32.
        """
        pooled = region_mean(full_precision(pixel_out), segments, n_regions, sizes)
        return pooled[..., 0], pooled[..., 1:]

    def _classify(self, image, segments, region_mask):
        """Logits of the classifier on the region mask, and the pixel mask."""
        pixel_mask = regions_to_pixels(region_mask, segments)
        return self.classify_pixels(image, pixel_mask), pixel_mask

    @staticmethod
    def _expected_kept_fraction(mu, sizes):
        """``sum_j sigmoid(mu_j) |R_j| / (H W)``: weighted by area, not by count."""
        return (torch.sigmoid(mu) * sizes).sum(dim=1) / sizes.sum(dim=1)

    # -- training ------------------------------------------------------
    def forward(self, X, tau=None, delta=0.99, temperature=1.0, tau_step=0.05):
        """Training: sampled mask; evaluation: hard mask at a fixed or searched tau.

        In training mode tau is drawn per image from ``U[tau_min, 1]``
        (unless given), region logits are sampled from ``N(mu, E E^T)`` and
        relaxed into a soft mask at ``temperature``. In evaluation mode this
        is :meth:`explain`.

        Parameters
        ----------
        X : Tensor of shape (B, H, W, C + 1)
            Images in [0, 1] followed by the superpixel label map.
        tau : float, default=None
            Fixed threshold for every image; None draws (training) or
            searches (evaluation) it per image.
        delta : float, default=0.99
            Certainty of the search (evaluation only).
        temperature : float or Tensor, default=1.0
            Relaxed-Bernoulli temperature (training only).
        tau_step : float, default=0.05
            Step of the tau grid of the search (evaluation only).

        Returns
        -------
        logits : Tensor (B, n_classes)
            Classifier output on the masked images.
        kept_fraction : Tensor (B,)
            Expected kept fraction of pixels.
        tau : Tensor (B,)
            Threshold used per image.
        covariance_norm : Tensor (B,)
            Mean absolute entry of ``Sigma``.
        """
        if not self.training:
            out = self.explain(X, tau=tau, delta=delta, tau_step=tau_step)
            return out["logits"], out["expected_kept_fraction"], out["tau"], out["covariance_norm"]

        image, segments, n_regions_per_image, sizes = self._split_regions(X)
        n_regions = sizes.shape[1]
        batch = image.shape[0]
        if tau is None:
            tau = torch.empty(batch, device=image.device).uniform_(self.tau_min, 1.0)
        else:
            tau = torch.full((batch,), float(tau), device=image.device)
        pixel_out = self.selector(self.selector.features(image), tau, image.shape[-2:])
        mu, embeddings = self._regions(pixel_out, segments, n_regions, sizes)
        logits_sample = sample_region_logits(mu, embeddings, self.jitter)
        region_mask = relaxed_region_mask(logits_sample, temperature)
        logits, _ = self._classify(image, segments, region_mask)
        return (
            logits,
            self._expected_kept_fraction(mu, sizes),
            tau,
            covariance_l1(embeddings, n_regions_per_image),
        )

    # -- inference -----------------------------------------------------
    def _split_regions(self, X):
        """Normalised images, label maps, region counts and region sizes of a batch."""
        image, segments = self._split(X)
        n_regions_per_image = count_regions(segments)
        n_regions = int(n_regions_per_image.max())
        return image, segments, n_regions_per_image, region_sizes(segments, n_regions)

    def _select(self, features, taus, segments, sizes, n_regions_per_image, size):
        """Hard region and pixel masks at ``taus`` and what explains them.

        Returns the region mask (B, D) and a dict without the classifier's
        output: ``masks`` (B, H, W) bool and the per-region and per-image
        details of :meth:`explain`.
        """
        pixel_out = self.selector(features, taus, size)
        mu, embeddings = self._regions(pixel_out, segments, sizes.shape[1], sizes)
        region_mask = hard_region_mask(mu)
        return region_mask, {
            "masks": regions_to_pixels(region_mask, segments) > 0.5,
            "region_probs": torch.sigmoid(mu) * (sizes > 0),
            "embeddings": embeddings,
            "expected_kept_fraction": self._expected_kept_fraction(mu, sizes),
            "covariance_norm": covariance_l1(embeddings, n_regions_per_image),
        }

    @torch.no_grad()
    def explain(self, X, tau=None, delta=0.99, tau_step=0.05, search_batch_size=None):
        """Deterministic prediction and its explanation.

        With ``tau=None`` each image gets the smallest tau on the grid
        ``tau_step, 2 tau_step, ..., 1`` whose prediction reaches certainty
        ``delta`` (paper Eq. 4); otherwise every image uses ``tau``.

        The search computes the selector's backbone features and the
        tau-independent part of its head once; each pass re-runs only the
        rest of the head, on the images that are still uncertain, and the
        classifier on those whose region mask changed since their previous
        tau (in evaluation mode the same mask gives the same prediction).
        Once fewer than ``search_batch_size`` images are uncertain, a pass
        looks several taus ahead for each of them (see
        :func:`~sklearn_p2p.nn.search_tau`), so that passes do not shrink to
        a handful of images. The result is the reference implementation's,
        which re-runs the whole model on the whole batch at every tau
        (checked by the tests and ``benchmarks/inference.py``).

        Parameters
        ----------
        X : Tensor of shape (B, H, W, C + 1)
            Images in [0, 1] followed by the superpixel label map.
        tau : float, default=None
            Fixed threshold for every image; None searches it per image.
        delta : float, default=0.99
            Certainty the prediction must reach, ``max_c p(c | x_m) >= delta``.
        tau_step : float, default=0.05
            Step of the tau grid.
        search_batch_size : int, default=None
            Fewest (image, tau) pairs per pass of the search; None uses the
            batch size B, 1 looks at one tau at a time.

        Returns
        -------
        dict of tensors
            ``logits`` (B, n_classes), ``proba``, ``masks`` (B, H, W) bool,
            ``region_probs`` (B, D) sigmoid(mu), ``embeddings`` (B, D, K),
            ``tau`` (B,), ``n_regions`` (B,), ``kept_fraction`` (B,) actual,
            ``expected_kept_fraction`` (B,), ``covariance_norm`` (B,),
            ``n_classifier_passes`` (B,) how many times the classifier ran on
            each image (looked-ahead taus past the chosen one included). D
            is the largest region count of the batch; padded entries are 0.
        """
        image, segments, n_regions_per_image, sizes = self._split_regions(X)
        batch = image.shape[0]
        passes = torch.zeros(batch, dtype=torch.long, device=image.device)
        features = self.selector.features(image)
        memo = _LastClassification(image, sizes.shape[1], self.n_classes)

        def evaluate(index, taus):
            region_mask, out = self._select(
                tuple(f[index] for f in features), taus, segments[index], sizes[index],
                n_regions_per_image[index], image.shape[-2:])
            logits = memo.classify(self, index, region_mask > 0.5, out["masks"], passes)
            return dict(out, logits=logits, proba=torch.softmax(logits, dim=1))

        taus = tau_grid(tau_step) if tau is None else [float(tau)]
        min_batch_size = batch if search_batch_size is None else int(search_batch_size)
        out = search_tau(evaluate, batch, taus, delta, device=image.device,
                         min_batch_size=min_batch_size)
        return _with_counts(out, passes, n_regions_per_image)


def _with_counts(out, passes, n_regions_per_image):
    """Add the per-image counts every explanation returns to ``out``."""
    out["n_classifier_passes"] = passes
    out["n_regions"] = n_regions_per_image
    out["kept_fraction"] = out["masks"].flatten(1).float().mean(dim=1)
    return out


class _LastClassification:
    """Each image's last classified region mask and logits, to skip repeats.

    In evaluation mode the classifier's output depends only on the image and
    its mask, so when an image's region mask at the next tau equals the one
    it was last classified with, the logits are reused instead of recomputed.
    Entries arrive in runs of consecutive taus of the same image (the
    look-ahead of :func:`search_tau`), each compared with the entry before it.
    """

    def __init__(self, images, n_regions, n_classes):
        n_images, device = len(images), images.device
        self.images = images  # normalised, as the classifier takes them
        self.mask = torch.zeros(n_images, n_regions, dtype=torch.bool, device=device)
        self.logits = images.new_zeros(n_images, n_classes)
        self.seen = torch.zeros(n_images, dtype=torch.bool, device=device)

    def classify(self, network, index, kept, pixel_mask, passes):
        """Logits of every entry, running the classifier only where the mask changed."""
        ahead = int((index == index[0]).sum())  # entries per image in this call
        images = index.view(-1, ahead)
        first = images[:, 0]
        kept_runs = kept.view(len(first), ahead, -1)
        before = torch.cat([self.mask[first].unsqueeze(1), kept_runs[:, :-1]], dim=1)
        changed = (kept_runs != before).any(dim=2)
        changed[:, 0] |= ~self.seen[first]
        run = changed.flatten()
        # Start from each image's last logits and fill in the recomputed ones;
        # an unchanged entry takes the logits of the latest changed one before
        # it in its run (or the last logits when there is none).
        n_classes = self.logits.shape[1]
        fresh = self.logits.new_zeros(len(index), n_classes)
        if run.any():
            fresh[run] = network.classify_pixels(self.images[index[run]], pixel_mask[run])
        table = torch.cat(
            [self.logits[first].unsqueeze(1), fresh.view(len(first), ahead, n_classes)], dim=1
        )
        positions = torch.arange(1, ahead + 1, device=index.device).expand_as(changed)
        source = torch.where(changed, positions, 0).cummax(dim=1).values
        logits = table.gather(1, source.unsqueeze(-1).expand(-1, -1, n_classes))
        passes.index_add_(0, first, changed.sum(dim=1))
        self.mask[first], self.logits[first], self.seen[first] = kept_runs[:, -1], logits[:, -1], True
        return logits.reshape(-1, logits.shape[-1])
