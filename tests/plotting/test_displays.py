"""The Display classes of sklearn_p2p.plotting: figure content, not pixels."""

import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklearn_p2p import SuperpixelTransformer  # noqa: E402
from sklearn_p2p.metrics import fidelity_curve  # noqa: E402
from sklearn_p2p.plotting._base import WRONG_COLOR, _kept_label  # noqa: E402
from sklearn_p2p.plotting import (  # noqa: E402
    DeltaCurveDisplay,
    ExplanationDisplay,
    FidelityCurveDisplay,
    PartEmbeddingDisplay,
    RegionProbabilityDisplay,
)

N_SHOWN = 2
FRACTIONS = [0.0, 0.25, 0.5, 1.0]
DELTAS = (0.5, 0.99)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def X(tiny_data):
    return tiny_data.images[:4]


@pytest.fixture(scope="module")
def y(string_labels):
    return string_labels[:4]


@pytest.fixture(scope="module")
def details(fitted_p2p, X):
    """The explanation at the model's own delta (0.99), computed once."""
    assert fitted_p2p.delta == DELTAS[-1]
    return fitted_p2p.explain(X, return_details=True)


@pytest.fixture(scope="module")
def details_low(fitted_p2p, X):
    """The explanation at delta=0.5, computed once."""
    return fitted_p2p.explain(X, delta=DELTAS[0], return_details=True)


def _save(display_or_fig, tmp_path):
    """Render to PNG: drawing must work end to end, not just build artists."""
    fig = getattr(display_or_fig, "figure_", display_or_fig)
    path = tmp_path / "figure.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _legend_labels(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def _region_constant(values, segments):
    """Whether ``values`` (H, W, ...) is constant within every region."""
    for label in np.unique(segments):
        inside = values[segments == label]
        if not np.all(inside == inside[0]):
            return False
    return True


def test_importing_the_package_does_not_import_matplotlib():
    code = (
        "import sys, sklearn_p2p, sklearn_p2p.plotting, sklearn_p2p.metrics; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- ExplanationDisplay ------------------------------------------------


def test_explanation_display_from_estimator(fitted_p2p, X, details, tmp_path):
    display = ExplanationDisplay.from_estimator(fitted_p2p, X, n_images=N_SHOWN)
    _save(display, tmp_path)
    assert display.axes_.shape == (N_SHOWN, 3)
    assert display.im_.shape == (N_SHOWN, 3)
    assert len(display.figure_.axes) == 3 * N_SHOWN
    images = X[:N_SHOWN] / 255.0
    for i in range(N_SHOWN):
        title = display.axes_[i, 2].get_title()
        match = re.fullmatch(
            r"pred=(\S+) p=(\d\.\d\d) tau=(\d\.\d\d) (kept .+)", title)
        assert match, title
        assert match.group(4) == _kept_label(details.masks[i].mean())
        assert match.group(1) == details.y_pred[i]
        assert match.group(1) in fitted_p2p.classes_
        assert match.group(2) == f"{details.proba[i].max():.2f}"
        assert match.group(3) == f"{details.tau[i]:.2f}"

        image, bounds, kept = (np.asarray(im.get_array()) for im in display.im_[i])
        assert image.shape == kept.shape == (24, 24, 3)
        assert bounds.shape[2] == 3 and bounds.shape[0] % 24 == 0
        np.testing.assert_allclose(image, images[i], atol=1e-6)
        mask = details.masks[i]
        np.testing.assert_allclose(kept[mask], images[i][mask], atol=1e-6)
        assert np.all(kept[~mask] == 0)
        assert display.axes_[i, 0].images[0] is display.im_[i, 0]
    np.testing.assert_array_equal(display.masks, details.masks[:N_SHOWN])
    np.testing.assert_array_equal(display.segments, details.segments[:N_SHOWN])


def test_explanation_display_uses_delta(fitted_p2p, X, details_low):
    display = ExplanationDisplay.from_estimator(fitted_p2p, X, delta=DELTAS[0])
    assert display.axes_.shape == (len(X), 3)
    np.testing.assert_array_equal(display.masks, details_low.masks)
    np.testing.assert_allclose(display.tau, details_low.tau)
    titles = [ax.get_title() for ax in display.axes_[:, 2]]
    assert titles == [
        f"pred={p} p={q.max():.2f} tau={t:.2f} {_kept_label(m.mean())}" for p, q, t, m in zip(
            details_low.y_pred, details_low.proba, details_low.tau, details_low.masks)]


def test_explanation_display_draws_into_given_axes(fitted_p2p, X):
    fig, axes = plt.subplots(2, 3)
    n_figures = len(plt.get_fignums())
    display = ExplanationDisplay.from_estimator(fitted_p2p, X, n_images=2, ax=axes)
    assert len(plt.get_fignums()) == n_figures
    assert display.figure_ is fig
    assert display.axes_[1, 2] is axes[1, 2]
    assert all(len(ax.images) == 1 for ax in axes.flat)

    # A single image also takes a flat row of three axes.
    fig, row = plt.subplots(1, 3)
    display = ExplanationDisplay(X[:1], np.ones((1, 24, 24), bool)).plot(ax=row)
    assert display.axes_.shape == (1, 3) and display.axes_[0, 0] is row[0]
    assert display.figure_ is fig


def test_explanation_display_from_pipeline(make_p2p, tiny_data, string_labels):
    """Precomputed superpixels: the label channel is not shown as an image."""
    pipe = make_pipeline(
        SuperpixelTransformer(n_segments=16),
        make_p2p(superpixels="precomputed", max_epochs=1),
    ).fit(tiny_data.images[:16], string_labels[:16])
    display = ExplanationDisplay.from_estimator(pipe, tiny_data.images, n_images=2)
    image = np.asarray(display.im_[0, 0].get_array())
    np.testing.assert_allclose(image, tiny_data.images[0] / 255.0, atol=1e-6)
    assert display.axes_[0, 2].get_title().startswith("pred=")


def test_explanation_display_matches_plot_explanations(details, X):
    """Both draw with the same helper: identical panels."""
    from sklearn_p2p.plotting import plot_explanations

    fig = plot_explanations(X[:2], details.masks[:2], segments=details.segments[:2])
    display = ExplanationDisplay(X[:2], details.masks[:2], details.segments[:2]).plot()
    for ax_fig, ax_display in zip(fig.axes, display.axes_.ravel()):
        np.testing.assert_array_equal(
            ax_fig.images[0].get_array(), ax_display.images[0].get_array()
        )
        assert ax_fig.get_title() == ax_display.get_title()


def test_explanation_display_constructor_without_predictions(tmp_path):
    images = np.full((2, 8, 8), 0.5)
    masks = np.zeros((2, 8, 8), dtype=bool)
    masks[:, :4] = True
    display = ExplanationDisplay(images, masks).plot()
    _save(display, tmp_path)
    assert display.axes_[0, 2].get_title() == "kept 50%"
    assert display.axes_[0, 1].get_title() == "mask outline"
    display = ExplanationDisplay(images, masks, tau=[0.1, 0.2]).plot()
    assert display.axes_[1, 2].get_title() == "tau=0.20 kept 50%"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_images": 0}, ValueError, "n_images must be a positive integer"),
        ({"n_images": 2.0}, ValueError, "n_images must be a positive integer"),
        ({"n_images": 5}, ValueError, r"n_images=5 is larger .* \(4\)"),
        ({"ax": "axes"}, TypeError, "matplotlib Axes"),
    ],
)
def test_explanation_display_invalid_arguments(fitted_p2p, X, kwargs, error, match):
    with pytest.raises(error, match=match):
        ExplanationDisplay.from_estimator(fitted_p2p, X, **kwargs)


def test_explanation_display_wrong_ax_shape(fitted_p2p, X):
    _, axes = plt.subplots(1, 3)
    with pytest.raises(ValueError, match=r"shape \(2, 3\); got 3 axes of shape \(3,\)"):
        ExplanationDisplay.from_estimator(fitted_p2p, X, n_images=2, ax=axes)
    _, axes = plt.subplots(3, 2)
    with pytest.raises(ValueError, match=r"shape \(3, 3\)"):
        ExplanationDisplay.from_estimator(fitted_p2p, X, n_images=3, ax=axes)


def test_explanation_display_mismatched_inputs():
    images = np.zeros((2, 8, 8))
    with pytest.raises(ValueError, match="masks must have shape"):
        ExplanationDisplay(images, np.ones((2, 8, 9), bool)).plot()
    with pytest.raises(ValueError, match="y_pred must have one entry per image"):
        ExplanationDisplay(images, np.ones((2, 8, 8), bool), y_pred=["a"]).plot()


class _ProtocolExplainer:
    """A minimal non-P2P estimator implementing the explanation protocol."""

    def __init__(self, details):
        self.details = details

    def explain(self, X, delta=None, return_details=False):
        return self.details

    def predict_proba_masked(self, X, masks):
        return np.tile([0.3, 0.7], (len(X), 1))


def test_displays_accept_other_explainers(tmp_path):
    """No tau, no embeddings: titles leave tau out, images via check_images."""
    images = np.random.RandomState(0).rand(2, 6, 6)
    segments = np.repeat(np.arange(3), 2)[None, :, None] * np.ones((2, 1, 6), int)
    stub = _ProtocolExplainer(Bunch(
        masks=segments < 1, segments=segments, region_probs=np.full((2, 3), 0.4),
        proba=np.array([[0.2, 0.8], [0.6, 0.4]]), y_pred=np.array(["b", "a"]),
    ))
    display = ExplanationDisplay.from_estimator(stub, images)
    _save(display, tmp_path)
    assert [ax.get_title() for ax in display.axes_[:, 2]] == [
        "pred=b p=0.80 kept 33%", "pred=a p=0.60 kept 33%"
    ]
    gray = np.asarray(display.im_[1, 0].get_array())
    np.testing.assert_allclose(gray, np.repeat(images[1][..., None], 3, axis=-1))
    region = RegionProbabilityDisplay.from_estimator(stub, images)
    assert region.axes_[0].get_title() == "pred=b kept 33%"
    with pytest.raises(ValueError, match=r"needs \['embeddings'\]"):
        PartEmbeddingDisplay.from_estimator(stub, images)
    with pytest.raises(TypeError, match="must return a Bunch or mapping"):
        ExplanationDisplay.from_estimator(_ProtocolExplainer(np.zeros(3)), images)


class _ExplainNotExpected(_ProtocolExplainer):
    """Fails the test when the explanation is computed."""

    def explain(self, X, delta=None, return_details=False):
        raise AssertionError("explain was called before the arguments were checked")


@pytest.mark.parametrize(
    "display",
    [
        ExplanationDisplay,
        RegionProbabilityDisplay,
        PartEmbeddingDisplay,
        FidelityCurveDisplay,
        DeltaCurveDisplay,
    ],
)
def test_from_estimator_checks_ax_before_explaining(display):
    _, axes = plt.subplots(1, 5)
    with pytest.raises(ValueError, match="ax must be None or"):
        display.from_estimator(_ExplainNotExpected(None), np.zeros((2, 6, 6)), ax=axes)


def test_displays_show_the_images_as_the_estimator_reads_them():
    """Not X itself: what the estimator's _images_as_read makes of it."""
    masks = np.ones((1, 4, 4), dtype=bool)
    stub = _ProtocolExplainer(Bunch(masks=masks))
    stub._images_as_read = lambda X: np.full((1, 4, 4, 1), 0.25)
    display = ExplanationDisplay.from_estimator(stub, np.zeros((1, 4, 4)))
    np.testing.assert_allclose(display.im_[0, 0].get_array(), 0.25)


def test_fidelity_curve_display_needs_predict_proba_masked():
    class ExplainOnly:
        def explain(self, X, delta=None, return_details=False):
            raise AssertionError("explain was called")

    with pytest.raises(TypeError, match="ExplainOnly lacks predict_proba_masked"):
        FidelityCurveDisplay.from_estimator(ExplainOnly(), np.zeros((2, 6, 6)))


def test_estimator_without_explain_is_rejected(X):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="explain"):
        ExplanationDisplay.from_estimator(LogisticRegression(), X)


# -- RegionProbabilityDisplay ------------------------------------------


def test_region_probability_display_from_estimator(fitted_p2p, X, details, tmp_path):
    display = RegionProbabilityDisplay.from_estimator(fitted_p2p, X, n_images=N_SHOWN)
    _save(display, tmp_path)
    # One panel per image plus the shared colour bar.
    assert len(display.axes_) == N_SHOWN
    assert len(display.figure_.axes) == N_SHOWN + 1
    assert display.colorbar_.ax in display.figure_.axes
    assert display.colorbar_.mappable.get_clim() == (0.0, 1.0)
    assert (display.colorbar_.vmin, display.colorbar_.vmax) == (0.0, 1.0)
    for i in range(N_SHOWN):
        heat = np.asarray(display.heatmaps_[i].get_array())
        expected = details.region_probs[i][details.segments[i]]
        assert heat.shape == (24, 24)
        np.testing.assert_allclose(heat, expected, rtol=1e-6)
        np.testing.assert_allclose(display.heatmap_values_[i], expected, rtol=1e-6)
        assert display.heatmaps_[i].get_clim() == (0.0, 1.0)
        # Boundaries: a light overlay, transparent inside the superpixels.
        overlay = np.asarray(display.boundaries_[i].get_array())
        assert overlay.ndim == 3 and overlay.shape[-1] == 4
        alpha = overlay[..., 3]
        assert 0 < alpha.max() <= 0.5 and (alpha == 0).mean() > 0.5
        assert display.boundaries_[i].get_extent() == display.heatmaps_[i].get_extent()
        # The kept regions are outlined where there are any.
        assert (display.outlines_[i] is not None) == details.masks[i].any()
        title = display.axes_[i].get_title()
        assert title == (f"pred={details.y_pred[i]} tau={details.tau[i]:.2f} "
                         f"{_kept_label(details.masks[i].mean())}")


def test_region_probability_outline_follows_pixel_edges():
    segments = np.zeros((1, 6, 6), dtype=int)
    segments[0, 2:, 2:] = 1
    display = RegionProbabilityDisplay(
        [[0.2, 0.9]], segments, masks=segments == 1
    ).plot()
    vertices = np.concatenate(
        [path.vertices for path in display.outlines_[0].get_paths()]
    )
    # The kept square spans pixels 2..5, i.e. coordinates 1.5..5.5, and is
    # closed along the image border.
    np.testing.assert_allclose(vertices.min(axis=0), [1.5, 1.5])
    np.testing.assert_allclose(vertices.max(axis=0), [5.5, 5.5])
    # Every vertex is on a pixel edge, up to the corners cut by the tracing.
    off_edge = np.abs(vertices - 0.5 - np.round(vertices - 0.5)).min(axis=1)
    assert off_edge.max() <= 1 / 8 + 1e-9
    assert display.axes_[0].get_xlim() == (-0.5, 5.5)
    assert display.axes_[0].get_ylim() == (5.5, -0.5)


def test_region_probability_display_given_axes_and_no_outline():
    segments = np.arange(4).reshape(1, 2, 2).repeat(3, 1).repeat(3, 2)
    segments = np.concatenate([segments, segments])
    fig, axes = plt.subplots(2, 1)
    n_figures = len(plt.get_fignums())
    display = RegionProbabilityDisplay(
        np.full((2, 4), 0.5), segments, masks=np.zeros((2, 6, 6), bool)
    ).plot(ax=axes, colorbar=False, boundary_alpha=0.0)
    assert len(plt.get_fignums()) == n_figures
    assert display.figure_ is fig and display.colorbar_ is None
    assert list(display.axes_) == list(axes)
    assert list(display.outlines_) == [None, None]
    assert display.axes_[0].get_title() == "kept 0% (empty)"
    # A single image takes a single Axes.
    _, ax = plt.subplots()
    one = RegionProbabilityDisplay([[0.1, 0.2, 0.3, 0.4]], segments[:1]).plot(ax=ax)
    assert one.axes_[0] is ax


@pytest.mark.parametrize(
    "region_probs, segments, kwargs, match",
    [
        ([[0.5, 0.5]], np.full((1, 4, 4), 2), {}, "region label 2 but region_probs has 2 regions"),
        ([[0.5, 1.5]], np.zeros((1, 4, 4), int), {}, r"probabilities in \[0, 1\]"),
        ([[0.5], [0.5]], np.zeros((1, 4, 4), int), {}, r"shape \(n_images, n_regions\)"),
        ([[0.5]], np.zeros((4, 4), int), {}, r"segments must have shape \(n_images, H, W\)"),
        ([[0.5]], np.zeros((1, 4, 4), int), {"masks": np.ones((1, 4, 5))}, "masks must have shape"),
        ([[0.5]], np.full((1, 4, 4), 0.5), {}, "integer region labels"),
        ([[0.5]], np.full((1, 4, 4), -1), {}, "non-negative region labels"),
    ],
)
def test_region_probability_display_invalid_inputs(region_probs, segments, kwargs, match):
    with pytest.raises(ValueError, match=match):
        RegionProbabilityDisplay(region_probs, segments, **kwargs).plot()


def test_region_probability_display_wrong_number_of_axes(fitted_p2p, X):
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match=r"3 matplotlib Axes \(one per image\); got 2"):
        RegionProbabilityDisplay.from_estimator(fitted_p2p, X, n_images=3, ax=axes)
    with pytest.raises(ValueError, match=r"4 matplotlib Axes \(one per image\); got 2"):
        RegionProbabilityDisplay.from_estimator(fitted_p2p, X, ax=axes)


# -- PartEmbeddingDisplay ----------------------------------------------


def test_part_embedding_display_from_estimator(fitted_p2p, X, details, tmp_path):
    display = PartEmbeddingDisplay.from_estimator(fitted_p2p, X, n_images=2)
    _save(display, tmp_path)
    assert display.axes_.shape == (2, 2)
    assert len(display.figure_.axes) == 4
    for i in range(2):
        colors = np.asarray(display.im_[i].get_array())
        assert colors.shape == (24, 24, 3)
        np.testing.assert_array_equal(colors, display.colors_[i])
        assert colors.min() >= 0.0 and colors.max() <= 1.0
        segments = details.segments[i]
        assert _region_constant(colors, segments)
        # Min-max scaled per channel over the image's regions.
        ids = np.unique(segments)
        present = details.embeddings[i][ids]
        expected = (present - present.min(0)) / np.ptp(present, axis=0)
        region_colors = np.array([colors[segments == j][0] for j in ids])
        np.testing.assert_allclose(region_colors, expected, rtol=1e-5, atol=1e-6)
        image = np.asarray(display.image_im_[i].get_array())
        np.testing.assert_allclose(image, X[i] / 255.0, atol=1e-6)


def test_part_embedding_display_without_image():
    segments = np.arange(4).reshape(1, 2, 2).repeat(2, 1).repeat(2, 2)
    segments = np.concatenate([segments, segments])
    embeddings = np.random.RandomState(0).randn(2, 6, 3)
    fig, axes = plt.subplots(1, 2)
    n_figures = len(plt.get_fignums())
    display = PartEmbeddingDisplay(embeddings, segments).plot(ax=axes)
    assert len(plt.get_fignums()) == n_figures
    assert display.figure_ is fig and display.image_im_ is None
    assert display.axes_.shape == (2, 1) and display.axes_[1, 0] is axes[1]
    # Rows 4 and 5 are padding: they do not take part in the scaling.
    for i in range(2):
        assert display.colors_[i].min() == 0.0 and display.colors_[i].max() == 1.0
    with pytest.raises(ValueError, match="show_image=True needs the images"):
        PartEmbeddingDisplay(embeddings, segments).plot(show_image=True)


def test_part_embedding_display_constant_channel_maps_to_half():
    segments = np.array([[[0, 1], [0, 1]]])
    embeddings = np.array([[[1.0, 2.0, 5.0], [3.0, 2.0, 5.0]]])
    display = PartEmbeddingDisplay(embeddings, segments).plot()
    np.testing.assert_allclose(display.colors_[0, 0], [[0.0, 0.5, 0.5], [1.0, 0.5, 0.5]])


def test_part_embedding_display_requires_three_dims(fitted_p2p, X):
    segments = np.zeros((1, 4, 4), int)
    with pytest.raises(ValueError, match="n_embedding_dims=3.*K=2"):
        PartEmbeddingDisplay(np.zeros((1, 1, 2)), segments).plot()
    # Known from the estimator's parameters: raised before any explanation.
    unfitted = clone(fitted_p2p).set_params(n_embedding_dims=5)
    with pytest.raises(ValueError, match="n_embedding_dims=3.*K=5"):
        PartEmbeddingDisplay.from_estimator(unfitted, X)


@pytest.mark.parametrize(
    "embeddings, kwargs, match",
    [
        (np.zeros((2, 4, 3)), {}, r"embeddings must have shape \(n_images, n_regions, K\)"),
        (np.zeros((1, 2, 3)), {}, "region label 3 but embeddings has 2 regions"),
        (np.full((1, 4, 3), np.nan), {}, "NaN"),
        (np.zeros((1, 4, 3)), {"images": np.zeros((1, 5, 5))}, "images must have shape"),
    ],
)
def test_part_embedding_display_invalid_inputs(embeddings, kwargs, match):
    segments = np.arange(4).reshape(1, 2, 2).repeat(2, 1).repeat(2, 2)
    with pytest.raises(ValueError, match=match):
        PartEmbeddingDisplay(embeddings, segments, **kwargs).plot()


def test_part_embedding_display_wrong_ax_shape(fitted_p2p, X):
    _, axes = plt.subplots(2, 3)
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        PartEmbeddingDisplay.from_estimator(fitted_p2p, X, n_images=2, ax=axes)


# -- FidelityCurveDisplay ----------------------------------------------


def test_fidelity_curve_display_from_estimator(fitted_p2p, X, details, tmp_path):
    display = FidelityCurveDisplay.from_estimator(
        fitted_p2p, X, kind="both", fractions=FRACTIONS, name="P2P"
    )
    _save(display, tmp_path)
    assert list(display.lines_) == ["insertion", "deletion"]
    assert len(display.ax_.get_lines()) == 2
    labels = []
    for kind, line in display.lines_.items():
        curve = fidelity_curve(fitted_p2p, X, kind=kind, fractions=FRACTIONS, details=details)
        np.testing.assert_allclose(line.get_xdata(), FRACTIONS)
        np.testing.assert_allclose(line.get_ydata(), curve.fidelity)
        np.testing.assert_allclose(getattr(display, kind), curve.fidelity)
        assert getattr(display, f"{kind}_auc") == pytest.approx(curve.auc)
        labels.append(f"P2P {kind} (AUC = {curve.auc:.2f})")
    assert _legend_labels(display.ax_) == labels
    # One colour per model; deletion dashed.
    insertion, deletion = display.lines_["insertion"], display.lines_["deletion"]
    assert insertion.get_color() == deletion.get_color()
    assert (insertion.get_linestyle(), deletion.get_linestyle()) == ("-", "--")


def test_fidelity_curve_display_several_models_on_one_axes(fitted_p2p, X, details):
    first = FidelityCurveDisplay.from_estimator(
        fitted_p2p, X, kind="insertion", fractions=FRACTIONS
    )
    n_figures = len(plt.get_fignums())
    second = FidelityCurveDisplay.from_estimator(
        fitted_p2p, X, kind="insertion", fractions=FRACTIONS, delta=0.5,
        name="delta=0.5", ax=first.ax_,
    )
    third = FidelityCurveDisplay(
        FRACTIONS, insertion=[0.0, 0.5, 1.0, 1.0], name="oracle"
    ).plot(ax=first.ax_)
    assert len(plt.get_fignums()) == n_figures
    assert second.ax_ is first.ax_ is third.ax_
    assert len(first.ax_.get_lines()) == 3
    labels = _legend_labels(first.ax_)
    assert labels[0] == f"P2PClassifier insertion (AUC = {first.insertion_auc:.2f})"
    assert labels[1] == f"delta=0.5 insertion (AUC = {second.insertion_auc:.2f})"
    assert labels[2] == "oracle insertion (AUC = 0.75)"
    colors = [line.get_color() for line in first.ax_.get_lines()]
    assert len(set(colors)) == 3


def test_fidelity_curve_display_from_curve(fitted_p2p, X, details):
    curves = [
        fidelity_curve(fitted_p2p, X, kind=kind, fractions=FRACTIONS, details=details)
        for kind in ("deletion", "insertion")
    ]
    display = FidelityCurveDisplay.from_curve(
        curves, name="P2P", curve_kwargs={"c": "black", "lw": 3}
    )
    assert set(display.lines_) == {"insertion", "deletion"}
    np.testing.assert_allclose(display.deletion, curves[0].fidelity)
    assert all(line.get_color() == "black" for line in display.lines_.values())
    assert all(line.get_linewidth() == 3 for line in display.lines_.values())
    single = FidelityCurveDisplay.from_curve(curves[1])
    assert list(single.lines_) == ["insertion"] and single.deletion is None
    assert _legend_labels(single.ax_) == [f"insertion (AUC = {curves[1].auc:.2f})"]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: FidelityCurveDisplay([0, 1]), "at least one curve"),
        (lambda: FidelityCurveDisplay([0, 1], insertion=[1, 1, 1]), r"shape \(2,\)"),
        (lambda: FidelityCurveDisplay([1, 0], deletion=[1, 1]), "strictly increasing"),
        (lambda: FidelityCurveDisplay([0, 1], insertion=[np.nan, 1]), "NaN"),
        (
            lambda: FidelityCurveDisplay.from_curve(
                [Bunch(fractions=[0, 1], fidelity=[0, 1], kind="insertion"),
                 Bunch(fractions=[0, 0.5, 1], fidelity=[1, 0, 0], kind="deletion")]
            ),
            "same fractions",
        ),
        (
            lambda: FidelityCurveDisplay.from_curve(
                [Bunch(fractions=[0, 1], fidelity=[0, 1], kind="insertion")] * 2
            ),
            "two insertion curves",
        ),
        (
            lambda: FidelityCurveDisplay.from_curve(
                Bunch(fractions=[0, 1], fidelity=[0, 1], kind="both")
            ),
            "curve kind",
        ),
        (
            lambda: FidelityCurveDisplay.from_curve({"fractions": [0, 1]}),
            "lacks",
        ),
    ],
)
def test_fidelity_curve_display_invalid_data(make, match):
    with pytest.raises(ValueError, match=match):
        make().plot()


def test_fidelity_curve_display_invalid_arguments(fitted_p2p, X):
    with pytest.raises(ValueError, match="kind must be 'insertion', 'deletion' or 'both'"):
        FidelityCurveDisplay.from_estimator(fitted_p2p, X, kind="area")
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="single matplotlib Axes"):
        FidelityCurveDisplay.from_estimator(fitted_p2p, X, ax=axes)


# -- DeltaCurveDisplay -------------------------------------------------


def test_delta_curve_display_from_estimator(
    fitted_p2p, X, y, details, details_low, tmp_path
):
    display = DeltaCurveDisplay.from_estimator(fitted_p2p, X, y, deltas=DELTAS)
    _save(display, tmp_path)
    # details_low and details are the explanations at DELTAS[0] and DELTAS[1].
    expected_kept = [d.kept_fraction.mean() for d in (details_low, details)]
    expected_accuracy = [np.mean(d.y_pred == y) for d in (details_low, details)]
    np.testing.assert_allclose(display.deltas, DELTAS)
    np.testing.assert_allclose(display.kept_fraction, expected_kept, rtol=1e-6)
    np.testing.assert_allclose(display.accuracy, expected_accuracy)
    np.testing.assert_allclose(display.line_.get_xdata(), DELTAS)
    np.testing.assert_allclose(display.line_.get_ydata(), expected_kept, rtol=1e-6)
    np.testing.assert_allclose(display.accuracy_line_.get_ydata(), expected_accuracy)
    assert len(display.ax_.get_lines()) == 2
    assert display.accuracy_line_.get_color() == display.line_.get_color()
    assert _legend_labels(display.ax_) == [
        "P2PClassifier kept fraction", "P2PClassifier accuracy"
    ]
    assert "kept fraction" in display.ax_.get_ylabel().lower()


def test_delta_curve_display_without_labels_and_given_axes(fitted_p2p, X):
    fig, ax = plt.subplots()
    n_figures = len(plt.get_fignums())
    display = DeltaCurveDisplay.from_estimator(
        fitted_p2p, X[:2], deltas=(0.5, 0.99), name="A", ax=ax
    )
    other = DeltaCurveDisplay([0.5, 0.99], [0.1, 0.2], name="B").plot(ax=ax)
    assert len(plt.get_fignums()) == n_figures
    assert display.figure_ is fig and other.ax_ is ax
    assert display.accuracy is None and display.accuracy_line_ is None
    assert len(ax.get_lines()) == 2
    assert _legend_labels(ax) == ["A kept fraction", "B kept fraction"]


@pytest.mark.parametrize(
    "deltas, match",
    [
        ((0.9, 0.5), "strictly increasing"),
        ((0.0, 0.5), r"\(0, 1\]"),
        ((0.5, 1.5), r"\(0, 1\]"),
        ((), "at least one value"),
        ([[0.5]], "1-d"),
    ],
)
def test_delta_curve_display_invalid_deltas(fitted_p2p, X, deltas, match):
    with pytest.raises(ValueError, match=match):
        DeltaCurveDisplay.from_estimator(fitted_p2p, X, deltas=deltas)


def test_delta_curve_display_invalid_inputs(fitted_p2p, X, y):
    with pytest.raises(ValueError, match=r"one label per image, shape \(4,\)"):
        DeltaCurveDisplay.from_estimator(fitted_p2p, X, y[:3])
    with pytest.raises(ValueError, match=r"kept_fraction must have one value per delta"):
        DeltaCurveDisplay([0.5, 0.9], [0.1]).plot()
    with pytest.raises(ValueError, match=r"accuracy must lie in \[0, 1\]"):
        DeltaCurveDisplay([0.5, 0.9], [0.1, 0.2], accuracy=[0.5, 2.0]).plot()


def test_displays_mark_wrong_predictions_and_empty_masks(tmp_path):
    images = np.random.RandomState(0).rand(3, 6, 6)
    segments = np.repeat(np.arange(3), 2)[None, :, None] * np.ones((3, 1, 6), int)
    masks = segments < 1
    masks[2] = False  # an empty explanation
    stub = _ProtocolExplainer(Bunch(
        masks=masks, segments=segments, region_probs=np.full((3, 3), 0.4),
        proba=np.array([[0.2, 0.8], [0.6, 0.4], [0.9, 0.1]]),
        y_pred=np.array(["b", "a", "a"]),
    ))
    display = ExplanationDisplay.from_estimator(stub, images, y_true=["b", "b", "a"])
    _save(display, tmp_path)
    titles = [ax.get_title() for ax in display.axes_[:, 2]]
    assert titles == ["pred=b p=0.80 kept 33%", "pred=a (true b) p=0.60 kept 33%",
                      "pred=a p=0.90 kept 0% (empty)"]
    colors = [ax.title.get_color() for ax in display.axes_[:, 2]]
    assert colors[1] == WRONG_COLOR and colors[0] != WRONG_COLOR != colors[2]
    # Labels of only the images shown are accepted too.
    first_two = _ProtocolExplainer(Bunch(**{key: value[:2] for key, value in stub.details.items()}))
    region = RegionProbabilityDisplay.from_estimator(first_two, images, n_images=2,
                                                    y_true=["a", "b"])
    assert [ax.get_title() for ax in region.axes_] == [
        "pred=b (true a) kept 33%", "pred=a (true b) kept 33%"]
    assert all(ax.title.get_color() == WRONG_COLOR for ax in region.axes_)


def test_display_y_true_length_checked_before_explaining():
    class NeverExplains(_ProtocolExplainer):
        def explain(self, X, delta=None, return_details=False):
            raise AssertionError("explained before y_true was checked")

    images = np.zeros((4, 6, 6))
    for display in (ExplanationDisplay, RegionProbabilityDisplay):
        with pytest.raises(ValueError, match=r"y_true must hold one label per image of X \(4\)"):
            display.from_estimator(NeverExplains(None), images, n_images=2, y_true=[0, 1, 2])


def test_plot_explanations_marks_an_empty_mask():
    from sklearn_p2p.plotting import plot_explanations

    masks = np.zeros((2, 16, 16), dtype=bool)
    masks[1, 0, 0] = True  # 1 of 256 pixels
    fig = plot_explanations(np.zeros((2, 16, 16)), masks)
    assert [fig.axes[2].get_title(), fig.axes[5].get_title()] == ["kept 0% (empty)", "kept <1%"]
