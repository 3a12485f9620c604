import pandas as pd
import pytest

from readalike.core.outputs import REAL, SYNTHETIC, atomic_path, provenance, write_text, write_tsv


def _files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("synthetic", "stamp"),
    [pytest.param(True, "SYNTHETIC", id="synthetic"), pytest.param(False, "real", id="real")],
)
def test_write_tsv_adds_provenance(tmp_path, synthetic, stamp):
    table = pd.DataFrame({"layer": [0, 1], "r2": [0.25, 1 / 3]})
    write_tsv(table, tmp_path / "sub" / "t.tsv", synthetic)
    text = (tmp_path / "sub" / "t.tsv").read_text(encoding="utf-8")
    assert text == f"layer\tr2\tprovenance\n0\t0.25\t{stamp}\n1\t0.3333333333\t{stamp}\n"
    assert list(table.columns) == ["layer", "r2"]  # the caller's table is not changed
    assert _files(tmp_path / "sub") == ["t.tsv"]


def test_provenance_values():
    assert (provenance(True), provenance(False)) == (SYNTHETIC, REAL) == ("SYNTHETIC", "real")


def test_atomic_path_writes_beside_the_target(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp != target
        assert tmp.name.endswith(".txt")
        tmp.write_text("done", encoding="utf-8")
        assert not target.exists()
    assert target.read_text(encoding="utf-8") == "done"
    assert _files(tmp_path) == ["out.txt"]


def test_atomic_path_cleans_up_and_keeps_old_target(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError, match="killed"), atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("killed")
    assert target.read_text(encoding="utf-8") == "old"
    assert _files(tmp_path) == ["out.txt"]


def test_atomic_path_cleans_up_without_target(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "out.h5") as tmp:
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt
    assert _files(tmp_path) == []


def test_write_text(tmp_path):
    write_text("größe\n", tmp_path / "a" / "b.md")
    assert (tmp_path / "a" / "b.md").read_text(encoding="utf-8") == "größe\n"


def test_outputs_get_the_umask_permissions_not_mkstemps_private_ones(tmp_path):
    import os

    from readalike.core.outputs import atomic_dir, atomic_path

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "table.tsv") as tmp:
            tmp.write_text("x")
        with atomic_dir(tmp_path / "checkpoint") as tmp:
            (tmp / "weights").write_text("w")
    finally:
        os.umask(old)
    assert (tmp_path / "table.tsv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "checkpoint").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "checkpoint" / "weights").read_text() == "w"


@pytest.mark.parametrize(
    ("n", "text"),
    [
        pytest.param(0, "0 B", id="zero"),
        pytest.param(1023, "1023 B", id="bytes"),
        pytest.param(1024, "1.0 KiB", id="kib"),
        pytest.param(3 * 1024**2 // 2, "1.5 MiB", id="mib"),
        pytest.param(5 * 1024**3, "5.0 GiB", id="gib"),
        pytest.param(2048 * 1024**4, "2048.0 TiB", id="tib-is-the-largest"),
    ],
)
def test_format_bytes(n, text):
    from readalike.core.outputs import format_bytes

    assert format_bytes(n) == text


def _fake_disk(monkeypatch, free):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 * free + 1, 0, free))


def test_not_enough_space_is_refused_before_writing(tmp_path, monkeypatch):
    from readalike.core.outputs import NoSpaceError

    _fake_disk(monkeypatch, free=1024**2)
    target = tmp_path / "attention.h5"
    with (
        pytest.raises(NoSpaceError) as err,
        atomic_path(target, expected_bytes=3 * 1024**3) as tmp,
    ):
        tmp.write_bytes(b"never")  # not reached
    assert str(err.value) == (
        f"{target}: not enough disk space: it needs about 3.0 GiB, 1.0 MiB free in {tmp_path}"
    )
    assert err.value.errno == 28
    assert _files(tmp_path) == []


def test_enough_space_writes(tmp_path, monkeypatch):
    _fake_disk(monkeypatch, free=100)
    with atomic_path(tmp_path / "t.txt", expected_bytes=100) as tmp:  # exactly enough
        tmp.write_text("x" * 100)
    assert _files(tmp_path) == ["t.txt"]


@pytest.mark.parametrize(
    ("expected_bytes", "needed"),
    [
        pytest.param(None, "", id="size-unknown"),
        pytest.param(2000, ", about 2.0 KiB needed", id="size-known"),
    ],
)
def test_disk_full_while_writing_is_one_line_and_leaves_nothing(
    tmp_path, monkeypatch, expected_bytes, needed
):
    import errno

    from readalike.core.outputs import NoSpaceError

    _fake_disk(monkeypatch, free=2048)
    target = tmp_path / "saccades.h5"
    target.write_text("old")
    with (
        pytest.raises(NoSpaceError) as err,
        atomic_path(target, expected_bytes=expected_bytes) as tmp,
    ):
        tmp.write_bytes(b"\0" * 1536)
        raise OSError(errno.ENOSPC, "No space left on device")
    assert str(err.value) == (
        f"{target}: disk full after writing 1.5 KiB of it; 2.0 KiB free in {tmp_path}{needed}"
    )
    assert "\n" not in str(err.value)
    assert _files(tmp_path) == ["saccades.h5"]  # temp file removed
    assert target.read_text() == "old"  # the old file is untouched


def test_h5py_style_disk_full_is_recognised(tmp_path, monkeypatch):
    # h5py reports a full disk as OSError(28, long multi-line text); a wrapper may re-raise
    from readalike.core.outputs import NoSpaceError

    _fake_disk(monkeypatch, free=0)
    with pytest.raises(NoSpaceError, match=r"attention\.h5: disk full after writing 0 B of it"):
        with atomic_path(tmp_path / "attention.h5"):
            try:
                raise OSError(
                    28, "Can't synchronously write data (file write failed:\n errno = 28)"
                )
            except OSError as inner:
                raise RuntimeError("wrapped") from inner
    assert _files(tmp_path) == []


def test_other_os_errors_pass_unchanged(tmp_path):
    with pytest.raises(PermissionError), atomic_path(tmp_path / "t.txt"):
        raise PermissionError("no")
    assert _files(tmp_path) == []


def test_disk_full_in_atomic_dir(tmp_path, monkeypatch):
    import errno

    from readalike.core.outputs import NoSpaceError, atomic_dir

    _fake_disk(monkeypatch, free=0)
    with pytest.raises(NoSpaceError, match=r"checkpoint: disk full; 0 B free in "):
        with atomic_dir(tmp_path / "checkpoint") as tmp:
            (tmp / "weights").write_bytes(b"w")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert _files(tmp_path) == []


def test_stale_temp_files_of_the_target_are_removed(tmp_path):
    # what a job killed inside atomic_path leaves: the temp files of its target
    stale = [".attention.h5.abc_1234.tmp.h5", ".attention.h5.zz99zz99.tmp.h5"]
    kept = [
        ".attention.h5.abc_1234.tmp.txt",  # another suffix: not made for this target
        ".other.h5.abc_1234.tmp.h5",  # another target
        ".attention.h5.v2.abc_1234.tmp.h5",  # the target "attention.h5.v2"
        ".attention.h5.abc123.tmp.h5",  # not tempfile's 8 random characters
        "attention.h5.abc_1234.tmp.h5",  # not hidden
        "keep.h5",
    ]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"half")
    with atomic_path(tmp_path / "attention.h5") as tmp:
        tmp.write_bytes(b"whole")
    assert _files(tmp_path) == sorted(["attention.h5", *kept])


def test_stale_temp_folders_of_the_target_are_removed(tmp_path):
    from readalike.core.outputs import atomic_dir

    (tmp_path / ".model.k1ll3d_x.tmp").mkdir()
    (tmp_path / ".model.k1ll3d_x.tmp" / "weights").write_bytes(b"half")
    (tmp_path / ".model2.k1ll3d_x.tmp").mkdir()
    with atomic_dir(tmp_path / "model") as tmp:
        (tmp / "weights").write_bytes(b"whole")
    assert _files(tmp_path) == [".model2.k1ll3d_x.tmp", "model"]


def test_a_killed_write_is_cleaned_by_the_next(tmp_path):
    # a real kill: the child process dies inside atomic_path and cannot clean up
    import subprocess
    import sys

    target = tmp_path / "table.tsv"
    code = (
        "import os, sys\n"
        "from readalike.core.outputs import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os._exit(9)\n"
    )
    assert subprocess.run([sys.executable, "-c", code, str(target)]).returncode == 9
    (left,) = _files(tmp_path)
    assert left.startswith(".table.tsv.") and left.endswith(".tmp.tsv")
    write_tsv(pd.DataFrame({"a": [1]}), target, synthetic=True)
    assert _files(tmp_path) == ["table.tsv"]


def test_h5py_core_driver_disk_full_is_recognised(tmp_path, monkeypatch):
    # what h5py's core driver raised on a real full tmpfs when the file was closed
    from readalike.core.outputs import NoSpaceError

    _fake_disk(monkeypatch, free=0)
    message = (
        "Can't decrement id ref count (write to backing store failed: time = ...\n"
        ", filename = 'x.h5', file descriptor = 3, errno = 28, error message = 'No space "
        "left on device', ptr = 0x0, total write size = 134144)"
    )
    with pytest.raises(NoSpaceError, match=r"a\.h5: disk full after writing 0 B of it; 0 B free"):
        with atomic_path(tmp_path / "a.h5"):
            raise RuntimeError(message)
    assert _files(tmp_path) == []
