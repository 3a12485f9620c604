"""Tests of :mod:`readalike.release.study_a`: checksums, downloads, safe loading, conversion,
checks.

Most tests build a small synthetic release in ``tmp_path`` (same layout and formats as the
real one) so they run anywhere; tests marked ``release`` use a few files of the shared
copy of the real release and are skipped when it is absent.
"""

from __future__ import annotations

import collections
import hashlib
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from readalike.core import checksums
from readalike.core.formats import read_attention, read_saccades, write_attention, write_saccades
from readalike.core.safe_pickle import UnsafePickleError
from readalike.release import study_a as rel

SHARED_RELEASE = Path(__file__).resolve().parents[2].parent / "shared" / "release"
REAL = SHARED_RELEASE / "scaling_finetuning"
_skip_without_release = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"the shared copy of the release is missing ({REAL})"
)


def needs_release(test):
    """Mark a test as using the shared copy of the real release, skipped without it."""
    return pytest.mark.release(_skip_without_release(test))


# ----------------------------------------------------------------- a small synthetic release

LENGTHS = [[3, 2], [4]]  # 2 articles; the files pad to 3 sentences of 5 words
N_LAYERS, N_HEADS, MAX_SENT, MAX_WORDS = 3, 2, 3, 5


def _attention_layer(layer: int, lengths=LENGTHS) -> np.ndarray:
    """(A, S, H, W, W) float16: causal rows summing to 0.5, zero padding, distinct values."""
    rng = np.random.default_rng(layer)
    out = np.zeros((len(lengths), MAX_SENT, N_HEADS, MAX_WORDS, MAX_WORDS), dtype=np.float16)
    for a, article in enumerate(lengths):
        for s, n in enumerate(article):
            w = np.tril(rng.uniform(0.1, 1.0, (N_HEADS, n, n)))
            out[a, s, :, :n, :n] = 0.5 * w / w.sum(-1, keepdims=True)
    return out


def _saccades(seed: int, lengths=LENGTHS) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.uniform(0, 2, (n, n)) for n in article] for article in lengths]


def _labels(pattern: str, lengths=LENGTHS) -> list:
    return [[rel._trivial_pattern(pattern, n).tolist() for n in article] for article in lengths]


def _write_manifest(root: Path, target: Path) -> dict[str, str]:
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}"
        for p in sorted(root.rglob("*"))
        if p.is_file()
    ]
    target.write_text("\n".join(lines) + "\n")
    return checksums.read_manifest(target)


@pytest.fixture
def fake_release(tmp_path):
    """A synthetic release: root folder, manifest and the arrays written into it."""
    root = tmp_path / "release"
    human = root / rel.HUMAN_DIR
    human.mkdir(parents=True)
    arrays: dict = {"saccades": {}, "attention": {}}
    for g, group in enumerate(("p1", "p2")):
        for m, (measure, stem) in enumerate(rel.HUMAN_MEASURES.items()):
            data = _saccades(10 * g + m)
            arrays["saccades"][group, measure] = data
            with open(human / f"{stem}_{group}.pkl", "wb") as f:
                pickle.dump(data, f, protocol=4)
    for pattern in rel.TRIVIAL_PATTERNS:
        with open(human / f"label_{pattern}.pkl", "wb") as f:
            pickle.dump(_labels(pattern), f, protocol=4)
    model = root / rel.LLAMA_30B_DIR
    model.mkdir(parents=True)
    for c, (condition, prefix) in enumerate(rel.CONDITION_PREFIXES.items()):
        for layer in range(N_LAYERS):
            data = _attention_layer(100 * c + layer)
            arrays["attention"][condition, layer] = data
            np.save(model / f"{prefix}_layer{layer}.npy", data)
    manifest = _write_manifest(root, tmp_path / "SHA256SUMS")
    return root, manifest, arrays


def _layer_path(root: Path, layer: int, prefix: str = "rb_p1") -> Path:
    return root / rel.attention_relpath(rel.LLAMA_30B_DIR, prefix, layer)


def _load_plain(root: Path, lengths=LENGTHS, **kwargs):
    return rel.load_release_attention(
        root, rel.LLAMA_30B_DIR, "rb_p1", lengths, "toy", "plain", **kwargs
    )


def _check(checks: list[dict], name: str, layer) -> dict:
    (row,) = [r for r in checks if r["check"] == name and r["layer"] == layer]
    return row


# ----------------------------------------------------------------------------- checksums


def test_read_manifest_text_and_binary_markers(tmp_path):
    h1, h2 = "a" * 64, "B" * 64
    path = tmp_path / "SUMS"
    path.write_text(f"{h1}  dir/one.pkl\n\n{h2} *./two.npy\n")
    assert checksums.read_manifest(path) == {"dir/one.pkl": h1, "two.npy": h2.lower()}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("abc  x.pkl\n", id="short-hash"),
        pytest.param("a" * 64 + "\n", id="no-path"),
        pytest.param("a" * 64 + "x.pkl\n", id="no-separator"),
        pytest.param(f"{'a' * 64}  x.pkl\n{'b' * 64}  x.pkl\n", id="conflicting-duplicate"),
        pytest.param(f"{'a' * 64}  ../outside.npy\n", id="path-leaves-release"),
        pytest.param(f"{'a' * 64}  /etc/x.npy\n", id="absolute-path"),
    ],
)
def test_read_manifest_rejects_malformed(tmp_path, text):
    path = tmp_path / "SUMS"
    path.write_text(text)
    with pytest.raises(ValueError, match="SUMS: line"):
        checksums.read_manifest(path)


def test_sha256_file_streams_in_chunks(tmp_path):
    data = os.urandom(10_000)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert checksums.sha256_file(path, chunk_size=999) == hashlib.sha256(data).hexdigest()


def test_verify_files_accepts_the_fixture(fake_release):
    root, manifest, _ = fake_release
    checksums.verify_files(root, manifest, rel.needed_files(rel.LLAMA_30B_DIR, N_LAYERS))


def _flip_one_byte(path: Path, offset: int = -1) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_verify_files_names_an_altered_file_and_both_hashes(fake_release):
    root, manifest, _ = fake_release
    relpath = rel.attention_relpath(rel.LLAMA_30B_DIR, "rb_p1", 1)
    _flip_one_byte(root / relpath)
    found = checksums.sha256_file(root / relpath)
    with pytest.raises(ValueError, match="corrupted or altered") as err:
        checksums.verify_files(root, manifest, rel.needed_files(rel.LLAMA_30B_DIR, N_LAYERS))
    message = str(err.value)
    assert relpath in message and manifest[relpath] in message and found in message
    assert "1 of" in message  # only the altered file is reported


@pytest.mark.parametrize(
    ("relpath", "expected"),
    [
        pytest.param("golden_attention/reading_brain/label_self.pkl", "missing", id="missing"),
        pytest.param("extra/file.npy", "not listed in the manifest", id="not-in-manifest"),
    ],
)
def test_verify_files_names_missing_or_unlisted_files(fake_release, relpath, expected):
    root, manifest, _ = fake_release
    (root / rel.label_relpath("self")).unlink()
    with pytest.raises(ValueError, match=expected) as err:
        checksums.verify_files(root, manifest, [relpath])
    assert relpath in str(err.value)


@needs_release
def test_verify_files_real_copy_with_one_byte_changed(tmp_path):
    relpath = rel.human_relpath("mean_saccade_num", "p1")
    manifest = checksums.read_manifest(SHARED_RELEASE / "SHA256SUMS.upstream")
    copy = tmp_path / relpath
    copy.parent.mkdir(parents=True)
    shutil.copyfile(REAL / relpath, copy)
    checksums.verify_files(tmp_path, manifest, [relpath])
    _flip_one_byte(copy, offset=1000)
    with pytest.raises(ValueError, match="corrupted or altered") as err:
        checksums.verify_files(tmp_path, manifest, [relpath])
    assert manifest[relpath] in str(err.value) and str(copy) in str(err.value)


# ----------------------------------------------------------------------------- downloads


def _download(relpaths, dest, manifest, base_url):
    return checksums.download_files(
        relpaths, dest, manifest, commit=rel.RELEASE_COMMIT, base_url=base_url
    )


def _mirror_url(root: Path) -> str:
    return root.as_uri() + "/{path}"


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".")]


def test_download_from_file_url_then_skips_present_files(fake_release, tmp_path):
    root, manifest, _ = fake_release
    files = rel.needed_files(rel.LLAMA_30B_DIR, N_LAYERS)
    dest = tmp_path / "dest"
    _download(files, dest, manifest, base_url=_mirror_url(root))
    for relpath in files:
        assert (dest / relpath).read_bytes() == (root / relpath).read_bytes()
    assert not _leftovers(dest)
    checksums.verify_files(dest, manifest, files)
    # everything present and verified: a second run must not touch the (now broken) URL
    _download(files, dest, manifest, base_url="file:///nonexistent/{path}")


def test_download_replaces_a_corrupted_local_file(fake_release, tmp_path):
    root, manifest, _ = fake_release
    relpath = rel.label_relpath("prev")
    target = tmp_path / "dest" / relpath
    target.parent.mkdir(parents=True)
    target.write_bytes(b"garbage")
    _download([relpath], tmp_path / "dest", manifest, base_url=_mirror_url(root))
    assert target.read_bytes() == (root / relpath).read_bytes()


def test_download_refuses_a_wrong_hash_and_keeps_nothing(fake_release, tmp_path):
    root, manifest, _ = fake_release
    relpath = rel.attention_relpath(rel.LLAMA_30B_DIR, "instr_rb_p1", 2)
    bad = {relpath: "0" * 64}
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match="corrupted or altered") as err:
        _download([relpath], dest, bad, base_url=_mirror_url(root))
    assert relpath in str(err.value) and (root / relpath).as_uri() in str(err.value)
    assert not (dest / relpath).exists()
    assert not _leftovers(dest)


def test_download_failure_names_file_and_url(fake_release, tmp_path):
    _, manifest, _ = fake_release
    relpath = rel.label_relpath("start")
    with pytest.raises(OSError, match="download from file:///nonexistent/") as err:
        _download([relpath], tmp_path / "dest", manifest, base_url="file:///nonexistent/{path}")
    assert relpath in str(err.value)
    assert not _leftovers(tmp_path / "dest")


def test_download_refuses_a_file_outside_the_manifest(fake_release, tmp_path):
    root, manifest, _ = fake_release
    with pytest.raises(ValueError, match="not listed in the manifest"):
        _download(["x.npy"], tmp_path, manifest, base_url=_mirror_url(root))


def test_download_url_template_carries_the_commit(fake_release, tmp_path):
    root, manifest, _ = fake_release
    mirror = tmp_path / "mirror" / rel.RELEASE_COMMIT
    shutil.copytree(root, mirror)
    base_url = (tmp_path / "mirror").as_uri() + "/{commit}/{path}"
    relpath = rel.label_relpath("self")
    _download([relpath], tmp_path / "dest", manifest, base_url=base_url)
    assert (tmp_path / "dest" / relpath).is_file()


@needs_release
def test_download_real_files_against_the_upstream_manifest(tmp_path):
    """The shared copy as a file:// mirror, checked against the pinned upstream hashes."""
    manifest = checksums.read_manifest(SHARED_RELEASE / "SHA256SUMS.upstream")
    files = [rel.label_relpath("self"), rel.attention_relpath(rel.LLAMA_30B_DIR, "rb_p1", 0)]
    _download(files, tmp_path, manifest, base_url=_mirror_url(REAL))
    checksums.verify_files(tmp_path, manifest, files)


# ------------------------------------------------------------------------------ file lists


def test_needed_files_lists_human_labels_and_layers():
    files = rel.needed_files("model_attention/llama/30B", 2)
    assert files[:4] == [
        "golden_attention/reading_brain/mean_saccade_num_p1.pkl",
        "golden_attention/reading_brain/mean_saccade_dur_p1.pkl",
        "golden_attention/reading_brain/mean_saccade_num_p2.pkl",
        "golden_attention/reading_brain/mean_saccade_dur_p2.pkl",
    ]
    assert files[4:7] == [
        f"golden_attention/reading_brain/label_{p}.pkl" for p in rel.TRIVIAL_PATTERNS
    ]
    assert files[7:] == [
        "model_attention/llama/30B/rb_p1_layer0.npy",
        "model_attention/llama/30B/rb_p1_layer1.npy",
        "model_attention/llama/30B/instr_rb_p1_layer0.npy",
        "model_attention/llama/30B/instr_rb_p1_layer1.npy",
    ]
    with pytest.raises(ValueError, match="unknown condition 'control'"):
        rel.needed_files("m", 1, conditions=["control"])


def test_layers_are_discovered_from_the_folder_and_the_manifest(fake_release):
    root, manifest, _ = fake_release
    for prefix in rel.CONDITION_PREFIXES.values():
        assert rel.layers_in_dir(root, rel.LLAMA_30B_DIR, prefix) == N_LAYERS
        assert rel.layers_in_manifest(manifest, rel.LLAMA_30B_DIR, prefix) == N_LAYERS


def test_a_missing_middle_layer_is_an_error(fake_release):
    root, manifest, _ = fake_release
    _layer_path(root, 1).unlink()
    with pytest.raises(ValueError, match="rb_p1_layer1.npy is missing"):
        rel.layers_in_dir(root, rel.LLAMA_30B_DIR, "rb_p1")
    with pytest.raises(ValueError, match="rb_p1_layer1.npy is missing"):
        _load_plain(root)
    with pytest.raises(ValueError, match="rb_p1_layer1.npy: missing layer file"):
        _load_plain(root, n_layers=3)
    # the other condition is untouched
    assert rel.layers_in_dir(root, rel.LLAMA_30B_DIR, "instr_rb_p1") == N_LAYERS
    gappy = {k: v for k, v in manifest.items() if not k.endswith("/instr_rb_p1_layer1.npy")}
    with pytest.raises(ValueError, match="instr_rb_p1_layer1.npy is missing"):
        rel.layers_in_manifest(gappy, rel.LLAMA_30B_DIR, "instr_rb_p1")


def test_no_layer_file_is_an_error(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(ValueError, match="no rb_p1_layer"):
        rel.layers_in_dir(tmp_path, "m", "rb_p1")


@needs_release
def test_upstream_manifest_lists_sixty_layers_per_condition():
    manifest = checksums.read_manifest(SHARED_RELEASE / "SHA256SUMS.upstream")
    for prefix in rel.CONDITION_PREFIXES.values():
        assert rel.layers_in_manifest(manifest, rel.LLAMA_30B_DIR, prefix) == 60
        assert rel.layers_in_dir(REAL, rel.LLAMA_30B_DIR, prefix) == 30


# ----------------------------------------------------------------------------- saccades


def test_load_release_saccades_round_trips_exactly(fake_release, tmp_path):
    root, _, arrays = fake_release
    saccades = rel.load_release_saccades(root, "p2")
    assert (saccades.group, saccades.n_readers, saccades.synthetic) == ("L2", -1, False)
    assert saccades.source == (
        f"release:RiverGao/scaling_finetuning@{rel.RELEASE_COMMIT}:"
        "golden_attention/reading_brain/mean_saccade_num_p2.pkl,"
        "golden_attention/reading_brain/mean_saccade_dur_p2.pkl"
    )
    write_saccades(tmp_path / "s.h5", saccades)
    back = read_saccades(tmp_path / "s.h5")
    assert back.n_readers == -1 and back.source == saccades.source and not back.synthetic
    assert back.lengths() == LENGTHS
    for measure in ("num", "dur"):
        for a, article in enumerate(arrays["saccades"]["p2", measure]):
            for s, original in enumerate(article):
                np.testing.assert_array_equal(back.measures[measure][a][s], original)
                assert back.measures[measure][a][s].dtype == np.float64


class _NotData:
    pass


class _RunsACommand:
    def __reduce__(self):
        return (os.system, ("echo owned",))


@pytest.mark.parametrize(
    ("payload", "refused"),
    [
        pytest.param(collections.OrderedDict(a=1), "collections.OrderedDict", id="ordereddict"),
        pytest.param([[_NotData()]], "_NotData", id="class-instance"),
        pytest.param(_RunsACommand(), "system", id="os-system-reduce"),
    ],
)
def test_pickles_carrying_other_objects_are_refused(fake_release, payload, refused):
    root, _, _ = fake_release
    path = root / rel.human_relpath("mean_saccade_dur", "p1")
    path.write_bytes(pickle.dumps(payload, protocol=4))
    with pytest.raises(UnsafePickleError, match=refused) as err:
        rel.load_release_saccades(root, "p1")
    assert str(path) in str(err.value)


def _bad_sentence(kind: str):
    good = np.full((2, 2), 0.5)
    return {
        "non-square": np.zeros((2, 3)),
        "nan": np.array([[0.5, np.nan], [0.0, 1.0]]),
        "negative": good - 1.0,
        "int-array": np.ones((2, 2), dtype=np.int64),
        "nested-list": good.tolist(),
    }[kind]


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        pytest.param("non-square", "square", id="non-square"),
        pytest.param("nan", "NaN or inf at row 0 column 1", id="nan"),
        pytest.param("negative", "negative", id="negative"),
        pytest.param("int-array", "expected a float array", id="int-array"),
        pytest.param("nested-list", "expected a float array, found list", id="nested-list"),
    ],
)
def test_bad_saccade_matrices_name_file_article_sentence(fake_release, kind, message):
    root, _, arrays = fake_release
    data = [list(article) for article in arrays["saccades"]["p1", "num"]]
    data[1][0] = _bad_sentence(kind)
    path = root / rel.human_relpath("mean_saccade_num", "p1")
    path.write_bytes(pickle.dumps(data, protocol=4))
    with pytest.raises(ValueError, match=message) as err:
        rel.load_release_saccades(root, "p1")
    assert f"{path}: article 1 sentence 0" in str(err.value)


def test_negative_values_are_allowed_for_residue_matrices(fake_release):
    root, _, arrays = fake_release
    data = [[-m for m in article] for article in arrays["saccades"]["p1", "num"]]
    (root / rel.human_relpath("residue", "p1")).write_bytes(pickle.dumps(data, protocol=4))
    saccades = rel.load_release_saccades(
        root, "p1", measures={"residue": "residue"}, allow_negative=True
    )
    np.testing.assert_array_equal(saccades.measures["residue"][1][0], data[1][0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param("word", "article 0 sentence 1 has 3 words", id="word-count"),
        pytest.param("sentence", "article 1 has 2 sentences", id="sentence-count"),
        pytest.param("top", "expected a list of articles, found dict", id="not-a-list"),
    ],
)
def test_measures_must_agree(fake_release, change, message):
    root, _, arrays = fake_release
    data = [list(article) for article in arrays["saccades"]["p1", "dur"]]
    if change == "word":
        data[0][1] = np.zeros((3, 3))
    elif change == "sentence":
        data[1].append(np.zeros((2, 2)))
    else:
        data = {"articles": data}
    (root / rel.human_relpath("mean_saccade_dur", "p1")).write_bytes(pickle.dumps(data))
    with pytest.raises(ValueError, match=message):
        rel.load_release_saccades(root, "p1")


@needs_release
def test_real_saccades_round_trip_exactly(tmp_path):
    from readalike.core.safe_pickle import load_pickle

    saccades = rel.load_release_saccades(REAL, "p1")
    assert [len(a) for a in saccades.lengths()] == [31, 31, 28, 28, 30]
    write_saccades(tmp_path / "L1.h5", saccades)
    back = read_saccades(tmp_path / "L1.h5")
    for measure, stem in rel.HUMAN_MEASURES.items():
        original = load_pickle(REAL / rel.human_relpath(stem, "p1"))
        for a, article in enumerate(original):
            for s, matrix in enumerate(article):
                np.testing.assert_array_equal(back.measures[measure][a][s], matrix)


# ---------------------------------------------------------------------------- attention


def test_load_release_attention_round_trips_exactly(fake_release, tmp_path):
    root, _, arrays = fake_release
    attention, checks = _load_plain(root)
    assert (attention.n_layers, attention.n_heads) == (N_LAYERS, N_HEADS)
    assert attention.lengths() == LENGTHS
    assert attention.source.endswith("model_attention/llama/30B/rb_p1_layer{0..2}.npy")
    write_attention(tmp_path / "a.h5", attention)
    back = read_attention(tmp_path / "a.h5")
    assert (back.model, back.condition) == ("toy", "plain")
    for a, article in enumerate(LENGTHS):
        for s, n in enumerate(article):
            expected = np.stack(
                [arrays["attention"]["plain", k][a, s, :, :n, :n] for k in range(3)]
            )
            assert back.sentences[a][s].dtype == np.float16
            np.testing.assert_array_equal(back.sentences[a][s], expected)
    assert all(r["passed"] for r in checks)
    assert _check(checks, "row_sum_mean", "all")["value"] == pytest.approx(0.5, abs=1e-3)
    assert _check(checks, "n_heads", "all")["value"] == N_HEADS


def _set(a, s, h, i, j, value):
    def change(x):
        x[a, s, h, i, j] = value

    return change


@pytest.mark.parametrize(
    ("change", "faults"),
    [
        pytest.param(
            _set(0, 1, 0, 2, 0, 0.25),
            {"padding_nonzero": 1, "length_mismatch": 1},
            id="row-past-the-real-length",
        ),
        pytest.param(
            _set(1, 1, 1, 0, 0, 0.25),
            {"padding_nonzero": 1, "length_mismatch": 1},
            id="sentence-the-human-data-lack",
        ),
        pytest.param(_set(0, 0, 0, 0, 4, 0.25), {"padding_nonzero": 1}, id="column-past-length"),
        pytest.param(_set(0, 0, 1, 0, 2, 0.25), {"causal_upper_nonzero": 1}, id="acausal"),
        pytest.param(
            _set(1, 0, 0, 1, 0, 1.5), {"value_outside_0_1": 1, "row_sum_above_1": 1}, id="above-1"
        ),
        pytest.param(_set(1, 0, 0, 1, 0, -0.125), {"value_outside_0_1": 1}, id="negative"),
    ],
)
def test_faults_are_counted_not_dropped(fake_release, change, faults):
    root, _, arrays = fake_release
    data = arrays["attention"]["plain", 1].copy()
    change(data)
    np.save(_layer_path(root, 1), data)
    attention, checks = _load_plain(root)
    for name in rel.FAULT_CHECKS:
        expected = faults.get(name, 0)
        for layer in (0, 1, 2, "all"):
            row = _check(checks, name, layer)
            found = expected if layer in (1, "all") else 0
            assert (row["value"], row["passed"]) == (found, found == 0), (name, layer)
    # nothing is repaired: the real block of the output is the file's block
    np.testing.assert_array_equal(attention.sentences[1][0][1], data[1, 0, :, :4, :4])


def test_zero_rows_and_row_sums_by_hand(fake_release):
    """Diagonal-only attention of 0.25 (head 0) and 0.75 (head 1); one row of zeros."""
    root, _, _ = fake_release
    for layer in range(N_LAYERS):
        data = np.zeros((2, MAX_SENT, N_HEADS, MAX_WORDS, MAX_WORDS), np.float16)
        for a, article in enumerate(LENGTHS):
            for s, n in enumerate(article):
                idx = np.arange(n)
                data[a, s, 0, idx, idx] = 0.25
                data[a, s, 1, idx, idx] = 0.75
        if layer == 2:
            data[0, 0, 1, 1, 1] = 0  # row 1 of sentence (0, 0), head 1: sums to 0
        np.save(_layer_path(root, layer), data)
    _, checks = _load_plain(root)
    # 9 words x 2 heads = 18 real rows per layer
    assert _check(checks, "zero_rows", 2)["value"] == 1
    assert "1 of 18 rows" in _check(checks, "zero_rows", 2)["detail"]
    assert _check(checks, "zero_rows", "all")["value"] == 1
    for layer in (0, 1):
        assert _check(checks, "row_sum_min", layer)["value"] == 0.25
        assert _check(checks, "row_sum_mean", layer)["value"] == 0.5
        assert _check(checks, "row_sum_max", layer)["value"] == 0.75
        assert _check(checks, "row0_sum_mean", layer)["value"] == 0.5
    assert _check(checks, "row_sum_min", 2)["value"] == 0
    assert _check(checks, "row_sum_mean", 2)["value"] == pytest.approx((9 * 0.25 + 8 * 0.75) / 18)
    assert _check(checks, "row_sum_min", "all")["value"] == 0


@pytest.mark.parametrize(
    ("where", "region"),
    [
        pytest.param((1, 0, 1, 3, 2), "real block", id="real-block"),
        pytest.param((0, 2, 0, 4, 4), "padding", id="padding"),
    ],
)
def test_nan_is_a_hard_error_naming_file_layer_article_sentence(fake_release, where, region):
    root, _, arrays = fake_release
    data = arrays["attention"]["plain", 2].copy()
    data[where] = np.nan
    np.save(_layer_path(root, 2), data)
    a, s = where[:2]
    with pytest.raises(ValueError, match=f"layer 2 article {a} sentence {s}: NaN or inf") as err:
        _load_plain(root)
    assert str(_layer_path(root, 2)) in str(err.value) and region in str(err.value)


@pytest.mark.parametrize(
    "keep",
    [pytest.param(60, id="cut-in-header"), pytest.param(-7, id="cut-in-data")],
)
def test_truncated_npy_names_the_file(fake_release, keep):
    root, _, _ = fake_release
    path = _layer_path(root, 1)
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    with pytest.raises(ValueError, match="truncated or corrupted") as err:
        _load_plain(root)
    assert str(path) in str(err.value)


def test_layers_of_different_shapes_are_an_error(fake_release):
    root, _, arrays = fake_release
    np.save(_layer_path(root, 2), arrays["attention"]["plain", 2][:, :, :1])
    with pytest.raises(ValueError, match="rb_p1_layer2.npy: shape") as err:
        _load_plain(root)
    assert "differs from" in str(err.value)


@pytest.mark.parametrize(
    ("lengths", "message"),
    [
        pytest.param([[3], [2], [2]], "holds 2 articles.*article 2 does not fit", id="articles"),
        pytest.param([[3, 2, 2, 2], [4]], "article 0 has 4 sentences", id="sentences"),
        pytest.param([[3, 2], [6]], "article 1 sentence 0 has 6 words", id="words"),
    ],
)
def test_lengths_that_do_not_fit_are_an_error(fake_release, lengths, message):
    root, _, _ = fake_release
    with pytest.raises(ValueError, match=message) as err:
        _load_plain(root, lengths=lengths)
    assert "rb_p1_layer0.npy" in str(err.value)


def test_fewer_sentences_than_the_file_leave_the_rest_as_checked_padding(fake_release):
    """Human data with fewer sentences: the file's extra sentences count as padding."""
    root, _, _ = fake_release
    attention, checks = _load_plain(root, lengths=[[3], [4]])
    assert attention.lengths() == [[3], [4]]
    row = _check(checks, "length_mismatch", "all")
    assert row["value"] == 1 and "article 0 sentence 1: 0 words in the human data" in row["detail"]


# ------------------------------------------------------------------------- labels, table


def test_label_checks_pass_and_catch_a_wrong_label(fake_release):
    root, _, _ = fake_release
    rows = rel.release_label_checks(root, LENGTHS)
    assert [r["passed"] for r in rows] == [True, True, True]
    wrong = _labels("prev")
    wrong[1][0][0][0] = 1
    (root / rel.label_relpath("prev")).write_bytes(pickle.dumps(wrong))
    rows = {r["check"]: r for r in rel.release_label_checks(root, LENGTHS)}
    prev = rows["label_prev_matches_lengths"]
    assert (prev["value"], prev["passed"]) == (1, False)
    assert "article 1 sentence 0: differs first at (0, 0)" in prev["detail"]
    assert rows["label_self_matches_lengths"]["passed"]


def test_checks_table_is_tidy(fake_release):
    root, _, _ = fake_release
    _, checks = _load_plain(root)
    table = rel.release_checks_table(rel.release_label_checks(root, LENGTHS) + checks)
    assert list(table.columns) == rel.CHECK_COLUMNS
    assert set(table["layer"]) == {0, 1, 2, "all"}
    assert not table.duplicated(["check", "model", "condition", "layer"]).any()
    assert set(table["severity"]) == {"info", "warning", "error"}
    assert rel.release_checks_table([]).columns.tolist() == rel.CHECK_COLUMNS


# ----------------------------------------------------------------------- the real release


@pytest.fixture(scope="module")
def real_lengths():
    return rel.load_release_saccades(REAL, "p1").lengths()


@needs_release
def test_real_attention_round_trips_exactly(tmp_path, real_lengths):
    """Three real layers copied into a small release; float16 survives the HDF5 exactly."""
    for layer in range(3):
        target = _layer_path(tmp_path, layer, "instr_rb_p1")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_layer_path(REAL, layer, "instr_rb_p1"), target)
    attention, checks = rel.load_release_attention(
        tmp_path, rel.LLAMA_30B_DIR, "instr_rb_p1", real_lengths, "llama-30b", "instruction"
    )
    assert (attention.n_layers, attention.n_heads) == (3, 52)
    write_attention(tmp_path / "a.h5", attention)
    back = read_attention(tmp_path / "a.h5")
    originals = [np.load(_layer_path(REAL, k, "instr_rb_p1")) for k in range(3)]
    for a, article in enumerate(real_lengths):
        for s, n in enumerate(article):
            expected = np.stack([o[a, s, :, :n, :n] for o in originals])
            np.testing.assert_array_equal(back.sentences[a][s], expected)


@needs_release
def test_real_release_findings(real_lengths):
    """What the checks find in the shared copy (recorded in the README)."""
    _, checks = rel.load_release_attention(
        REAL, rel.LLAMA_30B_DIR, "rb_p1", real_lengths, "llama-30b", "plain", n_layers=2
    )
    mismatch = _check(checks, "length_mismatch", "all")
    # one sentence: 10 words in every human and label file, 13 rows in the attention
    assert mismatch["value"] == 1
    assert "article 2 sentence 15: 10 words in the human data, [13]" in mismatch["detail"]
    # its 3 extra rows x 52 heads: 11 + 12 + 13 entries per head outside the 10 x 10 block
    assert _check(checks, "padding_nonzero", 0)["value"] == 36 * 52
    for name in ("causal_upper_nonzero", "value_outside_0_1", "zero_rows", "row_sum_above_1"):
        assert _check(checks, name, "all")["passed"], name
    assert _check(checks, "row_sum_max", "all")["value"] < 1 + rel.ROW_SUM_TOLERANCE
    assert all(r["passed"] for r in rel.release_label_checks(REAL, real_lengths))


# ------------------------------------------------------ layers agree across conditions (#9)

PREFIXES = dict(rel.CONDITION_PREFIXES)


def test_check_release_layers_complete_copy(fake_release):
    root, manifest, _ = fake_release
    assert rel.check_release_layers(root, manifest, rel.LLAMA_30B_DIR, PREFIXES, "toy") == 3
    # download mode: only the manifest is checked
    assert rel.check_release_layers(None, manifest, rel.LLAMA_30B_DIR, PREFIXES, "toy") == 3
    # a copy that holds the first layers on purpose
    assert rel.check_release_layers(root, manifest, rel.LLAMA_30B_DIR, PREFIXES, "toy", 2) == 2


def test_a_partial_copy_names_model_condition_and_missing_layers(fake_release):
    """One layer file missing in one condition: each condition alone is contiguous (so
    layers_in_dir finds 2 and 3 layers and the tables failed with a broadcast error)."""
    root, manifest, _ = fake_release
    _layer_path(root, 2, "instr_rb_p1").unlink()
    assert rel.layers_in_dir(root, rel.LLAMA_30B_DIR, "instr_rb_p1") == 2
    with pytest.raises(ValueError) as err:
        rel.check_release_layers(root, manifest, rel.LLAMA_30B_DIR, PREFIXES, "toy")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("model toy: ")
    assert "condition instruction: instr_rb_p1_layer*.npy missing for layers 2" in message
    assert "condition plain" not in message
    # the first two layers are still a consistent partial copy
    assert rel.check_release_layers(root, manifest, rel.LLAMA_30B_DIR, PREFIXES, "toy", 2) == 2


def test_missing_layers_of_several_conditions_are_all_named(fake_release):
    root, manifest, _ = fake_release
    for layer in (0, 1):
        _layer_path(root, layer, "rb_p1").unlink()
    _layer_path(root, 1, "instr_rb_p1").unlink()
    with pytest.raises(ValueError, match=r"plain: rb_p1_layer\*\.npy missing for layers 0-1; "):
        rel.check_release_layers(root, manifest, rel.LLAMA_30B_DIR, PREFIXES, "toy")
    with pytest.raises(
        ValueError, match=r"instruction: instr_rb_p1_layer\*\.npy missing for layers 1$"
    ):
        rel.check_release_layers(root, manifest, rel.LLAMA_30B_DIR, PREFIXES, "toy")


@pytest.mark.parametrize(
    "drop, message",
    [
        pytest.param(
            ["instr_rb_p1_layer2.npy"],
            r"condition instruction: the manifest lacks instr_rb_p1_layer\*\.npy for layers 2$",
            id="last-layer-of-one-condition",
        ),
        pytest.param(
            ["rb_p1_layer1.npy"],
            r"condition plain: the manifest lacks rb_p1_layer\*\.npy for layers 1$",
            id="middle-layer",
        ),
        pytest.param(
            [f"instr_rb_p1_layer{k}.npy" for k in range(3)],
            r"condition instruction: the manifest lists no instr_rb_p1_layer\*\.npy$",
            id="whole-condition",
        ),
    ],
)
def test_manifest_layers_must_agree_across_conditions(fake_release, drop, message):
    root, manifest, _ = fake_release
    cut = {k: v for k, v in manifest.items() if k.rsplit("/", 1)[-1] not in drop}
    with pytest.raises(ValueError, match=message):
        rel.check_release_layers(root, cut, rel.LLAMA_30B_DIR, PREFIXES, "toy")
    with pytest.raises(ValueError, match=message):
        rel.check_release_layers(None, cut, rel.LLAMA_30B_DIR, PREFIXES, "toy")


@pytest.mark.parametrize("n_layers", [0, 4])
def test_n_layers_beyond_the_manifest_is_an_error(fake_release, n_layers):
    root, manifest, _ = fake_release
    with pytest.raises(ValueError, match=f"model toy: n_layers {n_layers} is outside 1 to 3"):
        rel.check_release_layers(root, manifest, rel.LLAMA_30B_DIR, PREFIXES, "toy", n_layers)


def test_spans():
    assert rel._spans([7, 0, 1, 2, 5, 8]) == "0-2, 5, 7-8"
    assert rel._spans([]) == ""


@needs_release
def test_real_copy_layers_agree_with_the_manifest():
    manifest = checksums.read_manifest(PROJECT_MANIFEST)
    # the shared copy holds 30 of LLaMA-30B's 60 layers on purpose: strict by default
    with pytest.raises(ValueError, match="missing for layers 30-59"):
        rel.check_release_layers(REAL, manifest, rel.LLAMA_30B_DIR, PREFIXES, "llama-30b")
    assert rel.check_release_layers(REAL, manifest, rel.LLAMA_30B_DIR, PREFIXES, "l", 30) == 30
    gpt2 = {"plain": "rb_p1"}
    assert rel.check_release_layers(REAL, manifest, rel.GPT2_LARGE_DIR, gpt2, "gpt2-large") == 36


# ---------------------------------------------------- GPT-2 large, per-reader fMRI

PROJECT_MANIFEST = Path(__file__).resolve().parents[2] / "resources/release/SHA256SUMS.upstream"
GPT2_SHAPE = (5, 31, 20, 17, 17)  # articles, max sentences, heads, max words, max words


def _gpt2_layer(layer: int, lengths) -> np.ndarray:
    """float32, GPT-2 large's shape: causal rows summing to 1, zero padding."""
    rng = np.random.default_rng(1000 + layer)
    out = np.zeros(GPT2_SHAPE, dtype=np.float32)
    for a, article in enumerate(lengths):
        for s, n in enumerate(article):
            w = np.tril(rng.uniform(0.1, 1.0, (GPT2_SHAPE[2], n, n)))
            out[a, s, :, :n, :n] = w / w.sum(-1, keepdims=True)
    return out


def test_gpt2_large_shaped_float32_files_load_like_llama(tmp_path):
    """20 heads, 17-word padding, float32, plain only: nothing about LLaMA is assumed."""
    lengths = [[17, 6, 9], [12], [16, 7], [8] * 31, [10, 11]]
    folder = tmp_path / rel.GPT2_LARGE_DIR
    folder.mkdir(parents=True)
    originals = [_gpt2_layer(layer, lengths) for layer in range(2)]
    for layer, data in enumerate(originals):
        np.save(folder / f"rb_p1_layer{layer}.npy", data)
    manifest = _write_manifest(tmp_path, tmp_path / "SUMS")
    assert rel.layers_in_dir(tmp_path, rel.GPT2_LARGE_DIR, "rb_p1") == 2
    assert rel.layers_in_manifest(manifest, rel.GPT2_LARGE_DIR, "rb_p1") == 2
    plain = {"plain": "rb_p1"}
    assert rel.check_release_layers(tmp_path, manifest, rel.GPT2_LARGE_DIR, plain, "g") == 2
    attention, checks = rel.load_release_attention(
        tmp_path, rel.GPT2_LARGE_DIR, "rb_p1", lengths, "gpt2-large", "plain"
    )
    assert (attention.n_layers, attention.n_heads) == (2, 20)
    assert attention.attrs["release_shape"] == list(GPT2_SHAPE)
    assert _check(checks, "n_heads", "all")["detail"].endswith("float32")
    for a, article in enumerate(lengths):
        for s, n in enumerate(article):
            got = attention.sentences[a][s]
            # float32 stays float32: in float16 GPT-2 large's per-reader R^2 moved by 6e-6
            assert got.dtype == np.float32 and got.shape == (2, 20, n, n)
            expected = np.stack([o[a, s, :, :n, :n] for o in originals])
            np.testing.assert_array_equal(got, expected)
    failed = [r["check"] for r in checks if not r["passed"]]
    assert failed == []
    # rows sum to 1 (GPT-2 keeps no BOS column to drop), within float32 rounding
    assert abs(_check(checks, "row_sum_mean", "all")["value"] - 1) < 1e-6
    write_attention(tmp_path / "g.h5", attention)
    back = read_attention(tmp_path / "g.h5")
    assert back.sentences[0][0].dtype == np.float32
    np.testing.assert_array_equal(back.sentences[0][0], attention.sentences[0][0])


@needs_release
def test_project_manifest_holds_the_gpt2_and_fmri_lines_of_upstream():
    project = checksums.read_manifest(PROJECT_MANIFEST)
    upstream = checksums.read_manifest(SHARED_RELEASE / "SHA256SUMS.upstream")
    assert project == upstream
    gpt2 = [k for k in project if k.startswith(rel.GPT2_LARGE_DIR + "/")]
    assert len(gpt2) == 36
    assert rel.layers_in_manifest(project, rel.GPT2_LARGE_DIR, "rb_p1") == 36
    assert sum("/roi_activations/" in k for k in project) == 10


@needs_release
def test_real_gpt2_large_loads_and_its_findings(tmp_path, real_lengths):
    """Two real GPT-2 large layers through the same loader (findings recorded in README)."""
    manifest = checksums.read_manifest(PROJECT_MANIFEST)
    files = [rel.attention_relpath(rel.GPT2_LARGE_DIR, "rb_p1", k) for k in range(2)]
    checksums.verify_files(REAL, manifest, files)
    attention, checks = rel.load_release_attention(
        REAL, rel.GPT2_LARGE_DIR, "rb_p1", real_lengths, "gpt2-large", "plain", n_layers=2
    )
    assert (attention.n_layers, attention.n_heads) == (2, 20)
    assert attention.attrs["release_shape"] == list(GPT2_SHAPE)
    originals = [np.load(REAL / f) for f in files]
    assert originals[0].dtype == np.float32
    for a, article in enumerate(real_lengths):
        for s, n in enumerate(article):
            expected = np.stack([o[a, s, :, :n, :n] for o in originals])
            np.testing.assert_array_equal(attention.sentences[a][s], expected)
    # the GPT-2 files imply more words than the human matrices in 147 of 148 sentences
    # (1 to 7 more; 9 sentences fill all 17 rows): reported, not repaired
    mismatch = _check(checks, "length_mismatch", "all")
    assert mismatch["value"] == 147 and not mismatch["passed"]
    assert "article 0 sentence 0: 7 words in the human data, [8]" in mismatch["detail"]
    for name in ("causal_upper_nonzero", "value_outside_0_1", "zero_rows", "row_sum_above_1"):
        assert _check(checks, name, "all")["passed"], name
    assert abs(_check(checks, "row_sum_mean", "all")["value"] - 1) < 1e-6


def test_float16_layers_are_checked_exactly_as_with_astype(tmp_path):
    """The look-up-table conversion and matrix-vector row sums give the checks of astype."""
    rng = np.random.default_rng(3)
    x = np.tril(rng.random((2, 3, 4, 5, 5))).astype(np.float16)
    x[0, 0, 1, 4, 4] = 2.5  # out of range
    x[1, 2, 0, 0, 3] = 0.25  # above the diagonal
    x[1, 1, 3, 4, 0] = np.float16(6e-8)  # a subnormal
    lengths = [[5, 4, 3], [5, 2, 4]]
    grid = rel._length_grid(lengths, x.shape, tmp_path / "layer0.npy")
    idx = np.arange(5)
    row_ok = (idx < grid[..., None])[:, :, None, :]
    valid = row_ok[..., :, None] & row_ok[..., None, :]
    converted = rel._as_float32(x)
    assert np.array_equal(converted, x.astype(np.float32))
    fast = rel._layer_checks(converted, valid, row_ok, grid, tmp_path, 0, from_float16=True)
    plain = rel._layer_checks(x.astype(np.float32), valid, row_ok, grid, tmp_path, 0)
    assert fast == plain
    assert fast[0]["value_outside_0_1"][0] == 1 and fast[0]["causal_upper_nonzero"][0] == 1


# ------------------------------------------------- every job hashes the bytes it reads


def _replace_keeping_mtime(path: Path, data: bytes) -> None:
    """Overwrite ``path`` and give it back its mtime, so that no rerun is triggered by it."""
    before = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_pickle_replaced_after_verification_is_refused_where_it_is_read(fake_release):
    """L1's means replaced by L2's after the run verified them: the loader refuses them."""
    root, manifest, _ = fake_release
    files = rel.needed_files(rel.LLAMA_30B_DIR, N_LAYERS)
    checksums.verify_files(root, manifest, files)
    ours = root / rel.human_relpath("mean_saccade_num", "p1")
    theirs = root / rel.human_relpath("mean_saccade_num", "p2")
    _replace_keeping_mtime(ours, theirs.read_bytes())
    with pytest.raises(checksums.ChecksumMismatch) as err:
        rel.load_release_saccades(root, "p1", hashes=manifest)
    message = str(err.value)
    assert message.startswith(f"{ours}: SHA-256 {hashlib.sha256(theirs.read_bytes()).hexdigest()}")
    assert "(hashed as this job read it)" in message and "\n" not in message
    # without hashes (a private copy) the same call reads L2's numbers: what the check stops
    assert rel.load_release_saccades(root, "p1").measures["num"][0][0].shape == (3, 3)


def test_a_layer_or_label_replaced_after_verification_is_refused(fake_release):
    root, manifest, _ = fake_release
    _replace_keeping_mtime(_layer_path(root, 1), _layer_path(root, 2).read_bytes())
    with pytest.raises(checksums.ChecksumMismatch, match="rb_p1_layer1.npy: SHA-256"):
        _load_plain(root, hashes=manifest)
    label = root / rel.label_relpath("prev")
    _replace_keeping_mtime(label, (root / rel.label_relpath("self")).read_bytes())
    with pytest.raises(checksums.ChecksumMismatch, match="label_prev.pkl: SHA-256"):
        rel.release_label_checks(root, LENGTHS, hashes=manifest)


def test_hashed_loading_reads_the_same_numbers(fake_release):
    root, manifest, arrays = fake_release
    checked, _ = _load_plain(root, hashes=manifest)
    unchecked, _ = _load_plain(root)
    for a, article in enumerate(LENGTHS):
        for s, _n in enumerate(article):
            np.testing.assert_array_equal(checked.sentences[a][s], unchecked.sentences[a][s])
    saccades = rel.load_release_saccades(root, "p2", hashes=manifest)
    np.testing.assert_array_equal(
        saccades.measures["dur"][1][0], arrays["saccades"]["p2", "dur"][1][0]
    )


def test_a_file_the_manifest_does_not_list_is_refused_where_it_is_read(fake_release):
    root, manifest, _ = fake_release
    rel_path = rel.human_relpath("mean_saccade_num", "p1")
    partial = {k: v for k, v in manifest.items() if k != rel_path}
    with pytest.raises(checksums.ChecksumMismatch, match="not listed in the manifest"):
        rel.load_release_saccades(root, "p1", hashes=partial)


def test_the_removal_on_mismatch_takes_every_derived_output(tmp_path):
    table = tmp_path / "human_resemblance.tsv"
    table.write_text("x")
    folder = tmp_path / "human"
    folder.mkdir()
    (folder / "L1.h5").write_bytes(b"x")
    with (
        pytest.raises(checksums.ChecksumMismatch),
        checksums.remove_on_mismatch([table, folder, tmp_path / "never_made.tsv"]),
    ):
        raise checksums.ChecksumMismatch("x: changed")
    assert not table.exists() and not folder.exists()
    # any other error leaves the outputs alone
    table.write_text("x")
    with pytest.raises(ValueError), checksums.remove_on_mismatch([table]):
        raise ValueError("a bug, not a changed file")
    assert table.exists()


# ------------------------------------------------------ the pinned manifest is the authority


def test_a_configured_manifest_that_differs_from_the_pinned_one_needs_release_modified(tmp_path):
    pinned = tmp_path / "PINNED"
    pinned.write_text(f"{'0' * 64}  a.pkl\n{'2' * 64}  b.npy\n")
    edited = tmp_path / "EDITED"
    edited.write_text(f"{'1' * 64}  a.pkl\n{'2' * 64}  b.npy\n")
    with pytest.raises(ValueError) as err:
        rel.release_hashes(edited, pinned, ["a.pkl", "b.npy"])
    assert str(err.value) == (
        f"{edited}: 1 of 2 files differ from the pinned manifest {pinned}, first a.pkl "
        "(111111111111..., pinned: 000000000000...); a modified copy of the release runs only "
        "with release_modified: true (its tables then say provenance 'modified')"
    )
    assert rel.release_hashes(edited, pinned, ["a.pkl", "b.npy"], modified=True) == {
        "a.pkl": "1" * 64,
        "b.npy": "2" * 64,
    }
    # the same manifest, or a file the run does not read, is no modification
    assert rel.release_hashes(pinned, pinned, ["a.pkl"]) == {"a.pkl": "0" * 64}
    assert rel.release_hashes(edited, pinned, ["b.npy"]) == {"b.npy": "2" * 64}


def test_a_file_the_pinned_manifest_does_not_list_is_a_modification(tmp_path):
    pinned = tmp_path / "PINNED"
    pinned.write_text(f"{'0' * 64}  a.pkl\n")
    extended = tmp_path / "MORE"
    extended.write_text(f"{'0' * 64}  a.pkl\n{'3' * 64}  extra.npy\n")
    with pytest.raises(ValueError, match=r"first extra.npy \(333333333333..., pinned: no such"):
        rel.release_hashes(extended, pinned, ["a.pkl", "extra.npy"])


@needs_release
def test_the_project_manifest_is_the_pinned_one():
    root = Path(__file__).resolve().parents[2]
    assert root / rel.PINNED_MANIFEST == PROJECT_MANIFEST


def test_provenance_stamps():
    import pandas as pd

    from readalike.core.outputs import MODIFIED, provenance, table_provenance

    assert [provenance(False), provenance(True), provenance(MODIFIED)] == [
        "real",
        "SYNTHETIC",
        "modified",
    ]
    with pytest.raises(ValueError, match="unknown provenance 'fake'"):
        provenance("fake")
    tables = [pd.DataFrame({"provenance": [p]}) for p in ("real", "modified", "SYNTHETIC")]
    assert table_provenance(tables[0]) == "real"
    assert table_provenance(*tables[:2]) == "modified"
    assert table_provenance(*tables) == "SYNTHETIC"


# ------------------------------------------ which source is the odd one out of a length


def test_attention_words_and_the_odd_one_out_by_hand():
    from readalike.core.formats import AttentionSet

    # sentence 0: 3 words everywhere; sentence 1: the attention holds 4 words, L1 and L2
    # fMRI 4, the saccade matrices 2 (the release's article 2 sentence 15); sentence 2:
    # 3 words in the attention and the saccade matrices, L2's fMRI 4 (article 0 sentence
    # 20): the attention is stored at 4, its last row zero padding
    blocks = []
    for n, held in ((3, 3), (4, 4), (4, 3)):
        m = np.zeros((1, 2, n, n), dtype=np.float32)
        m[:, :, :held, :held] = np.tril(np.ones((held, held)))
        blocks.append(m)
    attention = AttentionSet(model="m", condition="plain", sentences=[blocks])
    assert rel.attention_words(attention) == [[3, 4, 3]]
    fmri = {"L1": [[3, 4, 3]], "L2": [[3, 4, 4]]}
    assert rel.longest_lengths(fmri.values()) == [[3, 4, 4]]
    rows = rel.fmri_length_checks(attention, [[3, 2, 3]], fmri)
    assert [r["check"] for r in rows] == ["fmri_length_odd_one_out"] * 2
    assert rows[0]["detail"] == (
        "article 0 sentence 1: 2 words in the saccade matrices, L1 4, L2 4 in the fMRI files, "
        "4 of 4 in the attention: the odd one out is the saccade matrices"
    )
    assert rows[1]["detail"] == (
        "article 0 sentence 2: 3 words in the saccade matrices, L1 3, L2 4 in the fMRI files, "
        "3 of 4 in the attention: the odd one out is the L2 fMRI files; for L2 the project's "
        "reader rows leave the sentence out, the authors' rows count the attention's zero "
        "padding"
    )
    assert [r["value"] for r in rows] == [4, 3] and not any(r["passed"] for r in rows)
