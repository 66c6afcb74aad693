"""mixed_precision: autocast forward passes in the estimators themselves.

Everything here runs on a CPU (bfloat16 autocast, and float16 with a CPU
GradScaler); the CUDA test is skipped without a GPU.
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.baselines import BlackboxClassifier
from sklearn_p2p.models import (
    BackboneClassifier,
    ERSMClassifier,
    SIBClassifier,
    SmoothedAdversarialClassifier,
)
from sklearn_p2p.nn import P2PNetwork, covariance_l1, sample_region_logits

FAST = dict(superpixels=SuperpixelTransformer(n_segments=16), max_epochs=2, batch_size=16,
            random_state=0, verbose=0)


@pytest.fixture(scope="module")
def bf16_p2p(tiny_data):
    return P2PClassifier(mixed_precision="bf16", **FAST).fit(tiny_data.images, tiny_data.target)


# -- the parameter -----------------------------------------------------
@pytest.mark.parametrize("cls", [P2PClassifier, BlackboxClassifier, BackboneClassifier,
                                 ERSMClassifier, SIBClassifier, SmoothedAdversarialClassifier])
def test_every_estimator_has_the_parameter(cls):
    assert cls().get_params()["mixed_precision"] == "no"
    clf = cls(mixed_precision="bf16")
    assert clf.get_params()["mixed_precision"] == "bf16"
    assert clone(clf).get_params()["mixed_precision"] == "bf16"
    assert clf.set_params(mixed_precision="fp16").mixed_precision == "fp16"


def test_it_is_an_explicit_keyword_of_p2pclassifier():
    import inspect

    parameter = inspect.signature(P2PClassifier).parameters["mixed_precision"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default == "no"


@pytest.mark.parametrize("value", ["fp8", "bfloat16", "BF16", None, True])
def test_invalid_values_are_rejected_before_any_torch_work(tiny_data, value):
    clf = P2PClassifier(mixed_precision=value, **FAST)
    with pytest.raises(ValueError, match="'mixed_precision' parameter") as error:
        clf.fit(tiny_data.images, tiny_data.target)
    assert all(f"'{name}'" in str(error.value) for name in ("no", "bf16", "fp16"))
    assert not hasattr(clf, "module_")


def test_an_invalid_value_set_after_fit_is_rejected_at_inference(bf16_p2p, tiny_data):
    clf = pickle.loads(pickle.dumps(bf16_p2p)).set_params(mixed_precision="half")
    for method in (clf.predict, clf.predict_proba, clf.explain):
        with pytest.raises(ValueError, match="mixed_precision"):
            method(tiny_data.images[:2])
    with pytest.raises(ValueError, match="mixed_precision"):
        clf.predict_proba_masked(tiny_data.images[:2], np.ones((2, 24, 24), bool))


def test_grid_search_sees_the_parameter(tiny_data):
    search = GridSearchCV(P2PClassifier(**{**FAST, "max_epochs": 1}),
                          {"mixed_precision": ["no", "bf16"]}, cv=2)
    search.fit(tiny_data.images, tiny_data.target)
    assert [p["mixed_precision"] for p in search.cv_results_["params"]] == ["no", "bf16"]


# -- bfloat16 ------------------------------------------------------------
def test_bf16_trains_with_a_finite_loss_and_float32_weights(bf16_p2p, tiny_data):
    losses = bf16_p2p.history[:, "train_loss"]
    assert np.isfinite(losses).all()
    reference = P2PClassifier(**FAST).fit(tiny_data.images, tiny_data.target)
    assert losses != reference.history[:, "train_loss"], "autocast was not used"
    assert all(p.dtype == torch.float32 for p in bf16_p2p.module_.parameters())
    assert not hasattr(bf16_p2p, "grad_scaler_"), "bfloat16 needs no loss scaling"


def _conv_weights(clf):
    return [m.weight for m in clf.module_.modules() if isinstance(m, torch.nn.Conv2d)]


def test_mixed_precision_lays_the_conv_weights_out_channels_last(bf16_p2p, fitted_p2p):
    assert all(w.is_contiguous(memory_format=torch.channels_last)
               for w in _conv_weights(bf16_p2p))
    # float32 keeps PyTorch's default layout (no measured gain on a CPU)
    assert not all(w.is_contiguous(memory_format=torch.channels_last)
                   for w in _conv_weights(fitted_p2p))


def test_bf16_returns_what_float32_returns(bf16_p2p, tiny_data):
    proba = bf16_p2p.predict_proba(tiny_data.images)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    details = bf16_p2p.explain(tiny_data.images[:5], return_details=True)
    assert details.masks.dtype == bool and details.masks.shape == (5, 24, 24)
    for key in ("region_probs", "tau", "embeddings", "proba", "kept_fraction", "attributions"):
        assert details[key].dtype in (np.float32, np.float64), key
    masked = bf16_p2p.predict_proba_masked(tiny_data.images[:5], details.masks)
    assert masked.dtype == np.float32 and masked.shape == (5, 3)


def test_fp32_model_predicts_alike_in_bf16(fitted_p2p, tiny_data):
    """The issue's test: a float32 model, then predict under bfloat16 autocast."""
    X = tiny_data.images
    proba_fp32 = fitted_p2p.predict_proba(X)
    bf16 = pickle.loads(pickle.dumps(fitted_p2p)).set_params(mixed_precision="bf16")
    proba_bf16 = bf16.predict_proba(X)
    assert not np.array_equal(proba_bf16, proba_fp32), "autocast was not used"
    agreement = (proba_bf16.argmax(axis=1) == proba_fp32.argmax(axis=1)).mean()
    assert agreement >= 0.9
    assert np.median(np.abs(proba_bf16 - proba_fp32)) < 0.02
    assert np.abs(proba_bf16 - proba_fp32).max() < 0.25
    masks_fp32, masks_bf16 = fitted_p2p.explain(X), bf16.explain(X)
    assert (masks_fp32 == masks_bf16).mean() >= 0.9


def test_bf16_pickles(bf16_p2p, tiny_data):
    restored = pickle.loads(pickle.dumps(bf16_p2p))
    assert restored.mixed_precision == "bf16"
    np.testing.assert_array_equal(restored.predict_proba(tiny_data.images[:8]),
                                  bf16_p2p.predict_proba(tiny_data.images[:8]))


def test_classifiers_pickled_without_the_parameter_load_as_float32(bf16_p2p, tiny_data):
    state = bf16_p2p.__getstate__()
    del state["mixed_precision"]
    old = P2PClassifier.__new__(P2PClassifier)
    old.__setstate__(state)
    assert old.predict_proba(tiny_data.images[:2]).shape == (2, 3)


@pytest.mark.parametrize("cls", [BlackboxClassifier, ERSMClassifier, SIBClassifier,
                                 SmoothedAdversarialClassifier])
def test_other_estimators_train_and_predict_in_bf16(cls, tiny_data):
    clf = cls(max_epochs=1, batch_size=16, verbose=0, random_state=0, mixed_precision="bf16")
    clf.fit(tiny_data.images, tiny_data.target)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    assert clf.predict_proba(tiny_data.images[:4]).dtype == np.float32
    assert clf.explain(tiny_data.images[:4]).dtype == bool


# -- the network's float32 islands ---------------------------------------
def test_region_sampling_and_penalties_stay_float32_under_autocast():
    mu, embeddings = torch.randn(2, 5), torch.randn(2, 5, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert (embeddings @ embeddings.transpose(1, 2)).dtype == torch.bfloat16
        assert sample_region_logits(mu, embeddings).dtype == torch.float32
        assert sample_region_logits(mu.bfloat16(), embeddings.bfloat16()).dtype == torch.float32
        norm = covariance_l1(embeddings, torch.tensor([5, 5]))
    assert norm.dtype == torch.float32
    torch.testing.assert_close(norm, covariance_l1(embeddings, torch.tensor([5, 5])))


def test_network_outputs_are_float32_under_autocast():
    net = P2PNetwork(n_classes=3, in_chans=3)
    image = torch.rand(2, 16, 16, 3)
    segments = (torch.arange(16) // 4).repeat(16, 1).expand(2, 16, 16)[..., None].float()
    X = torch.cat([image, segments], dim=-1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        outputs = net(X)
        explained = net.eval().explain(X, delta=0.9)
    assert all(out.dtype == torch.float32 for out in outputs)
    for key in ("logits", "proba", "region_probs", "embeddings", "tau", "kept_fraction"):
        assert explained[key].dtype == torch.float32, key
    assert explained["masks"].dtype == torch.bool


def test_the_backbones_read_channels_last_input():
    """cuDNN and oneDNN pick their NHWC kernels when the input is channels_last.

    The network's input is channel-last; the backbones see it permuted, a
    channels_last tensor (benchmarks/mixed_precision.py: contiguous NCHW
    input is slower on a CPU).
    """
    net = P2PNetwork(n_classes=3, in_chans=3)
    image, _ = net._split(torch.rand(2, 16, 16, 4))  # what both backbones read
    assert image.is_contiguous(memory_format=torch.channels_last)
    seen = {}
    handle = net.classifier.register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))
    net.classify_pixels(image, torch.ones(2, 16, 16))
    handle.remove()
    assert seen["x"].is_contiguous(memory_format=torch.channels_last)


# -- float16 and loss scaling --------------------------------------------
def _fit_quietly(clf, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # fp16 on a CPU is slow
        return clf.fit(data.images, data.target)


def test_fp16_on_cpu_warns_that_it_is_slow(tiny_data):
    clf = P2PClassifier(mixed_precision="fp16", **{**FAST, "max_epochs": 1})
    with pytest.warns(UserWarning, match="bf16"):
        clf.fit(tiny_data.images[:16], tiny_data.target[:16])


class _GradientNorm(Callback):
    """Records the gradient norm that on_grad_computed callbacks see."""

    def initialize(self):
        self.norms_ = []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad.norm() for _, p in named_parameters if p.grad is not None]
        self.norms_.append(float(torch.stack(grads).norm()))


def test_fp16_scales_the_loss_and_callbacks_see_unscaled_gradients(tiny_data):
    """GradScaler on a CPU: the code path that CUDA takes, without a GPU."""
    fp32 = P2PClassifier(**FAST, callbacks=[("grad_norm", _GradientNorm())])
    fp32.set_params(max_epochs=1).fit(tiny_data.images, tiny_data.target)
    fp16 = P2PClassifier(mixed_precision="fp16", **FAST, callbacks=[("grad_norm", _GradientNorm())])
    _fit_quietly(fp16.set_params(max_epochs=1), tiny_data)
    assert isinstance(fp16.grad_scaler_, torch.amp.GradScaler)
    assert fp16.grad_scaler_.get_scale() > 1  # started at 2**16, halved on overflow only
    assert np.isfinite(fp16.history[:, "train_loss"]).all()
    # A step whose float16 gradients overflowed (inf) is skipped; the others
    # reach the callbacks unscaled, as large as in float32 (not 2**15 times).
    norms_fp32 = dict(fp32.callbacks_)["grad_norm"].norms_
    norms_fp16 = [n for n in dict(fp16.callbacks_)["grad_norm"].norms_ if np.isfinite(n)]
    assert norms_fp16, "every step overflowed"
    assert max(norms_fp16) < 10 * max(norms_fp32), "the callbacks saw scaled gradients"
    # The scale carries over to partial_fit, and the classifier pickles.
    scale = fp16.grad_scaler_.get_scale()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fp16.partial_fit(tiny_data.images[:16], tiny_data.target[:16])
    assert fp16.grad_scaler_.get_scale() >= scale / 2
    restored = pickle.loads(pickle.dumps(fp16))
    assert restored.grad_scaler_.get_scale() == fp16.grad_scaler_.get_scale()


def test_an_overflowing_step_is_skipped(tiny_data):
    """Gradients that overflow float16: no optimiser step, and a smaller scale."""
    clf = _fit_quietly(P2PClassifier(mixed_precision="fp16", **{**FAST, "max_epochs": 1}),
                       tiny_data)
    before = {name: p.detach().clone() for name, p in clf.module_.named_parameters()}
    clf.grad_scaler_ = torch.amp.GradScaler("cpu", init_scale=2.0 ** 120)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf.partial_fit(tiny_data.images[:16], tiny_data.target[:16], epochs=1)
    assert clf.grad_scaler_.get_scale() < 2.0 ** 120
    for name, p in clf.module_.named_parameters():
        torch.testing.assert_close(p.detach(), before[name], msg=name)


def test_a_train_step_without_scaled_backward_warns_and_still_trains(tiny_data):
    """A subclass that calls loss.backward() itself trains float16 without loss scaling."""
    from skorch.dataset import unpack_data

    class OwnBackward(BackboneClassifier):
        def train_step_single(self, batch, **fit_params):
            self._set_training(True)
            Xi, yi = unpack_data(batch)
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
            loss.backward()
            return {"loss": loss, "y_pred": y_pred}

    clf = OwnBackward(max_epochs=1, batch_size=16, verbose=0, random_state=0,
                      mixed_precision="fp16")
    with pytest.warns(RuntimeWarning, match="without loss scaling"):
        _fit_quietly(clf, tiny_data)
    assert np.isfinite(clf.history[:, "train_loss"]).all()


def test_sib_scales_its_own_backward_pass(tiny_data):
    """SIB computes its backward pass itself, through _backward: scaled in float16."""
    clf = SIBClassifier(max_epochs=1, batch_size=16, verbose=0, random_state=0,
                        mixed_precision="fp16")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _fit_quietly(clf, tiny_data)
    assert clf.grad_scaler_.get_scale() > 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("mixed_precision", ["fp16", "bf16"])
def test_cuda_mixed_precision(tiny_data, mixed_precision):
    clf = P2PClassifier(mixed_precision=mixed_precision, device="cuda", **FAST)
    clf.fit(tiny_data.images, tiny_data.target)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    if mixed_precision == "fp16":
        assert clf.grad_scaler_.is_enabled() and clf.grad_scaler_.get_scale() > 1
    proba = clf.predict_proba(tiny_data.images)
    assert proba.dtype == np.float32
    reference = pickle.loads(pickle.dumps(clf)).set_params(mixed_precision="no")
    agreement = (reference.predict(tiny_data.images) == clf.predict(tiny_data.images)).mean()
    assert agreement >= 0.9
    assert clf.explain(tiny_data.images[:4]).dtype == bool


# -- Accelerate ------------------------------------------------------------
def test_accelerated_classifier_takes_precision_from_its_accelerator(tiny_data):
    accelerate = pytest.importorskip("accelerate")
    from accelerate.state import AcceleratorState, GradientState

    from sklearn_p2p import AcceleratedP2PClassifier

    try:
        clf = AcceleratedP2PClassifier(accelerator=accelerate.Accelerator(),
                                       mixed_precision="bf16", **FAST)
        assert clf.get_params()["mixed_precision"] == "bf16"
        with pytest.raises(ValueError, match=r"Accelerator\(mixed_precision="):
            clf.fit(tiny_data.images, tiny_data.target)
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
