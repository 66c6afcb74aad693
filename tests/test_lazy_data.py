"""Data larger than memory: torch Datasets read, augmented and segmented lazily."""

import numpy as np
import pytest
import torch
from skimage.io import imsave
from skorch.dataset import ValidSplit

from sklearn_p2p import SuperpixelDataset, SuperpixelTransformer
from sklearn_p2p.datasets import ImageFolderDataset, load_image_folder, make_cluttered_objects


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """24 PNG images of 16x16 in three class folders, and the same in memory."""
    data = make_cluttered_objects(n_samples=24, image_size=16, n_classes=3, random_state=0)
    root = tmp_path_factory.mktemp("images")
    for i, (image, target) in enumerate(zip(data.images, data.target)):
        folder = root / data.target_names[target]
        folder.mkdir(exist_ok=True)
        imsave(folder / f"{i:02d}.png", image, check_contrast=False)
    return root


class CountingReads(torch.utils.data.Dataset):
    """A dataset that counts how often each item is read (in this process)."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.targets = dataset.targets
        self.reads = np.zeros(len(dataset), dtype=int)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        self.reads[index] += 1
        return self.dataset[index]


class Items(torch.utils.data.Dataset):
    """A Dataset over a list of items, without a ``targets`` attribute."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


# -- ImageFolderDataset ------------------------------------------------
def test_image_folder_dataset_reads_what_load_image_folder_loads(image_folder):
    eager = load_image_folder(image_folder)
    lazy = ImageFolderDataset(image_folder)
    assert len(lazy) == len(eager.images)
    assert lazy.classes == eager.target_names
    np.testing.assert_array_equal(lazy.targets, eager.target)
    for i in (0, 11, 23):
        image, label = lazy[i]
        np.testing.assert_array_equal(image, eager.images[i])
        assert label == eager.target[i]


def test_image_folder_dataset_resizes_then_transforms(image_folder):
    seen = []

    def transform(image):
        seen.append(image.size)
        return np.asarray(image)[:, ::-1]

    data = ImageFolderDataset(image_folder, image_size=(8, 12), transform=transform)
    image, _ = data[3]
    assert seen == [(12, 8)]  # PIL reports (width, height)
    unflipped = ImageFolderDataset(image_folder, image_size=(8, 12))[3][0]
    np.testing.assert_array_equal(image, unflipped[:, ::-1])


@pytest.mark.parametrize("transform", ["flip", 3])
def test_image_folder_dataset_rejects_a_transform_that_is_not_callable(image_folder, transform):
    with pytest.raises(TypeError, match="transform must be callable"):
        ImageFolderDataset(image_folder, transform=transform)


# -- SuperpixelDataset -------------------------------------------------
@pytest.mark.parametrize("layout", ["numpy", "tensor_chw", "pil"])
def test_superpixel_dataset_items_match_the_transformer(image_folder, layout):
    from PIL import Image

    images = load_image_folder(image_folder).images
    if layout == "numpy":
        items = [(image, 0) for image in images]
    elif layout == "tensor_chw":
        items = [(torch.from_numpy(image).permute(2, 0, 1), 0) for image in images]
    else:
        items = [(Image.fromarray(image), 0) for image in images]
    transformer = SuperpixelTransformer(n_segments=8)
    data = SuperpixelDataset(items, transformer)
    expected = SuperpixelTransformer(n_segments=8).fit_transform(images)
    for i in (0, 5):
        packed, label = data[i]
        assert packed.dtype == torch.float32
        np.testing.assert_array_equal(packed.numpy(), expected[i])
        assert label == 0
    assert data.image_shape_ == (16, 16) and data.n_channels_ == 3
    assert not hasattr(transformer, "backend_"), "the user's transformer was fitted"


def test_superpixel_dataset_segments_the_augmented_image(image_folder):
    """Augmentation comes first: the label map is that of the crop."""
    crop = ImageFolderDataset(image_folder, transform=lambda image: np.asarray(image)[2:14, 4:16])
    data = SuperpixelDataset(crop, SuperpixelTransformer(n_segments=6))
    packed, _ = data[7]
    cropped = load_image_folder(image_folder).images[7, 2:14, 4:16]
    expected = SuperpixelTransformer(n_segments=6).fit_transform(cropped[None])[0]
    np.testing.assert_array_equal(packed.numpy(), expected)


def test_superpixel_dataset_random_augmentation_is_segmented_anew(image_folder):
    transforms = pytest.importorskip("torchvision.transforms")
    augment = transforms.Compose([
        transforms.RandomResizedCrop(12, scale=(0.3, 1.0)),
        transforms.RandomHorizontalFlip(),
        transforms.ColorJitter(0.4, 0.4, 0.4),
    ])
    data = SuperpixelDataset(ImageFolderDataset(image_folder, transform=augment),
                             SuperpixelTransformer(n_segments=6))
    torch.manual_seed(0)
    first, second = data[4][0].numpy(), data[4][0].numpy()
    assert first.shape == (12, 12, 4)
    assert not np.array_equal(first[..., :3], second[..., :3])
    for packed in (first, second):
        expected = SuperpixelTransformer(n_segments=6).fit_transform(packed[None, ..., :3])
        np.testing.assert_array_equal(packed[..., 3], expected[0, ..., 3])


def test_superpixel_dataset_names_the_item_of_another_size():
    items = [(np.zeros((8, 8, 3), np.uint8), 0), (np.zeros((8, 9, 3), np.uint8), 1)]
    data = SuperpixelDataset(items, SuperpixelTransformer(n_segments=4))
    with pytest.raises(ValueError, match=r"Item 1 of the dataset has size \(8, 9\).*Resize"):
        data[1]


@pytest.mark.parametrize("item, match", [
    (np.zeros((8, 8, 5)), r"Item 0 .* not an image"),
    (torch.zeros(2, 8, 8), r"Item 0 .* not an image"),
    ("a.png", r"Item 0 .* not an image"),
])
def test_superpixel_dataset_rejects_items_that_are_not_images(item, match):
    with pytest.raises(ValueError, match=match):
        SuperpixelDataset([(item, 0)], SuperpixelTransformer(n_segments=4))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"dataset": iter([])}, TypeError, "map-style torch Dataset"),
    ({"dataset": []}, ValueError, "dataset is empty"),
    ({"superpixels": "slic"}, TypeError, "superpixels must be a SuperpixelTransformer"),
    ({"cache_dir": 3}, TypeError, "cache_dir must be a folder path"),
])
def test_superpixel_dataset_checks_its_arguments(kwargs, error, match):
    arguments = {"dataset": [(np.zeros((8, 8, 3), np.uint8), 0)], **kwargs}
    with pytest.raises(error, match=match):
        SuperpixelDataset(**arguments)


def test_superpixel_cache_is_reused_across_datasets_and_runs(
        image_folder, tmp_path, count_segmentations):
    transformer = SuperpixelTransformer(n_segments=8)
    first = SuperpixelDataset(ImageFolderDataset(image_folder), transformer, cache_dir=tmp_path)
    computed = [first[i][0].numpy() for i in range(len(first))]
    assert count_segmentations["images"] == len(first)

    again = SuperpixelDataset(ImageFolderDataset(image_folder), transformer, cache_dir=tmp_path)
    assert again.cache_file_ == first.cache_file_
    for i in range(len(again)):
        np.testing.assert_array_equal(again[i][0].numpy(), computed[i])
    assert count_segmentations["images"] == len(first), "cached label maps were recomputed"

    other = SuperpixelDataset(ImageFolderDataset(image_folder),
                              SuperpixelTransformer(n_segments=6), cache_dir=tmp_path)
    assert other.cache_file_ != first.cache_file_
    other[0]
    assert count_segmentations["images"] == len(first) + 1


def test_superpixel_cache_recomputes_a_changed_image(tmp_path, count_segmentations):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 12, 12, 3), dtype=np.uint8)
    items = [(image, 0) for image in images]
    data = SuperpixelDataset(items, SuperpixelTransformer(n_segments=6), cache_dir=tmp_path)
    data[1]
    items[1] = (images[1, ::-1].copy(), 0)
    changed = data[1][0].numpy()
    assert count_segmentations["images"] == 2
    expected = SuperpixelTransformer(n_segments=6).fit_transform(images[1:, ::-1])[0]
    np.testing.assert_array_equal(changed, expected)


def test_precompute_fills_the_cache_from_dataloader_workers(
        image_folder, tmp_path, count_segmentations):
    data = SuperpixelDataset(ImageFolderDataset(image_folder),
                             SuperpixelTransformer(n_segments=8), cache_dir=tmp_path)
    assert data.precompute(num_workers=2) is data
    assert count_segmentations["images"] == 0, "segmented here, not in the workers"
    rows = np.load(data.cache_file_)
    assert (rows[:, -8:] != 0).all(), "some rows were not stored"
    for i in (0, 13, 23):
        data[i]
    assert count_segmentations["images"] == 0, "cached label maps were recomputed"
    expected = SuperpixelTransformer(n_segments=8).fit_transform(
        load_image_folder(image_folder).images)
    for i in (0, 13, 23):
        np.testing.assert_array_equal(data[i][0].numpy(), expected[i])


def test_precompute_needs_a_cache(image_folder):
    data = SuperpixelDataset(ImageFolderDataset(image_folder), SuperpixelTransformer(n_segments=8))
    with pytest.raises(ValueError, match="cache_dir"):
        data.precompute()


# -- P2PClassifier on Datasets ----------------------------------------
def test_fit_on_an_image_folder_streams_it_and_learns_what_arrays_learn(
        image_folder, make_p2p):
    """Each epoch reads every file again (nothing is kept in memory), and the
    model equals the one trained on the same images as an array."""
    data = CountingReads(ImageFolderDataset(image_folder))
    clf = make_p2p(max_epochs=3, batch_size=8).fit(data)
    # One extra read of the first item tells the image size.
    assert data.reads.sum() == 3 * len(data) + 1
    assert (data.reads >= 3).all()

    eager = load_image_folder(image_folder)
    reference = make_p2p(max_epochs=3, batch_size=8).fit(eager.images, eager.target)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    np.testing.assert_allclose(clf.predict_proba(data), reference.predict_proba(eager.images),
                               atol=1e-5)
    np.testing.assert_array_equal(clf.predict(data), reference.predict(eager.images))
    lazy_details = clf.explain(data, return_details=True)
    details = reference.explain(eager.images, return_details=True)
    np.testing.assert_array_equal(lazy_details.masks, details.masks)
    np.testing.assert_array_equal(lazy_details.segments, details.segments)
    assert lazy_details.segments.dtype == np.int64


def test_fit_with_dataloader_workers_gives_the_same_model(image_folder, make_p2p):
    data = ImageFolderDataset(image_folder)
    in_process = make_p2p(max_epochs=2, batch_size=8).fit(data)
    workers = make_p2p(max_epochs=2, batch_size=8, iterator_train__num_workers=2,
                       iterator_valid__num_workers=2).fit(data)
    np.testing.assert_allclose(workers.predict_proba(data), in_process.predict_proba(data),
                               atol=1e-6)


def test_fit_on_a_precomputed_superpixel_dataset(image_folder, tmp_path, make_p2p):
    segmented = SuperpixelDataset(ImageFolderDataset(image_folder),
                                  SuperpixelTransformer(n_segments=16), cache_dir=tmp_path)
    clf = make_p2p(superpixels="precomputed", max_epochs=2).fit(segmented)
    reference = make_p2p(max_epochs=2).fit(ImageFolderDataset(image_folder))
    np.testing.assert_allclose(clf.predict_proba(segmented),
                               reference.predict_proba(ImageFolderDataset(image_folder)),
                               atol=1e-6)
    assert clf.explain(segmented).shape == (24, 16, 16)


def test_an_image_folder_gives_named_predictions(image_folder, make_p2p):
    data = ImageFolderDataset(image_folder)
    eager = load_image_folder(image_folder)
    clf = make_p2p(max_epochs=1).fit(data)
    reference = make_p2p(max_epochs=1).fit(eager.images, eager.target)
    # The folder names are the classes, as with torchvision's ImageFolder.
    np.testing.assert_array_equal(clf.classes_, data.classes)
    np.testing.assert_array_equal(
        clf.predict(data), np.asarray(data.classes)[reference.predict(eager.images)])


def test_dataset_classes_come_from_y_classes_or_targets(image_folder, make_p2p):
    base = ImageFolderDataset(image_folder)
    subset = torch.utils.data.Subset(base, np.flatnonzero(base.targets != 2))
    clf = make_p2p(max_epochs=1).fit(subset)
    np.testing.assert_array_equal(clf.classes_, np.asarray(base.classes)[[0, 1]])
    with pytest.raises(ValueError, match="one class only"):
        make_p2p(max_epochs=1).fit(torch.utils.data.Subset(base, np.flatnonzero(base.targets == 1)))

    items = Items([base[i] for i in range(len(base))])
    with pytest.raises(ValueError, match="cannot tell the classes of a Dataset"):
        make_p2p(max_epochs=1).fit(items)
    clf = make_p2p(max_epochs=1, classes=[0, 1, 2, 3]).fit(items)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2, 3])
    clf = make_p2p(max_epochs=1).fit(items, base.targets)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    with pytest.raises(ValueError, match="24 items but 3 labels"):
        make_p2p(max_epochs=1).fit(items, [0, 1, 2])


def test_an_item_label_outside_the_classes_is_named(image_folder, make_p2p):
    base = ImageFolderDataset(image_folder)
    items = Items([base[i] for i in range(len(base))])
    with pytest.raises(ValueError, match=r"Item \d+ of the dataset has label 2, which is not"):
        make_p2p(max_epochs=1, classes=[0, 1]).fit(items)


def test_string_labels_and_a_stratified_validation_split(image_folder, make_p2p):
    base = ImageFolderDataset(image_folder)
    names = np.asarray(base.classes)[base.targets]
    items = Items([(base[i][0], names[i]) for i in range(len(base))])
    clf = make_p2p(max_epochs=2, train_split=ValidSplit(4)).fit(items, names)
    np.testing.assert_array_equal(clf.classes_, sorted(base.classes))
    assert 0.0 <= clf.history[-1, "valid_acc"] <= 1.0
    assert set(clf.predict(items)) <= set(base.classes)


def test_dataset_input_errors_are_clear(image_folder, make_p2p):
    data = ImageFolderDataset(image_folder)
    segmented = SuperpixelDataset(data, SuperpixelTransformer(n_segments=8))
    with pytest.raises(ValueError, match="pass superpixels='precomputed'"):
        make_p2p().fit(segmented)
    with pytest.raises(ValueError, match="label map"):
        make_p2p(superpixels="precomputed").fit(data)
    with pytest.raises(ValueError, match="value_range cannot be used"):
        make_p2p(superpixels="precomputed", value_range=(0, 255)).fit(segmented)

    clf = make_p2p(max_epochs=1).fit(data)
    smaller = ImageFolderDataset(image_folder, image_size=12)
    with pytest.raises(ValueError, match=r"shape \(12, 12\).*fitted on images of shape \(16, 16\)"):
        clf.predict(smaller)
    with pytest.raises(TypeError, match="predict_proba_masked takes images as an array"):
        clf.predict_proba_masked(data, np.ones((24, 16, 16), bool))
