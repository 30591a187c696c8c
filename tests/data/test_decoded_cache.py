"""The on-disk cache of decoded IDX files: the same arrays as read_idx, a new entry when the
source changes, entries written atomically, the user's folder never written to."""
import os

import numpy as np
import pytest

import deltagrad.datasets as DS
from deltagrad.datasets import decoded_cache as C


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder under tmp_path; every gzip file counts as worth caching."""
    monkeypatch.setenv("DELTAGRAD_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(C.ENV_SWITCH, raising=False)
    monkeypatch.setattr(C, "MIN_CACHED_BYTES", 0)
    return tmp_path / "cache" / "decoded"


def _images(seed, n=5):
    return np.random.default_rng(seed).integers(0, 256, (n, 4, 3), dtype=np.uint8)


def _entries(folder):
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_second_read_comes_from_the_entry(tmp_path, cache, monkeypatch):
    src = tmp_path / "data" / "images-idx3-ubyte.gz"
    src.parent.mkdir()
    DS.write_idx(src, _images(0))
    before = sorted(os.listdir(src.parent))
    first = C.read_idx_cached(src)
    np.testing.assert_array_equal(first, DS.read_idx(src))
    assert first.dtype == np.uint8 and first.flags.writeable
    assert _entries(cache) == [os.path.basename(C.entry_path(src))]
    assert sorted(os.listdir(src.parent)) == before          # the user's folder untouched

    def no_decoding(path):
        raise AssertionError("decoded again although the entry is up to date")
    monkeypatch.setattr(C, "read_idx", no_decoding)
    np.testing.assert_array_equal(C.read_idx_cached(src), first)


def test_a_changed_source_is_decoded_again_and_the_stale_entry_removed(tmp_path, cache):
    src = tmp_path / "images-idx3-ubyte.gz"
    DS.write_idx(src, _images(0))
    C.read_idx_cached(src)
    stale = _entries(cache)
    DS.write_idx(src, _images(1, n=6))                        # another size
    np.testing.assert_array_equal(C.read_idx_cached(src), _images(1, n=6))
    DS.write_idx(src, _images(2, n=6))                        # the same size, later mtime
    st = os.stat(src)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    np.testing.assert_array_equal(C.read_idx_cached(src), _images(2, n=6))
    assert len(_entries(cache)) == 1 and _entries(cache) != stale


def test_an_interrupted_write_leaves_no_entry_and_no_temporary_file(tmp_path, cache,
                                                                    monkeypatch):
    src = tmp_path / "images-idx3-ubyte.gz"
    DS.write_idx(src, _images(0))

    def save_half_then_fail(f, data, allow_pickle):
        f.write(b"\x93NUMPY half an entry")
        raise OSError("disk full")
    monkeypatch.setattr(C.np, "save", save_half_then_fail)
    np.testing.assert_array_equal(C.read_idx_cached(src), _images(0))  # still the data
    assert _entries(cache) == []


def test_the_entry_appears_only_by_renaming_a_complete_file(tmp_path, cache, monkeypatch):
    src = tmp_path / "images-idx3-ubyte.gz"
    DS.write_idx(src, _images(0))
    renames = []
    replace = os.replace

    def recording_replace(a, b):
        renames.append((a, b))
        np.testing.assert_array_equal(np.load(a), _images(0))   # complete before the rename
        replace(a, b)
    monkeypatch.setattr(C.os, "replace", recording_replace)
    C.read_idx_cached(src)
    (tmp, entry), = renames
    assert os.path.dirname(tmp) == os.path.dirname(entry) == str(cache)
    assert entry == C.entry_path(src) and not os.path.exists(tmp)


def test_an_unreadable_entry_is_decoded_again(tmp_path, cache):
    src = tmp_path / "images-idx3-ubyte.gz"
    DS.write_idx(src, _images(0))
    C.read_idx_cached(src)
    with open(C.entry_path(src), "wb") as f:                  # e.g. a disk error
        f.write(b"garbage")
    np.testing.assert_array_equal(C.read_idx_cached(src), _images(0))
    np.testing.assert_array_equal(np.load(C.entry_path(src)), _images(0))  # and rewritten


def test_an_unwritable_cache_folder_is_skipped(tmp_path, cache, monkeypatch):
    src = tmp_path / "images-idx3-ubyte.gz"
    DS.write_idx(src, _images(0))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("DELTAGRAD_CACHE", str(blocker))      # makedirs fails under a file
    np.testing.assert_array_equal(C.read_idx_cached(src), _images(0))


@pytest.mark.parametrize("case", ["uncompressed", "small", "switched off"])
def test_what_is_not_cached(tmp_path, cache, monkeypatch, case):
    src = tmp_path / ("images-idx3-ubyte" + ("" if case == "uncompressed" else ".gz"))
    DS.write_idx(src, _images(0))
    if case == "small":
        monkeypatch.setattr(C, "MIN_CACHED_BYTES", os.path.getsize(src) + 1)
    if case == "switched off":
        monkeypatch.setenv(C.ENV_SWITCH, "0")
    np.testing.assert_array_equal(C.read_idx_cached(src), _images(0))
    assert _entries(cache) == []


def test_fashion_mnist_reads_through_the_cache(tmp_path, cache):
    images = _images(3, n=7).reshape(7, 2, 6)
    labels = np.arange(7, dtype=np.uint8) % 3
    DS.write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    DS.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    ds = DS.FashionMNIST(root=tmp_path, train=True)
    assert len(_entries(cache)) == 2
    again = DS.FashionMNIST(root=tmp_path, train=True)
    for d in (ds, again):
        np.testing.assert_array_equal(d.data, images)
        np.testing.assert_array_equal(d.targets, labels)
