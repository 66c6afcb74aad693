import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from skimage.io import imsave

from sklearn_p2p.datasets import load_cifar10, load_image_folder


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, array, check_contrast=False)


def _rgb(seed, shape=(6, 8)):
    return np.random.RandomState(seed).randint(0, 256, size=shape + (3,), dtype=np.uint8)


@pytest.fixture
def folder(tmp_path):
    """Two classes (sorted order differs from creation order), 3 images."""
    root = tmp_path / "images"
    images = {
        "zebra/a.png": _rgb(0),
        "ant/b.png": _rgb(1),
        "ant/nested/c.bmp": _rgb(2),
    }
    for name, array in images.items():
        _save(root / name, array)
    # Files with other extensions and hidden folders are ignored.
    (root / "ant" / "notes.txt").write_text("not an image")
    _save(root / ".cache" / "x.png", _rgb(3))
    return root, images


def test_image_folder_labels_sizes_and_pixels(folder):
    root, images = folder
    data = load_image_folder(root)
    assert data.target_names == ["ant", "zebra"]
    assert data.images.shape == (3, 6, 8, 3)
    assert data.images.dtype == np.uint8
    assert data.target.dtype == np.int64
    assert data.target.tolist() == [0, 0, 1]
    names = [Path(p).relative_to(root).as_posix() for p in data.filenames]
    assert names == ["ant/b.png", "ant/nested/c.bmp", "zebra/a.png"]
    for image, name in zip(data.images, names):
        # PNG and BMP are lossless: the pixels are read back exactly.
        np.testing.assert_array_equal(image, images[name])
    assert "masks" not in data


def test_image_folder_converts_grayscale_and_rgba(tmp_path):
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    rgba = np.dstack([_rgb(0), np.full((6, 8), 7, np.uint8)])
    _save(tmp_path / "g" / "gray.png", gray)
    _save(tmp_path / "r" / "rgba.png", rgba)
    data = load_image_folder(tmp_path)
    assert data.images.shape == (2, 6, 8, 3)
    np.testing.assert_array_equal(data.images[0], np.dstack([gray] * 3))
    np.testing.assert_array_equal(data.images[1], rgba[..., :3])


def test_image_folder_converts_palette_images_and_reads_1_bit_masks(tmp_path):
    from PIL import Image

    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[:, 3:] = (204, 51, 102)  # on the web palette that convert("P") uses
    (tmp_path / "images" / "a").mkdir(parents=True)
    Image.fromarray(rgb).convert("P").save(tmp_path / "images" / "a" / "x.png")
    (tmp_path / "masks" / "a").mkdir(parents=True)
    mask = np.eye(4, 6, dtype=bool)
    Image.fromarray(mask).save(tmp_path / "masks" / "a" / "x.png")
    data = load_image_folder(tmp_path / "images", mask_path=tmp_path / "masks")
    np.testing.assert_array_equal(data.images[0], rgb)
    np.testing.assert_array_equal(data.masks[0], mask)


def test_image_folder_converts_16_bit_images(tmp_path):
    deep = np.full((4, 4), 65535, dtype=np.uint16)
    _save(tmp_path / "a" / "deep.png", deep)
    data = load_image_folder(tmp_path)
    assert data.images.dtype == np.uint8
    assert (data.images == 255).all()


@pytest.mark.parametrize("image_size, shape", [(5, (5, 5)), ((3, 10), (3, 10))])
def test_image_folder_resizes(folder, image_size, shape):
    root, _ = folder
    data = load_image_folder(root, image_size=image_size)
    assert data.images.shape == (3,) + shape + (3,)
    assert data.images.dtype == np.uint8


def test_image_folder_resize_keeps_flat_colours(tmp_path):
    _save(tmp_path / "a" / "x.png", np.full((20, 30, 3), (10, 200, 90), np.uint8))
    data = load_image_folder(tmp_path, image_size=7)
    assert (data.images == np.array([10, 200, 90], np.uint8)).all()


def test_image_folder_different_sizes_error_names_both_files(tmp_path):
    _save(tmp_path / "a" / "small.png", _rgb(0, (4, 4)))
    _save(tmp_path / "b" / "large.png", _rgb(1, (5, 7)))
    with pytest.raises(ValueError, match=r"small\.png.*4x4.*large\.png.*5x7.*image_size"):
        load_image_folder(tmp_path)
    # Resizing makes them loadable.
    assert load_image_folder(tmp_path, image_size=4).images.shape == (2, 4, 4, 3)


def test_image_folder_masks(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    mask_a = np.zeros((6, 8), np.uint8)
    mask_a[1:4, 2:5] = 255
    mask_b = np.zeros((6, 8), np.uint8)
    mask_b[5, 7] = 1
    _save(images / "cat" / "a.jpg", _rgb(0))
    _save(images / "dog" / "sub" / "b.png", _rgb(1))
    # Masks may use another extension than their images, and RGBA masks
    # count their colour channels, not their (opaque) alpha.
    _save(masks / "cat" / "a.png", mask_a)
    opaque = np.full((6, 8), 255, np.uint8)
    _save(masks / "dog" / "sub" / "b.png", np.dstack([mask_b] * 3 + [opaque]))
    data = load_image_folder(images, mask_path=masks)
    assert data.masks.shape == (2, 6, 8)
    assert data.masks.dtype == bool
    np.testing.assert_array_equal(data.masks[0], mask_a > 0)
    np.testing.assert_array_equal(data.masks[1], mask_b > 0)

    resized = load_image_folder(images, mask_path=masks, image_size=(12, 16))
    assert resized.masks.shape == (2, 12, 16)
    # Nearest neighbour upsampling by 2: every mask pixel becomes a 2x2 block.
    np.testing.assert_array_equal(resized.masks[0], np.kron(mask_a > 0, np.ones((2, 2), bool)))


def test_image_folder_missing_mask_names_the_file(tmp_path):
    _save(tmp_path / "images" / "cat" / "a.png", _rgb(0))
    _save(tmp_path / "images" / "cat" / "b.png", _rgb(1))
    _save(tmp_path / "masks" / "cat" / "a.png", np.zeros((6, 8), np.uint8))
    with pytest.raises(FileNotFoundError, match=r"No mask for image 'cat/b\.png'"):
        load_image_folder(tmp_path / "images", mask_path=tmp_path / "masks")


def test_image_folder_mask_of_wrong_size(tmp_path):
    _save(tmp_path / "images" / "cat" / "a.png", _rgb(0))
    _save(tmp_path / "masks" / "cat" / "a.png", np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match=r"Mask .*a\.png.* has size \(3, 3\)"):
        load_image_folder(tmp_path / "images", mask_path=tmp_path / "masks")


def test_image_folder_custom_extensions(folder):
    root, _ = folder
    # Case-insensitive, with or without the dot: c.bmp is left out.
    data = load_image_folder(root, extensions=("PNG",))
    assert [os.path.basename(p) for p in data.filenames] == ["b.png", "a.png"]
    # A class folder left without images is an error, not a silently
    # dropped class.
    with pytest.raises(ValueError, match="zebra.*holds no image with one of the extensions .bmp"):
        load_image_folder(root, extensions="bmp")


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="path='.*missing' is not an existing folder"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="holds no class sub-folder"):
        load_image_folder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    _save(tmp_path / "full" / "a.png", _rgb(0))
    with pytest.raises(ValueError, match="empty_class.*holds no image"):
        load_image_folder(tmp_path)
    (tmp_path / "empty_class").rmdir()
    with pytest.raises(FileNotFoundError, match="mask_path="):
        load_image_folder(tmp_path, mask_path=tmp_path / "nope")
    for bad in (0, -3, (4,), (4, 0), (4.0, 4), "big", True):
        with pytest.raises(ValueError, match="image_size must be None"):
            load_image_folder(tmp_path, image_size=bad)
    for bad in ((), ("",), (".png", 3), 5):
        with pytest.raises(ValueError, match="extensions must be"):
            load_image_folder(tmp_path, extensions=bad)
    with pytest.raises(ValueError, match="path must be a path"):
        load_image_folder(42)


def _write_cifar(folder, batches, n=4, meta=True, seed=0):
    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in batches:
        data = rng.randint(0, 256, size=(n, 3072)).astype(np.uint8)
        labels = rng.randint(0, 10, size=n).tolist()
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": b"x"}, f)
        written[name] = (data, labels)
    if meta:
        names = [f"class{i}".encode() for i in range(10)]
        with open(folder / "batches.meta", "wb") as f:
            pickle.dump({b"label_names": names, b"num_vis": 3072}, f)
    return written


TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


@pytest.mark.parametrize("parent", [False, True])
def test_cifar10_train_from_folder_or_parent(tmp_path, parent):
    folder = tmp_path / "cifar-10-batches-py"
    written = _write_cifar(folder, TRAIN + ["test_batch"])
    data = load_cifar10(tmp_path if parent else folder)
    assert data.images.shape == (20, 32, 32, 3)
    assert data.images.dtype == np.uint8
    assert data.target.dtype == np.int64
    expected = sum((written[name][1] for name in TRAIN), [])
    assert data.target.tolist() == expected
    assert data.target_names == [f"class{i}" for i in range(10)]
    # Channel planes are 1024 red, green then blue values, row-major.
    row = written["data_batch_1"][0][0]
    np.testing.assert_array_equal(data.images[0, :, :, 0], row[:1024].reshape(32, 32))
    np.testing.assert_array_equal(data.images[0, :, :, 2], row[2048:].reshape(32, 32))
    assert data.images[0, 0, 1, 1] == row[1024 + 1]


def test_cifar10_test_subset_and_default_names(tmp_path):
    written = _write_cifar(tmp_path, ["test_batch"], n=3, meta=False)
    data = load_cifar10(tmp_path, subset="test")
    assert data.images.shape == (3, 32, 32, 3)
    assert data.target.tolist() == written["test_batch"][1]
    assert data.target_names[0] == "airplane" and len(data.target_names) == 10


def test_cifar10_missing_files_never_download(tmp_path):
    _write_cifar(tmp_path, TRAIN[:2])
    with pytest.raises(FileNotFoundError, match=r"data_batch_3.*never downloads.*cs\.toronto\.edu"):
        load_cifar10(tmp_path)
    with pytest.raises(FileNotFoundError, match="test_batch"):
        load_cifar10(tmp_path / "nowhere", subset="test")


def test_cifar10_errors(tmp_path):
    with pytest.raises(ValueError, match="subset must be 'train' or 'test'"):
        load_cifar10(tmp_path, subset="validation")
    with pytest.raises(ValueError, match="path must be a path"):
        load_cifar10(None)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match=r"expected b'data' of shape \(n, 3072\)"):
        load_cifar10(tmp_path, subset="test")
    (tmp_path / "test_batch").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="is not a CIFAR-10 python batch"):
        load_cifar10(tmp_path, subset="test")
