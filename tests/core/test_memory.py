from unittest import mock

import pytest

from readalike.core import memory


def test_available_memory_is_a_positive_byte_count():
    available = memory.available_memory()
    assert available is None or available > 0


def test_a_cgroup_limit_below_the_free_memory_wins(tmp_path):
    limit = tmp_path / "memory.max"
    limit.write_text("1048576\n")
    with mock.patch.object(memory, "_CGROUP_LIMIT", limit):
        assert memory.available_memory() <= 1048576


def test_check_memory_passes_what_fits_and_names_what_does_not():
    with mock.patch.object(memory, "available_memory", lambda: 2**30):
        memory.check_memory(2**29, "analysis.statistics.n_bootstrap: 10 draws")
        with pytest.raises(ValueError) as err:
            memory.check_memory(3 * 2**30, "analysis.statistics.n_bootstrap: 10 draws")
    assert str(err.value) == (
        "analysis.statistics.n_bootstrap: 10 draws need about 3.0 GiB of memory, 1.0 GiB "
        "available; lower it"
    )
