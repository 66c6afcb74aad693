"""Pure-PyTorch building blocks of P2P (no scikit-learn or skorch imports)."""

from .adversarial import GaussianSmoothing, SmoothedNetwork, insert_smoothing, pgd_linf
from .baselines import BlackboxNetwork, evenly_spaced_mask
from .backbones import (PretrainedWeightsUnavailableError, TinyCNN, TinyFeatureExtractor,
                        create_classifier, create_feature_extractor,
                        efficientnet_lite0_weights)
from .ersm import EnergyMask, EnergyMaskedClassifier, ERSMNetwork
from .masking import ImageNetwork, MaskedClassifier, split_input
from .loss import p2p_penalty, sparsity_penalty
from .lraspp import LRASPPHead, LRASPPNetwork, LRASPPSelector, create_lraspp_selector
from .network import P2PNetwork
from .regions import count_regions, region_mean, region_sizes, regions_to_pixels
from .sampling import covariance_l1, hard_region_mask, relaxed_region_mask, sample_region_logits
from .selector import Selector, SelectorHead
from .sib import (default_mask_window, gradient_mask, hsic, input_gradients,
                  spatial_bottleneck_penalty)
from .thresholding import search_tau, tau_grid

__all__ = [
    "GaussianSmoothing", "SmoothedNetwork", "insert_smoothing", "pgd_linf",
    "BlackboxNetwork",
    "ERSMNetwork",
    "EnergyMask",
    "EnergyMaskedClassifier",
    "ImageNetwork",
    "LRASPPHead",
    "LRASPPNetwork",
    "LRASPPSelector",
    "MaskedClassifier",
    "P2PNetwork",
    "PretrainedWeightsUnavailableError",
    "Selector",
    "SelectorHead",
    "TinyCNN",
    "TinyFeatureExtractor",
    "count_regions",
    "covariance_l1",
    "create_classifier",
    "create_feature_extractor",
    "create_lraspp_selector",
    "default_mask_window",
    "efficientnet_lite0_weights",
    "evenly_spaced_mask",
    "gradient_mask",
    "hard_region_mask",
    "hsic",
    "input_gradients",
    "p2p_penalty",
    "region_mean",
    "region_sizes",
    "regions_to_pixels",
    "relaxed_region_mask",
    "sample_region_logits",
    "search_tau",
    "sparsity_penalty",
    "spatial_bottleneck_penalty",
    "split_input",
    "tau_grid",
]
