"""Tests of readalike.release.study_b: safe unpacking, tables, pickle checks and release scores.

Most tests build a miniature release in a temporary folder with the upstream layout; the
one marked ``release`` unpacks the real shared tarball (skipped when it is absent).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import pickle
import tarfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from readalike.core.formats import PromptAttribution, read_attribution, write_attribution
from readalike.core.safe_pickle import UnsafePickleError
from readalike.release import study_b as rb
from readalike.study_b.instruction_focus import (
    ATTRIBUTION_SCORE_COLUMNS,
    attribution_scores_table,
    following_comparison,
    instruction_focus_table,
)

W = "\u2581"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "release"
TARBALL = SHARED / "interpret_instruction_tuning.tar.xz"
SUMS = SHARED / "SHA256SUMS.interpret_instruction_tuning"

# "Say hi. Be brief!\n\nOutput:" as LLaMA pieces
PROMPT = "Say hi. Be brief!/n/nOutput:"
PIECES = [f"{W}Say", f"{W}hi", ".", f"{W}Be", f"{W}brief", "!", "<0x0A>", "<0x0A>", "Output", ":"]
# Heat-map levels as released; after b = 7 only rows 0 ([10, 0]), 3 ([10, 10]) and 4 ([8, 0])
# survive: densities 1, 2^(3/4), 1 -> normalised 2^(-3/4), 1, 2^(-3/4)
EXPLAIN = np.zeros((10, 2), dtype=np.float32)
EXPLAIN[0] = [10, 0]
EXPLAIN[1] = [5, 7]
EXPLAIN[3] = [10, 10]
EXPLAIN[4] = [8, 0]
EXPLAIN[9] = [3, 6]
# instruction "Be brief!" = tokens 3, 4, 5: (1 + 2^(-3/4) + 0) / log2(2 + 3)
SCORE = (1 + 2 ** (-3 / 4)) / math.log2(5)


def _record(prompt_id: str, explain=EXPLAIN, inputs=PIECES, outputs=("▁Hi", "!")) -> dict:
    return {
        "ID": prompt_id,
        "Input": list(inputs),
        "Output": list(outputs),
        "Reference": "Hi!",
        "Explain": explain,
    }


def _write_pickle(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=4))
    return path


def _write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header)] + ["\t".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


PROMPT_HEADER = ["ID", "Prompt", "Response", "Instruct&Context"]
ANNOT_HEADER = ["File", "Model", "Prompt", "Reference", "Instruct", "Response", "Rating"]


@pytest.fixture
def mini_release(tmp_path) -> Path:
    """Three prompts; LLaMA has a shape mismatch on one, Vicuna lacks one pickle."""
    root = tmp_path / rb.RELEASE_ROOT
    ids = ["user_oriented_task_0", "lima_author_1", "mtbench_writing_81"]
    _write_tsv(
        root / rb.PROMPTS_FILE,
        PROMPT_HEADER,
        [[i, PROMPT, "Hi!", "brief|||Output: &&&"] for i in ids],
    )
    _write_tsv(
        root / rb.ANNOTATIONS_FILE,
        ANNOT_HEADER,
        [[f"{i}.pkl", "vicuna_7B", PROMPT, "Hi!", "Be brief!", "Hi!", "2"] for i in ids],
    )
    llama = root / rb.MODEL_DIRS["llama_7b"]
    vicuna = root / rb.MODEL_DIRS["vicuna_7b"]
    _write_pickle(llama / f"{ids[0]}.pkl", _record(ids[0]))
    _write_pickle(llama / f"{ids[1]}.pkl", _record(ids[1]))
    _write_pickle(llama / f"{ids[2]}.pkl", _record(ids[2], explain=EXPLAIN[:9]))
    _write_pickle(vicuna / f"{ids[0]}.pkl", _record(ids[0]))
    _write_pickle(vicuna / f"{ids[1]}.pkl", _record(ids[1], explain=EXPLAIN * 0.5))
    return root


# --------------------------------------------------------------------------- unpacking


def _tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:xz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return path


def _manifest(path: Path, files: dict[str, bytes]) -> Path:
    lines = [f"{hashlib.sha256(d).hexdigest()}  {name}" for name, d in files.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


FILES = {
    rb.PROMPTS_FILE: b"ID\tPrompt\tResponse\tInstruct&Context\n",
    f"{rb.MODEL_DIRS['llama_7b']}/lima_author_1.pkl": b"one",
    f"{rb.MODEL_DIRS['llama_7b']}/lima_author_2.pkl": b"two",
}


def _release_tar(path: Path, files: dict[str, bytes]) -> Path:
    return _tar(path, {f"{rb.RELEASE_ROOT}/{name}": data for name, data in files.items()})


def test_unpack_release_verified(tmp_path):
    tar = _release_tar(tmp_path / "r.tar.xz", FILES)
    sums = _manifest(tmp_path / "SUMS", FILES)
    root = rb.unpack_release_b(tar, tmp_path / "out", sums)
    assert root == tmp_path / "out" / rb.RELEASE_ROOT
    assert (root / rb.PROMPTS_FILE).read_bytes() == FILES[rb.PROMPTS_FILE]
    recorded = (tmp_path / "out" / rb.ARCHIVE_SHA256_FILE).read_text().strip()
    assert recorded == hashlib.sha256(tar.read_bytes()).hexdigest()
    assert rb.unpacked_release(tmp_path / "out", tar) == root


def test_unpack_replaces_an_old_copy(tmp_path):
    """A changed archive unpacked again never leaves files of the old one behind."""
    sums = _manifest(tmp_path / "SUMS", FILES)
    old = _release_tar(tmp_path / "old.tar.xz", {**FILES, "stale.txt": b"old"})
    _manifest(tmp_path / "SUMS_OLD", {**FILES, "stale.txt": b"old"})
    rb.unpack_release_b(old, tmp_path / "out", tmp_path / "SUMS_OLD")
    new = _release_tar(tmp_path / "new.tar.xz", FILES)
    root = rb.unpack_release_b(new, tmp_path / "out", sums)
    assert not (root / "stale.txt").exists()
    assert rb.unpacked_release(tmp_path / "out", new) == root


def test_unpacked_release_from_another_archive_is_refused(tmp_path):
    sums = _manifest(tmp_path / "SUMS", FILES)
    tar = _release_tar(tmp_path / "r.tar.xz", FILES)
    rb.unpack_release_b(tar, tmp_path / "out", sums)
    other = _release_tar(tmp_path / "other.tar.xz", {**FILES, rb.PROMPTS_FILE: b"changed"})
    with pytest.raises(ValueError, match="unpacked from an archive with SHA-256 .*unpack it again"):
        rb.unpacked_release(tmp_path / "out", other)
    with pytest.raises(ValueError, match="SHA-256 None"):
        rb.unpacked_release(tmp_path / "missing", tar)


@pytest.mark.parametrize(
    ("files", "match"),
    [
        pytest.param(
            {rb.PROMPTS_FILE: FILES[rb.PROMPTS_FILE]},
            r"r\.tar\.xz: 2 of 3 files missing or altered, first: results/attribution_interpret/"
            r"ifa_llama_7b/lima_author_1\.pkl \(missing\), results/attribution_interpret/"
            r"ifa_llama_7b/lima_author_2\.pkl \(missing\)$",
            id="files-removed",
        ),
        pytest.param(
            {**FILES, rb.PROMPTS_FILE: b"altered"},
            r": 1 of 3 files missing or altered, first: datasets/FinalDataset\.tsv \(altered\)$",
            id="file-altered",
        ),
        pytest.param(
            {**FILES, "datasets/extra.tsv": b"x"},
            rf"1 archive files not in the manifest .*SUMS, first: {rb.RELEASE_ROOT}/datasets/extra",
            id="file-added",
        ),
    ],
)
def test_unpack_refuses_an_archive_that_differs_from_its_manifest(tmp_path, files, match):
    """Issue 9: an archive with files removed ran to exit 0 with other numbers."""
    tar = _release_tar(tmp_path / "r.tar.xz", files)
    sums = _manifest(tmp_path / "SUMS", FILES)
    with pytest.raises(ValueError, match=match) as err:
        rb.unpack_release_b(tar, tmp_path / "out", sums)
    assert "\n" not in str(err.value)
    # a refused archive leaves no folder, empty or not, and no temporary folder
    assert sorted(os.listdir(tmp_path)) == ["SUMS", "r.tar.xz"]


@pytest.mark.parametrize(
    ("members", "links", "match"),
    [
        pytest.param({"/etc/evil": b"x"}, None, "leaves the destination", id="absolute"),
        pytest.param({f"{rb.RELEASE_ROOT}/../evil": b"x"}, None, "leaves", id="dotdot"),
        pytest.param({}, {f"{rb.RELEASE_ROOT}/link": "/etc/passwd"}, "links", id="symlink"),
    ],
)
def test_unpack_refuses_unsafe_members(tmp_path, members, links, match):
    tar = _tar(tmp_path / "r.tar.xz", {f"{rb.RELEASE_ROOT}/ok": b"1", **members}, links)
    sums = _manifest(tmp_path / "SUMS", {"ok": b"1"})
    with pytest.raises(ValueError, match=match):
        rb.unpack_release_b(tar, tmp_path / "out", sums)
    assert sorted(os.listdir(tmp_path)) == ["SUMS", "r.tar.xz"]


def _bomb(path: Path, size: int, name: str = "datasets/zeros.bin", twice: bool = False) -> Path:
    """An archive of ``size`` zero bytes in one listed file: it packs to a few kB."""
    with tarfile.open(path, "w:xz", preset=0) as tar:
        for _ in range(2 if twice else 1):
            info = tarfile.TarInfo(f"{rb.RELEASE_ROOT}/{name}")
            info.size = size
            tar.addfile(info, io.BytesIO(bytes(size)))
    return path


@pytest.mark.parametrize(
    ("size", "twice", "limits", "match"),
    [
        pytest.param(
            16 * 2**20,
            False,
            {},
            r"refused before extracting: its 1 files would unpack to 16,777,216 bytes, [\d,]+ "
            r"times the archive's [\d,]+ \(at most 50\)$",
            id="bomb",
        ),
        pytest.param(
            5000,
            False,
            {"MAX_MEMBER_BYTES": 4096},
            r"member Interpret_Instruction_Tuning_LLMs/datasets/zeros\.bin would unpack to 5,000 "
            r"bytes, more than any release file may \(4,096\)$",
            id="member-too-large",
        ),
        pytest.param(10, True, {}, "files listed twice in the archive", id="member-twice"),
    ],
)
def test_unpack_refuses_sizes_beyond_the_bounds_before_writing_a_byte(
    tmp_path, size, twice, limits, match
):
    """A 0.5 MB archive unpacked 2 GB before the checksums refused it: the sizes in the tar
    headers are checked first (the manifest pins hashes, not sizes)."""
    tar = _bomb(tmp_path / "r.tar.xz", size, twice=twice)
    sums = _manifest(tmp_path / "SUMS", {"datasets/zeros.bin": bytes(size)})
    with (
        mock.patch.multiple(rb, **{"MAX_MEMBER_BYTES": rb.MAX_MEMBER_BYTES, **limits}),
        mock.patch.object(tarfile.TarFile, "extractall", side_effect=AssertionError("extracted")),
        pytest.raises(ValueError, match=match) as err,
    ):
        rb.unpack_release_b(tar, tmp_path / "out", sums)
    assert str(err.value).startswith(f"{tar}: refused")
    assert sorted(os.listdir(tmp_path)) == ["SUMS", "r.tar.xz"]


def test_the_bounds_admit_the_pinned_archive():
    """The pinned archive: largest file 2.6 MB, 66.7 MB unpacked from 5.7 MB (11.6x)."""
    if not TARBALL.is_file():
        pytest.skip("shared release tarball not present")
    with tarfile.open(TARBALL) as tar:
        sizes = [m.size for m in tar.getmembers() if m.isfile()]
    assert max(sizes) < rb.MAX_MEMBER_BYTES / 16
    assert sum(sizes) < rb.MAX_EXPANSION / 4 * TARBALL.stat().st_size


# --------------------------------------------------------------------------- tables


def test_read_prompts(tmp_path):
    path = _write_tsv(
        tmp_path / "p.tsv",
        PROMPT_HEADER,
        [
            ["lima_author_3", "Write a poem./nAbout cats.", "ref/nx", "Write a poem.|||cats&&&ctx"],
            ["mtbench_roleplay_9", "Act as a chef.", "r", "Act as a chef."],
        ],
    )
    table = rb.read_prompts(path)
    assert table["prompt_id"].tolist() == ["lima_author_3", "mtbench_roleplay_9"]
    assert table["source"].tolist() == ["LIMA", "MT-Bench"]
    assert table["prompt"].iloc[0] == "Write a poem.\nAbout cats."
    assert table["reference"].iloc[0] == "ref\nx"
    assert table["fragments"].iloc[0] == ["Write a poem.", "cats"]
    assert table["context"].tolist() == ["ctx", ""]


@pytest.mark.parametrize(
    ("row", "match"),
    [
        pytest.param(["lima_author_3", "Hi.", "r"], "line 2 \\(ID 'lima_author_3'\\)", id="fields"),
        pytest.param(["alpaca_3", "Hi.", "r", "Hi."], "alpaca_3: unknown prompt source", id="src"),
        pytest.param(
            ["lima_author_4", "Hi.", "r", "Bye."], "lima_author_4: fragment 'Bye.'", id="fragment"
        ),
        pytest.param(["lima_author_5", "Hi.", "r", "&&&Hi."], "lima_author_5: no instr", id="none"),
    ],
)
def test_read_prompts_errors_name_file_and_id(tmp_path, row, match):
    path = _write_tsv(tmp_path / "bad.tsv", PROMPT_HEADER, [row])
    with pytest.raises(ValueError, match=match) as err:
        rb.read_prompts(path)
    assert str(path) in str(err.value)


def test_read_annotations(tmp_path):
    rows = [
        ["lima_author_1.pkl", "vicuna_7B", "p", "r", "i", "resp/nmore", "1"],
        ["lima_author_2.pkl", "vicuna_7B", "p", "r", "i", "resp", "3"],
        ["lima_author_1.pkl", "alpaca_7B", "p", "r", "i", "resp", "-1"],
        ["mtbench_x_1.pkl", "vicuna_7B", "p", "r", "i", "resp", "0"],
    ]
    table = rb.read_annotations(_write_tsv(tmp_path / "a.tsv", ANNOT_HEADER, rows))
    assert table["prompt_id"].tolist() == ["lima_author_1", "lima_author_2"]
    assert table["model"].tolist() == ["vicuna_7b", "vicuna_7b"]
    assert table["rating"].tolist() == [1, 3]
    assert table["followed"].tolist() == [False, True]
    assert table["response"].iloc[0] == "resp\nmore"


def test_read_annotations_rejects_duplicates(tmp_path):
    row = ["lima_author_1.pkl", "vicuna_7B", "p", "r", "i", "resp", "1"]
    with pytest.raises(ValueError, match="lima_author_1 is rated twice for vicuna_7b"):
        rb.read_annotations(_write_tsv(tmp_path / "a.tsv", ANNOT_HEADER, [row, row]))


# --------------------------------------------------------------------------- pickles


def test_load_attribution_pickle(tmp_path):
    path = _write_pickle(tmp_path / "lima_author_1.pkl", _record("lima_author_1"))
    record = rb.load_attribution_pickle(path)
    assert record.prompt_id == "lima_author_1"
    assert record.input_tokens == PIECES and record.output_tokens == ["▁Hi", "!"]
    assert record.explain.dtype == np.float32 and record.explain.shape == (10, 2)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo owned",))


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param(_Exploit(), id="os-system"),
        pytest.param({**_record("lima_author_1"), "Reference": pd.Timestamp(0)}, id="timestamp"),
        pytest.param(np.array([object()], dtype=object), id="object-array"),
    ],
)
def test_pickle_with_other_objects_is_refused(tmp_path, obj):
    path = tmp_path / "lima_author_1.pkl"
    try:
        path.write_bytes(pickle.dumps(obj, protocol=4))
    except (pickle.PicklingError, AttributeError, TypeError):
        pytest.skip("object cannot be pickled here")
    with pytest.raises(UnsafePickleError, match="lima_author_1.pkl"):
        rb.load_attribution_pickle(path)


@pytest.mark.parametrize(
    ("obj", "kind", "match"),
    [
        pytest.param([1, 2], "not_a_dict", "holds a list", id="list"),
        pytest.param({"ID": "lima_author_1"}, "bad_keys", "keys", id="keys"),
        pytest.param(_record("lima_author_2"), "id_mismatch", "differs from the file", id="id"),
        pytest.param(
            _record("lima_author_1", explain=EXPLAIN[:9]),
            "shape_mismatch",
            r"Explain shape \(9, 2\) != \(len\(Input\), len\(Output\)\) = \(10, 2\)",
            id="shape",
        ),
        pytest.param(
            _record("lima_author_1", explain=EXPLAIN.T),
            "shape_mismatch",
            r"\(2, 10\)",
            id="transposed",
        ),
        pytest.param(
            _record("lima_author_1", explain=np.array([]), outputs=()),
            "empty_output",
            "empty response",
            id="empty",
        ),
        pytest.param(
            _record("lima_author_1", explain=np.where(EXPLAIN == 5, np.nan, EXPLAIN)),
            "not_finite",
            "1 NaN",
            id="nan",
        ),
        pytest.param(
            _record("lima_author_1", explain=EXPLAIN.astype(str)), "bad_explain", "real", id="str"
        ),
    ],
)
def test_pickle_validation_faults(tmp_path, obj, kind, match):
    path = _write_pickle(tmp_path / "lima_author_1.pkl", obj)
    with pytest.raises(rb.ReleaseFault, match=match) as err:
        rb.load_attribution_pickle(path)
    assert err.value.kind == kind
    assert str(path) in str(err.value)


def test_record_faults(tmp_path):
    explain = EXPLAIN.copy()
    explain[:, 1] = 0  # a column no prompt token supports
    explain[0, 0] = 9.0  # peak 10 remains in row 3
    record = rb.AttributionRecord("p", PIECES, ["a", "b"], "", explain)
    kinds = [k for k, _ in rb.record_faults(record, "Say hi. Be brief!\n\nOutput:")]
    assert kinds == ["zero_columns"]
    record = rb.AttributionRecord("p", PIECES, ["a", "b"], "", EXPLAIN * 0.5)
    kinds = [k for k, _ in rb.record_faults(record, "Say hi. Be brief!\n\nOutput:")]
    assert kinds == ["columns_below_max", "not_discretised"]
    kinds = [k for k, _ in rb.record_faults(record, "Say hello. Be brief!\n\nOutput:")]
    assert kinds[-1] == "tokens_differ_from_prompt"


# --------------------------------------------------------------------------- scores


def _convert(release_dir: Path, model: str):
    prompts = rb.read_prompts(release_dir / rb.PROMPTS_FILE)
    return rb.convert_release_model(release_dir, model, prompts)


def test_converted_release_scored_by_hand(mini_release, tmp_path):
    records, faults = _convert(mini_release, "llama_7b")
    assert [r.prompt_id for r in records] == ["user_oriented_task_0", "lima_author_1"]
    # converted once into the project's format, then scored as every other source
    write_attribution(tmp_path / "llama.h5", records)
    scores = attribution_scores_table(read_attribution(tmp_path / "llama.h5"), "llama_7b")
    assert scores.columns.tolist() == ATTRIBUTION_SCORE_COLUMNS
    assert scores["source"].tolist() == ["Self-Instruct", "LIMA"]
    np.testing.assert_allclose(scores["score"], [SCORE, SCORE], rtol=1e-12)
    assert scores["n_instruction_tokens"].tolist() == [3, 3]
    assert scores["n_response_tokens"].tolist() == [2, 2]
    assert records[0].response_text == " Hi!"
    fatal = faults[faults["fatal"]]
    assert fatal[["prompt_id", "kind"]].values.tolist() == [
        ["mtbench_writing_81", "shape_mismatch"]
    ]

    vicuna, faults = _convert(mini_release, "vicuna_7b")
    assert faults.loc[faults["fatal"], "kind"].tolist() == ["missing_pickle"]
    # EXPLAIN / 2 peaks at 5 per column: re-normalised to 10, so the same levels and score
    assert set(faults.loc[~faults["fatal"], "kind"]) == {"columns_below_max", "not_discretised"}
    scores = attribution_scores_table(vicuna, "vicuna_7b")
    np.testing.assert_allclose(scores["score"], [SCORE, SCORE], rtol=1e-12)


def test_conversion_reports_unlocated_instruction(mini_release):
    path = mini_release / rb.MODEL_DIRS["llama_7b"] / "lima_author_1.pkl"
    inputs = [f"{W}Say", f"{W}hi", ".", f"{W}Be", f"{W}bri", "!", "<0x0A>", "<0x0A>", "Output", ":"]
    _write_pickle(path, _record("lima_author_1", inputs=inputs))
    _, faults = _convert(mini_release, "llama_7b")
    row = faults[faults["kind"] == "not_located"]
    assert row["prompt_id"].tolist() == ["lima_author_1"]
    assert "lima_author_1: instruction sentence 'Be brief!'" in row["detail"].iloc[0]


def _agreement_record(prompt_id: str, n_prompt: int, n_instruction: int) -> PromptAttribution:
    mask = np.zeros(n_prompt, dtype=bool)
    mask[:n_instruction] = True
    return PromptAttribution(
        model="m",
        prompt_id=prompt_id,
        source="LIMA",
        prompt_text="p",
        response_text="r",
        prompt_tokens=["a"] * n_prompt,
        response_tokens=["b"],
        importance=np.ones((n_prompt, 1), np.float32),
        instruction_mask=mask,
    )


def test_model_agreement_faults():
    records = {
        "llama_7b": [
            _agreement_record("lima_author_1", 5, 2),
            _agreement_record("mtbench_x_2", 5, 1),
            _agreement_record("c", 3, 1),
        ],
        "vicuna_7b": [
            _agreement_record("lima_author_1", 5, 2),
            _agreement_record("mtbench_x_2", 6, 1),
        ],
    }
    faults = rb.model_agreement_faults(records)
    assert faults["prompt_id"].tolist() == ["mtbench_x_2"]
    assert faults["detail"].iloc[0] == ("n_prompt_tokens differ: {'llama_7b': 5, 'vicuna_7b': 6}")
    assert not faults["fatal"].any()


# --------------------------------------------------------------------------- the real release


@pytest.mark.release
@pytest.mark.skipif(not TARBALL.is_file(), reason="shared release tarball not present")
def test_real_release(tmp_path):
    rb.unpack_release_b(TARBALL, tmp_path / "release", SUMS)
    root = rb.unpacked_release(tmp_path / "release", TARBALL)
    records, faults = rb.convert_release(root)
    scores = pd.concat(
        [attribution_scores_table(r, model) for model, r in records.items()], ignore_index=True
    )
    counts = scores.groupby("model").size().to_dict()
    assert counts == {"llama_7b": 631, "vicuna_7b": 632}
    fatal = faults[faults["fatal"]]
    assert fatal[["model", "prompt_id", "kind"]].values.tolist() == [
        ["llama_7b", "user_oriented_task_93", "empty_output"]
    ]
    kinds = set(faults["kind"])
    assert "not_located" not in kinds and "models_disagree" not in kinds
    focus = instruction_focus_table(scores, [rb.MODEL_PAIR]).set_index("source")
    assert (focus["mean_tuned"] > focus["mean_base"]).all()
    assert focus.loc["All", "p_one_sided"] < 1e-10
    annotations = rb.read_annotations(root / rb.ANNOTATIONS_FILE)
    following = following_comparison(scores, annotations, rb.RATED_MODEL).set_index("source")
    assert following.loc["All", "n_unfollowed"] + following.loc["All", "n_followed"] == 616
