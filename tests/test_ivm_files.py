"""In-place zeroing of stored arrays and byte spans: only the named entries change, synced at once or together."""
import numpy as np
import pytest

from lester_inspect.ivm.files import write_array, zero_array_entries, zero_spans


@pytest.mark.parametrize("values", [np.arange(1, 25, dtype=np.float64).reshape(4, 6),
                                    np.arange(1, 25, dtype=np.int32).reshape(4, 6),
                                    np.array([["ab", "cde", "f"], ["gh", "i", "jklm"]]),
                                    np.ones((3, 5), dtype=bool)])
def test_runs_of_entries_become_zero_and_nothing_else_changes(tmp_path, values):
    path = str(tmp_path / "array.npy")
    write_array(path, values)
    flat_starts, lengths = np.array([1, values.size - 2]), np.array([2, 2])
    zero_array_entries(path, flat_starts, lengths)
    expected = values.copy().reshape(-1)
    for start, length in zip(flat_starts, lengths):
        expected[start:start + length] = np.zeros(1, dtype=values.dtype)[0]
    stored = np.load(path)
    assert stored.dtype == values.dtype and np.array_equal(stored, expected.reshape(values.shape))
    zero_array_entries(path, [0])  # single entries without lengths
    assert np.load(path).reshape(-1)[0] == np.zeros(1, dtype=values.dtype)[0]


def test_a_fortran_ordered_array_is_refused_by_name(tmp_path):
    path = str(tmp_path / "fortran.npy")
    np.save(path, np.asfortranarray(np.ones((3, 4))))
    with pytest.raises(ValueError, match="fortran.npy: expected a C-ordered array"):
        zero_array_entries(path, [0])


def test_byte_spans_are_zeroed_where_they_lie(tmp_path):
    path = tmp_path / "text.bytes"
    path.write_bytes(b"alpha|beta|gamma")
    zero_spans(str(path), np.array([6, 0]), np.array([4, 0]))
    assert path.read_bytes() == b"alpha|\0\0\0\0|gamma"


def test_in_place_writes_inside_syncs_together_are_synced_once_each_when_it_ends(tmp_path, monkeypatch):
    import os

    from lester_inspect.ivm import files

    synced = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda descriptor: (synced.append(os.readlink(f"/proc/self/fd/{descriptor}")),
                                                             real(descriptor)))
    paths = [str(tmp_path / f"{name}.npy") for name in ("a", "b")]
    for path in paths:
        write_array(path, np.arange(1, 7, dtype=np.int64))
    with pytest.raises(RuntimeError, match="interrupted"):
        with files.syncs_together():
            zero_array_entries(paths[0], [1])
            files.write_array_entries(paths[1], [2, 3], [7, 8])
            zero_array_entries(paths[0], [4])
            assert synced == []  # not yet, but already visible to readers
            assert np.load(paths[0]).tolist() == [1, 0, 3, 4, 0, 6]
            raise RuntimeError("interrupted")  # what was written is synced all the same
    assert sorted(synced) == paths and np.load(paths[1]).tolist() == [1, 2, 7, 8, 5, 6]
    zero_array_entries(paths[1], [0])  # outside the block: at once
    assert synced[-1] == paths[1]
