import pandas as pd
import pytest

from readalike.outputs import REAL, SYNTHETIC, atomic_path, provenance, write_text, write_tsv


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

    from readalike.outputs import atomic_dir, atomic_path

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
