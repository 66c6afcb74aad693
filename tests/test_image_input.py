"""The shared input handling: each call reads its images once, whatever their form."""

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sklearn_p2p import P2PClassifier, SuperpixelDataset, SuperpixelTransformer, _superpixels
from sklearn_p2p.baselines import BlackboxClassifier, PatchGridTransformer
from sklearn_p2p.utils import _validation


@pytest.fixture
def counts(monkeypatch):
    """How many image values are validated and how many images segmented."""
    counts = {"validated": 0, "segmented": 0}
    check_values = _validation._check_values
    segment_images = _superpixels._segment_images

    def counting_check(X, *args, **kwargs):
        counts["validated"] += X.size
        return check_values(X, *args, **kwargs)

    def counting_segment(images, *args, **kwargs):
        counts["segmented"] += len(images)
        return segment_images(images, *args, **kwargs)

    monkeypatch.setattr(_validation, "_check_values", counting_check)
    monkeypatch.setattr(_superpixels, "_segment_images", counting_segment)

    def reset():
        counts.update(validated=0, segmented=0)
        return counts

    counts["reset"] = reset
    return counts


def _check_once(counts, call, X, n_segmented):
    counts["reset"]()
    call()
    assert counts["validated"] == X.size  # every value validated, and only once
    assert counts["segmented"] == n_segmented


def test_fit_predict_explain_validate_and_segment_once(tiny_data, make_p2p, counts):
    X, y = tiny_data.images, tiny_data.target
    clf = make_p2p(max_epochs=1)
    _check_once(counts, lambda: clf.fit(X, y), X, len(X))
    for call in (clf.predict, clf.predict_proba, clf.explain,
                 lambda X: clf.explain(X, return_details=True), lambda X: clf.score(X, y)):
        _check_once(counts, lambda: call(X), X, len(X))


def test_predict_proba_masked_does_not_segment(fitted_p2p, tiny_data, counts):
    X = tiny_data.images[:6]
    masks = np.ones(X.shape[:3], dtype=bool)
    _check_once(counts, lambda: fitted_p2p.predict_proba_masked(X, masks), X, 0)


def test_flattened_and_blackbox_input_validated_once(tiny_data, make_p2p, counts):
    X, y = tiny_data.images, tiny_data.target
    flat = X.reshape(len(X), -1)
    clf = make_p2p(max_epochs=1, image_shape=X.shape[1:])
    _check_once(counts, lambda: clf.fit(flat, y), flat, len(X))
    _check_once(counts, lambda: clf.predict(flat), flat, len(X))
    blackbox = BlackboxClassifier(superpixels=SuperpixelTransformer(n_segments=8),
                                  max_epochs=1, verbose=0, random_state=0)
    _check_once(counts, lambda: blackbox.fit(X, y), X, len(X))
    _check_once(counts, lambda: blackbox.explain(X), X, len(X))


def test_precomputed_pipeline_validates_each_step_input_once(tiny_data, make_p2p, counts):
    X, y = tiny_data.images, tiny_data.target
    pipe = make_pipeline(SuperpixelTransformer(n_segments=8),
                         make_p2p(max_epochs=1, superpixels="precomputed"))
    n_packed_images = X.size  # the image channels of the packed array
    _check_once(counts, lambda: pipe.fit(X, y), np.empty(X.size + n_packed_images), len(X))
    _check_once(counts, lambda: pipe.predict(X), np.empty(X.size + n_packed_images), len(X))


def test_dataset_items_are_validated_once_per_read(tiny_data, fitted_p2p, counts):
    X = tiny_data.images[:8]
    items = [(image, 0) for image in X]
    _check_once(counts, lambda: fitted_p2p.predict(items_dataset(items)), X, len(X))


def items_dataset(items):
    class Items(torch.utils.data.Dataset):
        def __len__(self):
            return len(items)

        def __getitem__(self, index):
            return items[index]

    return Items()


# -- the forms X can take ----------------------------------------------

@pytest.mark.parametrize("form", ["list", "pil", "tensor_nchw", "tensor_list", "dataframe"])
def test_every_form_of_x_gives_the_same_predictions(fitted_p2p, tiny_data, form):
    X = tiny_data.images[:6]
    expected = fitted_p2p.predict_proba(X)
    if form == "list":
        other = list(X)
    elif form == "pil":
        other = [Image.fromarray(image) for image in X]
    elif form == "tensor_nchw":
        other = torch.from_numpy(X).permute(0, 3, 1, 2)
    elif form == "tensor_list":
        other = [torch.from_numpy(image).permute(2, 0, 1) for image in X]
    else:
        clf = clone(fitted_p2p).set_params(image_shape=X.shape[1:], max_epochs=1)
        clf.fit(pd.DataFrame(tiny_data.images.reshape(len(tiny_data.images), -1)),
                tiny_data.target)
        np.testing.assert_allclose(
            clf.predict_proba(pd.DataFrame(X.reshape(len(X), -1))),
            clf.predict_proba(X), atol=1e-6)
        return
    np.testing.assert_allclose(fitted_p2p.predict_proba(other), expected, atol=1e-6)


def test_input_is_not_modified(fitted_p2p, tiny_data):
    X = tiny_data.images[:6].copy()
    before = X.copy()
    fitted_p2p.explain(X, return_details=True)
    fitted_p2p.predict_proba_masked(X, np.ones(X.shape[:3], dtype=bool))
    np.testing.assert_array_equal(X, before)


# -- value_range has one owner -------------------------------------------

@pytest.mark.parametrize("name, value", [("value_range", (0, 16)), ("image_shape", (8, 8))])
def test_reading_parameters_of_the_inner_step_are_refused(tiny_data, make_p2p, name, value):
    step = SuperpixelTransformer(n_segments=8, **{name: value})
    with pytest.raises(ValueError, match=rf"{name}=.*not used.*P2PClassifier\({name}=\.\.\.\)"):
        make_p2p(superpixels=step).fit(tiny_data.images, tiny_data.target)


def test_fitted_step_reads_raw_images_like_the_classifier(make_p2p):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 17, size=(16, 12, 12)).astype(float)  # digits-like, 0..16
    y = np.arange(16) % 2
    clf = make_p2p(max_epochs=1, value_range=(0, 16)).fit(X, y)
    assert clf.superpixels_.value_range == (0, 16)
    packed = clf.superpixels_.transform(X)
    np.testing.assert_allclose(packed[..., 0], X / 16, atol=1e-7)


def test_other_transformers_are_refused_with_a_fix(tiny_data, make_p2p):
    from sklearn.preprocessing import FunctionTransformer

    with pytest.raises(TypeError, match="pack_superpixels.*superpixels='precomputed'"):
        make_p2p(superpixels=FunctionTransformer()).fit(tiny_data.images, tiny_data.target)


def test_patch_grid_reads_flattened_rows_and_value_ranges():
    X = np.arange(2 * 16, dtype=float).reshape(2, 16) % 17  # two 4x4 images, values 0..16
    grid = PatchGridTransformer(patch_size=2, image_shape=(4, 4), value_range=(0, 16))
    Xt = grid.fit_transform(X)
    assert Xt.shape == (2, 4 * 4 * 2)
    packed = Xt.reshape(2, 4, 4, 2)
    np.testing.assert_allclose(packed[..., 0], X.reshape(2, 4, 4) / 16, atol=1e-7)
    assert packed[0, :, :, 1].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1],
                                           [2, 2, 3, 3], [2, 2, 3, 3]]
    with pytest.raises(ValueError, match=r"values in \[4, 20\], outside value_range"):
        grid.transform(X + 4)


# -- labels of a torchvision-style Dataset -----------------------------

class NamedClasses(torch.utils.data.Dataset):
    """Integer targets and class names, as torchvision's datasets have them."""

    def __init__(self, images, targets, classes):
        self.images, self.targets, self.classes = images, list(targets), classes

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index], self.targets[index]


def test_dataset_class_names_become_classes_(tiny_data, make_p2p):
    names = ["circle", "square", "triangle"]
    data = NamedClasses(tiny_data.images, tiny_data.target, names)
    clf = make_p2p(max_epochs=1).fit(data)
    assert clf.classes_.tolist() == names
    assert set(clf.predict(data)) <= set(names)
    details = clf.explain(torch.utils.data.Subset(data, [0, 1]), return_details=True)
    assert set(details.y_pred) <= set(names)
    # The same images as arrays with named labels train the same model.
    by_name = make_p2p(max_epochs=1).fit(tiny_data.images, np.array(names)[tiny_data.target])
    np.testing.assert_allclose(by_name.predict_proba(tiny_data.images),
                               clf.predict_proba(tiny_data.images), atol=1e-6)


def test_dataset_labels_are_matched_by_class_name(tiny_data, make_p2p):
    data = NamedClasses(tiny_data.images, tiny_data.target, ["a", "b", "c"])
    clf = make_p2p(max_epochs=1).fit(data)
    # Another dataset listing the same classes in another order: label 0 is "c".
    reordered = NamedClasses(tiny_data.images, 2 - tiny_data.target, ["c", "b", "a"])
    continued = clone_fitted(clf).partial_fit(reordered, epochs=1)
    expected = clone_fitted(clf).partial_fit(data, epochs=1)
    np.testing.assert_allclose(continued.predict_proba(tiny_data.images),
                               expected.predict_proba(tiny_data.images), atol=1e-6)
    unknown = NamedClasses(tiny_data.images, tiny_data.target, ["a", "b", "x"])
    with pytest.raises(ValueError, match=r"label 2, which is not among the classes"):
        clone_fitted(clf).partial_fit(unknown)


def test_dataset_targets_outside_its_class_names_are_refused(tiny_data, make_p2p):
    data = NamedClasses(tiny_data.images, tiny_data.target + 1, ["a", "b", "c"])
    with pytest.raises(ValueError, match="3 classes but integer labels up to 3"):
        make_p2p(max_epochs=1).fit(data)


def clone_fitted(clf):
    import pickle

    return pickle.loads(pickle.dumps(clf))


def test_classes_parameter_in_any_order(tiny_data, make_p2p):
    labels = np.array(["b", "c", "a"])[tiny_data.target]
    clf = make_p2p(max_epochs=1, classes=["c", "a", "b"]).fit(tiny_data.images, labels)
    assert clf.classes_.tolist() == ["c", "a", "b"]
    # "c" is class 0, "a" class 1, "b" class 2: the same model as integer labels.
    codes = np.array([2, 0, 1])[tiny_data.target]
    by_code = make_p2p(max_epochs=1).fit(tiny_data.images, codes)
    np.testing.assert_allclose(clf.predict_proba(tiny_data.images),
                               by_code.predict_proba(tiny_data.images), atol=1e-6)
    np.testing.assert_array_equal(clf.predict(tiny_data.images),
                                  clf.classes_[by_code.predict(tiny_data.images)])


def test_superpixel_dataset_keeps_its_wrapped_class_names(tiny_data):
    data = NamedClasses(tiny_data.images[:4], tiny_data.target[:4], ["a", "b", "c"])
    wrapped = SuperpixelDataset(data, SuperpixelTransformer(n_segments=8))
    clf = P2PClassifier(superpixels="precomputed", max_epochs=1, verbose=0,
                        random_state=0).fit(wrapped)
    assert clf.classes_.tolist() == ["a", "b", "c"]
