"""Unreadable image files (truncated, corrupt, empty, not images) get a clear
error naming the file, or are skipped with a warning with ``on_error="skip"``."""

import os
import pickle
import re
import warnings

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from sklearn_p2p.datasets import ImageFolderDataset, load_image_folder


def _rgb(seed, shape=(8, 8)):
    return np.random.RandomState(seed).randint(0, 256, size=shape + (3,), dtype=np.uint8)


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _make_broken(path, kind):
    """Write an unreadable file of the given kind at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind in ("truncated_png", "truncated_jpeg"):
        # Large enough that half the bytes cut into the image data.
        _save(path, _rgb(99, (32, 32)))
        _truncate(path)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not an image\n")
    else:
        raise AssertionError(kind)


BROKEN = {
    "truncated_png": "b/broken.png",
    "truncated_jpeg": "b/broken.jpg",
    "empty": "a/broken.png",
    "text": "a/broken.png",
}


@pytest.fixture(params=sorted(BROKEN))
def folder(tmp_path, request):
    """Classes a (2 readable images) and b (1 readable), plus one broken file.

    Returns the root, the broken file, and the readable images in the order
    the loaders list them, with their labels.
    """
    root = tmp_path / "images"
    readable = {"a/x1.png": _rgb(0), "a/x3.png": _rgb(1), "b/y1.png": _rgb(2)}
    for name, array in readable.items():
        _save(root / name, array)
    broken = root / BROKEN[request.param]
    _make_broken(broken, request.param)
    expected = [(readable[name], 0 if name.startswith("a/") else 1) for name in sorted(readable)]
    return root, broken, expected


def _error_names(path):
    return re.escape(path.as_posix())


# -- on_error="raise" (the default) --------------------------------------
def test_load_image_folder_names_the_unreadable_file(folder):
    root, broken, _ = folder
    with pytest.raises(OSError, match=_error_names(broken)) as info:
        load_image_folder(root)
    message = str(info.value)
    assert "Fix or delete" in message and 'on_error="skip"' in message
    assert info.value.__cause__ is not None, "the original error is chained"
    # The explicit default says the same.
    with pytest.raises(OSError, match=_error_names(broken)):
        load_image_folder(root, on_error="raise")


def test_image_folder_dataset_names_the_unreadable_file(folder):
    root, broken, _ = folder
    data = ImageFolderDataset(root)  # files are only read when indexed
    index = data.files.index(str(broken))
    with pytest.raises(OSError, match=_error_names(broken)) as info:
        data[index]
    assert 'on_error="skip"' in str(info.value)
    assert info.value.__cause__ is not None
    # Readable items still read.
    other = (index + 1) % len(data)
    assert data[other][0].shape == (8, 8, 3)


def test_truncated_images_are_never_loaded_partially(tmp_path):
    _make_broken(tmp_path / "a" / "t.png", "truncated_png")
    with pytest.raises(OSError, match=_error_names(tmp_path / "a" / "t.png") + ".*truncated"):
        load_image_folder(tmp_path)
    with pytest.raises(OSError, match=_error_names(tmp_path / "a" / "t.png") + ".*truncated"):
        ImageFolderDataset(tmp_path)[0]
    assert not ImageFile.LOAD_TRUNCATED_IMAGES


def test_empty_file_is_called_empty(tmp_path):
    _make_broken(tmp_path / "a" / "e.png", "empty")
    with pytest.raises(OSError, match="the file is empty"):
        load_image_folder(tmp_path)


def test_unreadable_mask_names_the_mask_file(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    _save(images / "a" / "x.png", _rgb(0))
    _save(images / "a" / "y.png", _rgb(1))
    _save(masks / "a" / "x.png", np.zeros((8, 8, 3), np.uint8))
    _make_broken(masks / "a" / "y.png", "truncated_png")
    with pytest.raises(OSError, match=r"mask file .*" + _error_names(masks / "a" / "y.png")):
        load_image_folder(images, mask_path=masks)

    with pytest.warns(UserWarning, match=_error_names(masks / "a" / "y.png")):
        data = load_image_folder(images, mask_path=masks, on_error="skip")
    assert data.images.shape == (1, 8, 8, 3) and data.masks.shape == (1, 8, 8)
    assert [os.path.basename(f) for f in data.filenames] == ["x.png"]
    np.testing.assert_array_equal(data.images[0], _rgb(0))


def test_missing_mask_still_raises_with_skip(tmp_path):
    _save(tmp_path / "images" / "a" / "x.png", _rgb(0))
    (tmp_path / "masks" / "a").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="No mask"):
        load_image_folder(tmp_path / "images", mask_path=tmp_path / "masks", on_error="skip")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their permissions")
def test_permission_denied_names_the_file(tmp_path):
    _save(tmp_path / "a" / "x.png", _rgb(0))
    locked = tmp_path / "a" / "locked.png"
    _save(locked, _rgb(1))
    locked.chmod(0)
    try:
        with pytest.raises(OSError, match=_error_names(locked)):
            load_image_folder(tmp_path)
        with pytest.warns(UserWarning, match=_error_names(locked)):
            assert len(load_image_folder(tmp_path, on_error="skip").images) == 1
    finally:
        locked.chmod(0o644)


# -- on_error="skip" -----------------------------------------------------
def test_load_image_folder_skips_unreadable_files(folder):
    root, broken, expected = folder
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_image_folder(root, on_error="skip")
    user = [w for w in caught if issubclass(w.category, UserWarning)]
    assert len(user) == 1, [str(w.message) for w in user]
    message = str(user[0].message)
    assert "Skipped 1 of 4" in message and broken.as_posix() in message
    assert data.target_names == ["a", "b"]
    assert len(data.images) == len(data.target) == len(data.filenames) == 3
    assert str(broken) not in data.filenames.tolist()
    for image, label, (array, expected_label) in zip(data.images, data.target, expected):
        np.testing.assert_array_equal(image, array)
        assert label == expected_label


def test_load_image_folder_warning_lists_first_files_and_count(tmp_path):
    _save(tmp_path / "a" / "ok.png", _rgb(0))
    for i in range(8):
        _make_broken(tmp_path / "a" / f"bad{i}.png", "text")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_image_folder(tmp_path, on_error="skip")
    user = [w for w in caught if issubclass(w.category, UserWarning)]
    assert len(user) == 1
    message = str(user[0].message)
    assert "Skipped 8 of 9" in message and "and 3 more" in message
    assert "bad0.png" in message and "bad7.png" not in message
    assert len(data.images) == 1


def test_load_image_folder_skip_with_no_readable_file_raises(tmp_path):
    _make_broken(tmp_path / "a" / "x.png", "empty")
    _make_broken(tmp_path / "b" / "y.jpg", "truncated_jpeg")
    with pytest.raises(OSError, match=r"None of the 2 image files.*could be read") as info:
        load_image_folder(tmp_path, on_error="skip")
    assert info.value.__cause__ is not None


def test_image_folder_dataset_skip_returns_the_next_readable_item(folder):
    root, broken, expected = folder
    data = ImageFolderDataset(root, on_error="skip")
    assert len(data) == 4, "a lazy dataset keeps its length"
    index = data.files.index(str(broken))
    after = index + 1 if index + 1 < len(data) else 0  # wraps around
    with pytest.warns(UserWarning, match=_error_names(broken)):
        image, label = data[index]
    replacement, replacement_label = data[after]
    np.testing.assert_array_equal(image, replacement)
    assert label == replacement_label
    # Readable items are unchanged: the readable ones in order are `expected`.
    readable = [i for i in range(len(data)) if i != index]
    for i, (array, expected_label) in zip(readable, expected):
        image, label = data[i]
        np.testing.assert_array_equal(image, array)
        assert label == expected_label


def test_image_folder_dataset_skip_wraps_around_and_skips_runs(tmp_path):
    _save(tmp_path / "a" / "0.png", _rgb(0))
    _make_broken(tmp_path / "b" / "1.png", "empty")
    _make_broken(tmp_path / "b" / "2.png", "text")
    data = ImageFolderDataset(tmp_path, on_error="skip", image_size=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image, label = data[1]
    messages = " ".join(str(w.message) for w in caught if issubclass(w.category, UserWarning))
    assert "1.png" in messages and "2.png" in messages
    assert label == 0 and image.shape == (4, 4, 3)
    with pytest.warns(UserWarning, match="2.png"):
        assert data[-1][1] == 0  # negative indices too


def test_image_folder_dataset_skip_with_no_readable_file_raises(tmp_path):
    _make_broken(tmp_path / "a" / "x.png", "text")
    _make_broken(tmp_path / "b" / "y.png", "truncated_png")
    data = ImageFolderDataset(tmp_path, on_error="skip")
    with pytest.warns(UserWarning), pytest.raises(OSError, match="None of the 2 image files"):
        data[0]


def test_image_folder_dataset_keeps_index_errors_for_iteration(tmp_path):
    _save(tmp_path / "a" / "x.png", _rgb(0))
    data = ImageFolderDataset(tmp_path, on_error="skip")
    with pytest.raises(IndexError):
        data[1]
    assert len(list(data)) == 1


def test_image_folder_dataset_in_a_dataloader(folder):
    root, broken, expected = folder
    data = ImageFolderDataset(root, on_error="skip")
    data = pickle.loads(pickle.dumps(data))  # as DataLoader workers receive it
    loader = torch.utils.data.DataLoader(data, batch_size=2, num_workers=0)
    with pytest.warns(UserWarning, match=_error_names(broken)):
        batches = list(loader)
    images = torch.cat([images for images, _ in batches])
    labels = torch.cat([labels for _, labels in batches])
    assert images.shape == (4, 8, 8, 3), "batches stay full"
    assert [len(labels) for _, labels in batches] == [2, 2]
    # Every returned pair is a readable image with its own label.
    pairs = {array.tobytes(): label for array, label in expected}
    for image, label in zip(images.numpy(), labels.tolist()):
        assert pairs[image.tobytes()] == label

    raising = torch.utils.data.DataLoader(ImageFolderDataset(root), batch_size=2)
    with pytest.raises(OSError, match=_error_names(broken)):
        list(raising)


def test_fit_on_an_image_folder_with_a_broken_file(tmp_path, make_p2p):
    for i in range(8):
        _save(tmp_path / ("a" if i % 2 else "b") / f"{i}.png", _rgb(i, (16, 16)))
    _make_broken(tmp_path / "a" / "broken.jpg", "truncated_jpeg")
    with pytest.raises(OSError, match="broken.jpg"):
        make_p2p(max_epochs=1, batch_size=4).fit(ImageFolderDataset(tmp_path))
    with pytest.warns(UserWarning, match="broken.jpg"):
        clf = make_p2p(max_epochs=1, batch_size=4).fit(
            ImageFolderDataset(tmp_path, on_error="skip"))
    assert clf.classes_.tolist() == ["a", "b"]
    with pytest.warns(UserWarning, match="broken.jpg"):
        assert clf.predict(ImageFolderDataset(tmp_path, on_error="skip")).shape == (9,)


# -- validation ------------------------------------------------------------
@pytest.mark.parametrize("on_error", ["ignore", "Skip", None, True])
def test_on_error_is_validated(tmp_path, on_error):
    _save(tmp_path / "a" / "x.png", _rgb(0))
    with pytest.raises(ValueError, match="on_error must be"):
        load_image_folder(tmp_path, on_error=on_error)
    with pytest.raises(ValueError, match="on_error must be"):
        ImageFolderDataset(tmp_path, on_error=on_error)
