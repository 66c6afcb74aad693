"""The superpixel cache of SuperpixelDataset under faults (issue 17, item 1).

A full disk, read-only folders and files, damaged files, temporary files
left by killed runs and concurrent writers: each raises a clear error or is
handled, and no label map read from a cache is ever wrong.
"""

import errno
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import sklearn_p2p._superpixel_cache as cache_module
from sklearn_p2p import SuperpixelDataset, SuperpixelTransformer

ROOT = Path(__file__).resolve().parents[1]
N_SEGMENTS = 6
IMAGES = np.random.default_rng(0).integers(0, 256, (6, 12, 12, 3), dtype=np.uint8)


def make_dataset(cache_dir, images=IMAGES):
    return SuperpixelDataset([(image, 0) for image in images],
                             SuperpixelTransformer(n_segments=N_SEGMENTS), cache_dir=cache_dir)


@pytest.fixture(scope="module")
def expected():
    """The packed items computed without a cache."""
    return SuperpixelTransformer(n_segments=N_SEGMENTS).fit_transform(IMAGES)


def assert_items_equal(data, expected):
    for i in range(len(data)):
        np.testing.assert_array_equal(data[i][0].numpy(), expected[i])


def temp_files(folder):
    return sorted(path.name for path in Path(folder).iterdir() if path.name.endswith(".tmp"))


def run_python(script, *args, timeout=300):
    """Run ``script`` in a new interpreter; a crash (SIGBUS) is a return code, not ours."""
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def can_mount():
    return sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0


def mount(*args):
    return subprocess.run(["mount", *map(str, args)], capture_output=True, text=True)


def unmount(folder):
    subprocess.run(["umount", str(folder)], capture_output=True, check=False)


# -- 1. a full disk --------------------------------------------------------
class Repeated:
    """``n`` items, all the same image: a large dataset that costs no memory."""

    def __init__(self, image, n):
        self.image, self.n = image, n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        return self.image, 0


def make_large_dataset(cache_dir):
    """200 rows of 64 * 64 + 8 uint16 words: a 1.6 MB cache file."""
    image = IMAGES[0].repeat(6, 0).repeat(6, 1)[:64, :64]
    return SuperpixelDataset(Repeated(image, 200), SuperpixelTransformer(n_segments=N_SEGMENTS),
                             cache_dir=cache_dir)


def test_full_disk_at_creation_raises_an_oserror_naming_cache_dir_and_size(
        tmp_path, monkeypatch):
    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", no_space, raising=False)
    cache_dir = tmp_path / "cache"
    with pytest.raises(OSError) as raised:
        make_large_dataset(cache_dir)
    assert raised.value.errno == errno.ENOSPC
    message = str(raised.value)
    assert f"cache_dir={str(cache_dir)!r}" in message
    assert "1.6 MB" in message
    assert "cache_dir=None" in message and "Free disk space" in message
    assert list(cache_dir.iterdir()) == [], "the temporary file was left behind"


@pytest.mark.parametrize("reserve", ["posix_fallocate", "write zeros"])
def test_the_cache_file_space_is_reserved_when_it_is_created(tmp_path, monkeypatch, reserve):
    if reserve == "write zeros":
        def unsupported(fd, offset, length):
            raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

        monkeypatch.setattr(os, "posix_fallocate", unsupported, raising=False)
    elif not hasattr(os, "posix_fallocate"):
        pytest.skip("os.posix_fallocate is not available on this platform")
    data = make_large_dataset(tmp_path)
    stat = os.stat(data.cache_file_)
    if not hasattr(stat, "st_blocks"):
        pytest.skip("the file system does not report allocated blocks")
    assert stat.st_blocks * 512 >= stat.st_size, "the cache file is sparse: no space reserved"
    rows = np.load(data.cache_file_)
    assert rows.shape == (200, 64 * 64 + 8) and rows.dtype == np.uint16
    assert not rows.any()


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 64 kB file system: a full disk for a cache of more than 64 kB."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if not can_mount():
        pytest.skip("mounting a tmpfs needs Linux and root")
    result = mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", folder)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield folder
    unmount(folder)


@pytest.mark.parametrize("reserve", ["posix_fallocate", "write zeros"])
def test_a_real_full_disk_raises_an_oserror_instead_of_killing_the_process(tiny_tmpfs, reserve):
    result = run_python("""
        import os, sys
        import numpy as np
        from sklearn_p2p import SuperpixelDataset, SuperpixelTransformer
        if sys.argv[2] == "write zeros":
            del os.posix_fallocate
        # 16 rows of 64 * 64 + 8 uint16 words: 131 kB, on a 64 kB disk.
        images = np.random.default_rng(0).integers(0, 256, (16, 64, 64, 3), dtype=np.uint8)
        try:
            data = SuperpixelDataset([(image, 0) for image in images],
                                     SuperpixelTransformer(n_segments=4), cache_dir=sys.argv[1])
            data.precompute()
        except OSError as error:
            print("OSError", error.errno, error)
        else:
            print("no error")
    """, tiny_tmpfs, reserve)
    assert result.returncode == 0, (
        f"the process died (return code {result.returncode}): {result.stderr[-2000:]}")
    assert result.stdout.startswith(f"OSError {errno.ENOSPC} "), result.stdout + result.stderr
    assert f"cache_dir={str(tiny_tmpfs)!r}" in result.stdout
    assert "131.5 kB" in result.stdout  # 16 * 4104 * 2 bytes and the header
    assert os.listdir(tiny_tmpfs) == [], "the temporary file was left behind"


# -- 2. read-only caches ---------------------------------------------------
@pytest.fixture(params=["os.access", "read-only mount", "chmod"])
def read_only(request, tmp_path, monkeypatch):
    """A function making a folder (and its files) read-only; returns the path to use.

    ``os.access`` works everywhere (also as root) by making the cache see
    a folder it may not write; a read-only bind mount is a real one for
    root; chmod is the real one for other users.
    """
    cleanups = []

    def make_read_only(folder):
        folder = Path(folder)
        if request.param == "os.access":
            access = os.access

            def no_writes(path, mode, *args, **kwargs):
                inside = Path(os.path.abspath(path)).is_relative_to(folder)
                return False if inside and mode & os.W_OK else access(path, mode, *args, **kwargs)

            monkeypatch.setattr(os, "access", no_writes)
            return folder
        if request.param == "read-only mount":
            if not can_mount():
                pytest.skip("a bind mount needs Linux and root")
            view = tmp_path / "read-only view"  # beside the folder
            view.mkdir()
            if mount("--bind", folder, view).returncode != 0:
                pytest.skip("cannot bind-mount here")
            cleanups.append(lambda: unmount(view))
            if mount("-o", "remount,ro,bind", view).returncode != 0:
                pytest.skip("cannot remount a bind mount read-only here")
            return view
        modes = {path: path.stat().st_mode for path in [folder, *folder.iterdir()]}
        for path in modes:
            path.chmod(0o555 if path.is_dir() else 0o444)
        cleanups.append(lambda: [path.chmod(mode) for path, mode in modes.items()])
        if os.access(folder, os.W_OK):
            pytest.skip("chmod does not stop this user (root) from writing")
        return folder

    yield make_read_only
    for cleanup in reversed(cleanups):
        cleanup()


def snapshot(folder):
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns)
            for path in Path(folder).iterdir()}


def cache_warnings(caught):
    return [str(w.message) for w in caught if "superpixel cache" in str(w.message)]


def test_a_complete_read_only_cache_is_read_without_writing(
        tmp_path, read_only, expected, count_segmentations):
    cache = tmp_path / "cache"
    make_dataset(cache).precompute()
    count_segmentations["images"] = 0
    before = snapshot(cache)
    folder = read_only(cache)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = make_dataset(folder)
        assert_items_equal(data, expected)
    assert cache_warnings(caught) == []
    assert count_segmentations["images"] == 0, "cached label maps were recomputed"
    assert snapshot(cache) == before


def test_a_read_only_cache_computes_missing_rows_without_storing_them(
        tmp_path, read_only, expected, count_segmentations):
    cache = tmp_path / "cache"
    partial = make_dataset(cache)
    partial[0], partial[1]
    del partial  # unmaps the file
    before = snapshot(cache)
    folder = read_only(cache)
    data = make_dataset(folder)
    count_segmentations["images"] = 0
    with pytest.warns(UserWarning, match="read-only") as caught:
        assert_items_equal(data, expected)
        assert_items_equal(data, expected)
    messages = cache_warnings(caught)
    assert len(messages) == 1, messages
    assert str(data.cache_file_) in messages[0]
    assert count_segmentations["images"] == 2 * (len(IMAGES) - 2)
    assert snapshot(cache) == before


def test_a_read_only_folder_without_the_cache_raises_a_permission_error(tmp_path, read_only):
    cache = tmp_path / "cache"
    cache.mkdir()
    folder = read_only(cache)
    with pytest.raises(PermissionError) as raised:
        make_dataset(folder)
    message = str(raised.value)
    assert f"cache_dir={str(folder)!r}" in message
    assert "not writable" in message and "cache_dir=None" in message
    assert list(cache.iterdir()) == []


def test_a_damaged_read_only_cache_raises_an_error_saying_to_delete_it(tmp_path, read_only):
    path = make_dataset(tmp_path / "cache").cache_file_
    path.write_bytes(b"")
    folder = read_only(tmp_path / "cache")
    with pytest.raises(OSError, match=r"damaged \(it is empty\).*Delete it") as raised:
        make_dataset(folder)
    assert str(folder / path.name) in str(raised.value)
    assert path.read_bytes() == b""


# -- 3. damaged cache files ------------------------------------------------
def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 100])


DAMAGES = {
    "emptied": lambda path: path.write_bytes(b""),
    "truncated": _truncate,
    "garbage": lambda path: path.write_bytes(np.random.default_rng(0).bytes(5000)),
    "wrong shape": lambda path: np.save(path, np.zeros((3, 152), np.uint16)),
    "wrong dtype": lambda path: np.save(path, np.zeros((len(IMAGES), 152), np.float32)),
    "pickled objects": lambda path: np.save(path, np.array([{}] * 6, dtype=object)),
}


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("when", ["before construction", "after construction"])
def test_a_damaged_cache_file_is_rebuilt_with_a_warning(tmp_path, expected, damage, when):
    first = make_dataset(tmp_path).precompute()
    path = first.cache_file_
    del first
    if when == "before construction":
        DAMAGES[damage](path)
        with pytest.warns(UserWarning, match="damaged") as caught:
            data = make_dataset(tmp_path)
    else:
        data = make_dataset(tmp_path)
        DAMAGES[damage](path)
        with pytest.warns(UserWarning, match="damaged") as caught:
            data[0]
    assert str(path) in str(caught[0].message)
    assert_items_equal(data, expected)
    rows = np.load(path)
    assert rows.shape == (len(IMAGES), 12 * 12 + 8) and rows.dtype == np.uint16
    assert (rows[:, -8:] != 0).all(), "the rebuilt cache was not filled"
    assert temp_files(tmp_path) == []


def test_a_missing_description_file_is_fine(tmp_path, expected, count_segmentations):
    make_dataset(tmp_path).precompute()
    count_segmentations["images"] = 0
    for description in tmp_path.glob("*.json"):
        description.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_items_equal(make_dataset(tmp_path), expected)
    assert count_segmentations["images"] == 0


# -- 4. temporary files of killed runs -------------------------------------
def test_temporary_files_of_dead_processes_are_removed_and_no_others(tmp_path):
    name = make_dataset(tmp_path / "probe").cache_file_.name
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    dead, alive, own = finished.pid, os.getppid(), os.getpid()
    folder = tmp_path / "cache"
    folder.mkdir()
    names = {
        "dead": f".{name}.{dead}.tmp",
        "dead, with a token": f".{name}.{dead}.0a1b2c3d.tmp",
        "alive": f".{name}.{alive}.tmp",
        "own": f".{name}.{own}.tmp",
        "another cache": f".superpixels-00000000000000000000.npy.{dead}.tmp",
    }
    for file_name in names.values():
        (folder / file_name).write_bytes(b"half written")
    make_dataset(folder)
    assert temp_files(folder) == sorted(
        names[key] for key in ("alive", "own", "another cache"))


# -- 5. concurrent writers -------------------------------------------------
def test_a_cache_created_by_another_process_meanwhile_is_kept(
        tmp_path, monkeypatch, expected, count_segmentations):
    """Another process creates and fills the cache between the existence check
    and the rename: its file and rows are kept, not replaced by an empty one."""
    state = {"busy": False}

    def another_process_first(rename):
        def publish(source, destination, *args, **kwargs):
            if not state["busy"] and Path(destination).suffix == ".npy":
                state["busy"] = True
                make_dataset(tmp_path).precompute()
            return rename(source, destination, *args, **kwargs)
        return publish

    monkeypatch.setattr(os, "replace", another_process_first(os.replace))
    monkeypatch.setattr(os, "link", another_process_first(os.link))
    data = make_dataset(tmp_path)
    assert state["busy"]
    assert (np.load(data.cache_file_)[:, -8:] != 0).all(), "the other process's rows were lost"
    count_segmentations["images"] = 0
    assert_items_equal(data, expected)
    assert count_segmentations["images"] == 0, "cached label maps were recomputed"
    assert temp_files(tmp_path) == []


def test_two_processes_building_the_same_cache_at_once(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (40, 24, 24, 3), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    go = tmp_path / "go"
    script = textwrap.dedent("""
        import sys, time
        from pathlib import Path
        import numpy as np
        from sklearn_p2p import SuperpixelDataset, SuperpixelTransformer
        folder, name = Path(sys.argv[1]), sys.argv[2]
        images = np.load(folder / "images.npy")
        while not (folder / "go").exists():
            time.sleep(0.001)
        data = SuperpixelDataset([(image, 0) for image in images],
                                 SuperpixelTransformer(n_segments=8), cache_dir=folder / "cache")
        data.precompute()
        np.save(folder / name, np.stack([data[i][0].numpy() for i in range(len(data))]))
    """)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    processes = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), f"out{i}.npy"],
                                  cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
                 for i in range(2)]
    go.touch()
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-2000:]
    expected = SuperpixelTransformer(n_segments=8).fit_transform(images)
    for i in range(2):
        np.testing.assert_array_equal(np.load(tmp_path / f"out{i}.npy"), expected)
    cache_files = list((tmp_path / "cache").glob("*.npy"))
    assert len(cache_files) == 1
    rows = np.load(cache_files[0])
    assert (rows[:, -8:] != 0).all()
    np.testing.assert_array_equal(rows[:, :-8].reshape(expected.shape[:3]), expected[..., -1])
    assert temp_files(tmp_path / "cache") == []


# -- 6. no wrong data ------------------------------------------------------
def test_a_stored_row_is_exactly_the_label_map_computed(tmp_path, expected):
    data = make_dataset(tmp_path).precompute()
    rows = np.load(data.cache_file_)
    np.testing.assert_array_equal(rows[:, :-8].reshape(expected.shape[:3]), expected[..., -1])


@pytest.mark.parametrize("damage", ["labels of another row", "one label changed"])
def test_a_row_whose_labels_do_not_match_its_digest_is_computed_again(
        tmp_path, expected, count_segmentations, damage):
    """A row torn by concurrent writers, or damaged on disk, is never returned."""
    path = make_dataset(tmp_path).precompute().cache_file_
    rows = np.load(path, mmap_mode="r+")
    if damage == "labels of another row":
        rows[1, :-8] = rows[0, :-8]
    else:
        rows[1, 5] += 1
    rows.flush()
    del rows
    count_segmentations["images"] = 0
    data = make_dataset(tmp_path)
    np.testing.assert_array_equal(data[1][0].numpy(), expected[1])
    assert count_segmentations["images"] == 1
    np.testing.assert_array_equal(np.load(path)[1, :-8], expected[1, ..., -1].ravel())


def test_error_messages_use_human_readable_sizes():
    assert cache_module._format_bytes(999) == "999 bytes"
    assert cache_module._format_bytes(1344) == "1.3 kB"
    assert cache_module._format_bytes(1_641_728) == "1.6 MB"
    assert re.fullmatch(r"\d+\.\d GB", cache_module._format_bytes(12 * 10**9))
