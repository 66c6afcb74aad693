"""fit keeps freed CPU memory for reuse (glibc's mallopt), and restores glibc's defaults."""

import contextlib
import sys

import pytest

import sklearn_p2p._allocator as allocator
import sklearn_p2p._image_classifier as image_classifier


def test_settings_inside_the_block_and_defaults_after(monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "_glibc_mallopt", lambda: lambda *args: calls.append(args))
    with allocator.reused_cpu_memory() as active:
        assert active
        assert calls == [(allocator._M_MMAP_MAX, 0), (allocator._M_TRIM_THRESHOLD, 2**31 - 1)]
    assert calls[2:] == [(allocator._M_MMAP_MAX, 65536), (allocator._M_TRIM_THRESHOLD, 128 * 1024)]


def test_defaults_are_restored_when_training_fails(monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "_glibc_mallopt", lambda: lambda *args: calls.append(args))
    with pytest.raises(RuntimeError), allocator.reused_cpu_memory():
        raise RuntimeError("training failed")
    assert calls[-2:] == [(allocator._M_MMAP_MAX, 65536), (allocator._M_TRIM_THRESHOLD, 131072)]


def test_disabled_or_without_glibc_nothing_changes(monkeypatch):
    monkeypatch.setattr(allocator, "_glibc_mallopt", lambda: pytest.fail("mallopt looked up"))
    with allocator.reused_cpu_memory(enabled=False) as active:
        assert not active
    monkeypatch.setattr(allocator, "_glibc_mallopt", lambda: None)
    with allocator.reused_cpu_memory() as active:
        assert not active


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_real_mallopt_is_found_on_linux():
    assert allocator._glibc_mallopt() is not None


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_training_on_the_cpu_runs_inside_the_block(tiny_data, make_p2p, monkeypatch, method):
    entered = []

    @contextlib.contextmanager
    def recording(enabled=True):
        entered.append(enabled)
        yield enabled

    monkeypatch.setattr(image_classifier, "reused_cpu_memory", recording)
    getattr(make_p2p(max_epochs=1, device="cpu"), method)(tiny_data.images, tiny_data.target)
    assert entered == [True]
