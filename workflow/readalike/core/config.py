"""Checking a workflow configuration before any job runs.

The JSON schema (``readalike/schemas/config.schema.yaml``, package data, linked from
``workflow/schemas/``) fixes the keys and types; this
module turns its first violation into one line naming the key, and adds the checks a schema
cannot express: files that must exist, model names used once, comparisons that name known
models. Everything here runs when Snakemake parses the workflow, so a bad config fails
before the first job.
"""

from __future__ import annotations

import copy
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from readalike.core.checksums import is_archive

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"

#: Defaults that depend on another value of the same entry, so that the schema (whose
#: ``default`` keywords hold every other default) cannot state them: a model's dtype follows
#: its size, and a zoo model's training settings follow whether it is trained from scratch
#: or instruction-tuned from another zoo model (``tune_from``).
MODEL_DEFAULTS: dict[str, Any] = {
    "dtype_small": "float32",  # under SMALL_MODEL_B billion parameters (CPU, demo zoo)
    "dtype_large": "bfloat16",
    "zoo_train": {"lr": 3e-3, "batch_size": 8, "max_len": 128, "architecture": "llama"},
    "zoo_tune": {"lr": 1e-3, "batch_size": 8, "max_len": 256},
}
#: Models under this many billion parameters run on a CPU in float32.
SMALL_MODEL_B = 0.5

#: Architecture keys of a zoo model trained from scratch (a tuned one inherits its base's).
ZOO_ARCHITECTURE = ("hidden_size", "n_layers", "n_heads", "intermediate_size")

#: The one rule for names that become file or folder names (run, model, group, condition),
#: the schema's ``$defs/plain_name``: '.' and '..' name a folder itself or its parent.
PLAIN_NAME = "^(?!\\.+$)[A-Za-z0-9_.-]+$"

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ConfigError(ValueError):
    """A configuration problem; the message names the key."""


def _key_path(path) -> str:
    out = "config"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def _check_finite(value: Any, path: tuple = ()) -> None:
    """Refuse NaN and infinity anywhere: every comparison with NaN is false, so NaN passes
    each bound of the schema (``minimum``, ``exclusiveMaximum``) and then flips a verdict
    or fails far from the key."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{_key_path(path)}: must be a finite number, got {value}")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_finite(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite(item, (*path, i))


#: JSON Schema's ``integer`` takes 1000.0, which then fails as an array size or a range
#: far from the key: here an integer is an int (YAML ``1.0e9`` is a float, ``1e9`` a string).
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


def validate_schema(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` with one line for the first schema violation."""
    _check_finite(config)
    validator = _Validator(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.path), list(e.path)))
    if not errors:
        return
    err = errors[0]
    where = _key_path(err.path)
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        raise ConfigError(f"{where}: unknown key {', '.join(map(repr, extra))}")
    if err.validator == "required":
        raise ConfigError(f"{where}: {err.message}")
    if err.validator == "pattern" and err.validator_value == PLAIN_NAME:
        # a run, model, group or condition name becomes a file or folder name: '..' or a
        # slash would write outside results/<run>/ (a propertyNames error: err.instance is
        # the offending name, err.path the mapping that holds it)
        raise ConfigError(
            f"{where}: {err.instance!r} is not a plain name (letters, digits, '-', '_', '.', "
            "not only dots); names become file and folder names under results/<run>/"
        )
    raise ConfigError(f"{where}: {err.message}")


def check_config_file(path: str | os.PathLike) -> None:
    """Refuse what YAML loaders accept silently in a config file: aliases and duplicate keys.

    Snakemake reads ``--configfile`` itself (JSON, else YAML) before the workflow's code
    runs, so ``common.smk`` hands each config file here as well, to be read once more as
    YAML nodes, which are composed but never expanded into values:

    - a key given twice in one mapping: YAML keeps the last without a word (a second
      ``run:`` further down silently renames the run);
    - an alias (``*name``, also inside ``<<: *name``): nine lines of nested aliases expand
      to a billion values, which the schema check walked for half a minute before running
      out of memory. The composed nodes share the anchored node instead, so finding an
      alias is a walk of the file's own size.

    Raises
    ------
    ConfigError
        One line naming the file and the key.
    """
    path = Path(path)
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        # gone since Snakemake read it (another working directory), or not YAML: Snakemake
        # read it as JSON or refused it already
        return
    first_seen: dict[int, str] = {}

    def walk(node: yaml.Node, key: tuple) -> None:
        if id(node) in first_seen:
            raise ConfigError(
                f"{path}: {_key_path(key)} is a YAML alias of {first_seen[id(node)]}; write the "
                "value out (aliases are refused: a few lines of them expand to billions of values)"
            )
        first_seen[id(node)] = _key_path(key)
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key_node, value in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                line = key_node.start_mark.line + 1
                if name is not None and name in lines:
                    raise ConfigError(
                        f"{path}: {_key_path((*key, name))} is given twice (lines {lines[name]} "
                        f"and {line}); YAML would keep the last without a word"
                    )
                if name is not None:
                    lines[name] = line
                walk(value, (*key, name))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*key, i))

    if root is not None:
        walk(root, ())


def _setting_defaults(validator_class):
    """A validator class that fills in each property's schema ``default`` as it validates.

    The jsonschema recipe (and what ``snakemake.utils.validate(..., set_default=True)``
    does): the default is set before the property is validated, so a section that defaults
    to ``{}`` is then filled with its own properties' defaults.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if validator.is_type(instance, "object"):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultingValidator = _setting_defaults(_Validator)


def with_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a schema-valid ``config`` with every default filled in.

    Schema defaults (``default:`` in ``config.schema.yaml``) first, then the per-model
    defaults of :data:`MODEL_DEFAULTS`. Rules and scripts read the result only, so every
    default has this one home.
    """
    out = copy.deepcopy(dict(config))
    _DefaultingValidator(load_schema()).validate(out)
    for model in out["models"]:
        small = float(model["params_b"]) < SMALL_MODEL_B
        model.setdefault("dtype", MODEL_DEFAULTS["dtype_small" if small else "dtype_large"])
        if "zoo" in model:
            kind = "zoo_tune" if "tune_from" in model["zoo"] else "zoo_train"
            for key, value in MODEL_DEFAULTS[kind].items():
                model["zoo"].setdefault(key, value)
    return out


#: The keys of a model entry that say where its weights or attention come from (one each).
MODEL_SOURCES = ("zoo", "path", "hub_id", "gguf", "release")


def model_source(model: Mapping[str, Any], where: str | None = None) -> str:
    """Where a model's attention comes from: one of :data:`MODEL_SOURCES`."""
    sources = [k for k in MODEL_SOURCES if k in model]
    if len(sources) != 1:
        where = where or f"config.models[{model.get('name')!r}]"
        raise ConfigError(
            f"{where}: give exactly one of {', '.join(MODEL_SOURCES)} (found {sources or 'none'})"
        )
    return sources[0]


def check_config(config: Mapping[str, Any], base_dir: str | os.PathLike = ".") -> dict[str, Any]:
    """Validate a configuration and return it with defaults filled in.

    Raises
    ------
    ConfigError
        One line naming the key: an unknown key, a missing file, a model path that does not
        exist, a model name used twice, a comparison or ``base`` naming an unknown model, a
        reading source without what it needs.
    """
    validate_schema(config)
    cfg = with_defaults(config)
    base = Path(base_dir)

    def must_exist(key: str, value: str, kind: str = "file") -> None:
        path = base / value
        if not (path.is_dir() if kind == "folder" else path.is_file()):
            raise ConfigError(f"{key}: {kind} {value!r} does not exist")

    names: dict[str, int] = {}
    for i, model in enumerate(cfg["models"]):
        name = model["name"]
        if name in names:
            raise ConfigError(
                f"config.models[{i}].name: {name!r} is already the name of models[{names[name]}]"
            )
        names[name] = i
        source = model_source(model, f"config.models[{i}]")
        if source == "path":
            must_exist(f"config.models[{i}].path", model["path"], "folder")
        elif source == "hub_id" and not _HUB_ID.match(model["hub_id"]):
            raise ConfigError(
                f"config.models[{i}].hub_id: {model['hub_id']!r} is not a hub id (owner/name); "
                "a local checkpoint goes under 'path'"
            )
        elif source == "zoo":
            if "zoo" not in cfg:
                raise ConfigError(f"config.models[{i}].zoo: needs a top-level 'zoo' section")
            _check_zoo_model(model["zoo"], f"config.models[{i}].zoo")
        elif source == "release":
            if "release_dir" not in cfg:
                raise ConfigError(f"config.models[{i}].release: needs 'release_dir'")
            unknown = set(model["release"]["conditions"]) - set(cfg["conditions"])
            if unknown:
                raise ConfigError(
                    f"config.models[{i}].release.conditions: {sorted(unknown)} not in "
                    "config.conditions"
                )
    for i, model in enumerate(cfg["models"]):
        for key in ("base",):
            if key in model and model[key] not in names:
                raise ConfigError(f"config.models[{i}].{key}: unknown model {model[key]!r}")
        tune_from = model.get("zoo", {}).get("tune_from")
        if tune_from is not None and tune_from not in names:
            raise ConfigError(f"config.models[{i}].zoo.tune_from: unknown model {tune_from!r}")
    for kind, pairs in cfg["comparisons"].items():
        for j, pair in enumerate(pairs):
            for name in pair:
                if name not in names:
                    raise ConfigError(f"config.comparisons.{kind}[{j}]: unknown model {name!r}")
            _check_two_models(pair, f"config.comparisons.{kind}[{j}]")

    study_b = cfg.get("study_b")
    if study_b:
        for j, pair in enumerate(study_b.get("pairs", [])):
            for name in pair:
                if name not in names:
                    raise ConfigError(f"config.study_b.pairs[{j}]: unknown model {name!r}")
                if model_source(cfg["models"][names[name]]) == "release":
                    raise ConfigError(
                        f"config.study_b.pairs[{j}]: {name!r} has only released attention; "
                        "Study B needs a checkpoint"
                    )
            _check_two_models(pair, f"config.study_b.pairs[{j}]")
        for j, name in enumerate(study_b.get("models", [])):
            if name not in names:
                raise ConfigError(f"config.study_b.models[{j}]: unknown model {name!r}")
            if model_source(cfg["models"][names[name]]) == "release":
                raise ConfigError(
                    f"config.study_b.models[{j}]: {name!r} has only released attention; "
                    "Study B needs a checkpoint"
                )
        if "prompts" in study_b and "prompts_tar" in study_b:
            raise ConfigError("config.study_b.prompts_tar: give prompts or prompts_tar, not both")
        if "prompts_tar" in study_b and "release_tar" in study_b:
            # both would write attribution_scores.tsv: the released matrices' and the models'
            raise ConfigError(
                "config.study_b.prompts_tar: not with release_tar (which scores the released "
                "matrices into the same tables); run them as two configs"
            )
        runs_models = study_b.get("pairs") or study_b.get("models")
        if runs_models and not {"prompts", "prompts_tar"} & set(study_b):
            raise ConfigError(
                "config.study_b.prompts: required with study_b.pairs or study_b.models "
                "(or prompts_tar)"
            )
        if "prompts_tar" in study_b:
            must_exist("config.study_b.release_manifest", study_b["release_manifest"])
        for key in (
            "prompts",
            "prompts_tar",
            "vocabulary",
            "glove",
            "instruction_verbs",
            "general_verbs",
            "release_tar",
        ):
            if key in study_b:
                must_exist(f"config.study_b.{key}", study_b[key])
    sources = {model_source(m) for m in cfg["models"]}
    needs_stimuli = bool(sources - {"release"}) or cfg["reading"]["source"] != "release"
    if needs_stimuli:
        if "stimuli" not in cfg:
            raise ConfigError("config.stimuli: required to extract attention or simulate readers")
        must_exist("config.stimuli", cfg["stimuli"])
    if "zoo" in cfg and "zoo" in sources:
        for j, text in enumerate(cfg["zoo"]["training_text"]):
            must_exist(f"config.zoo.training_text[{j}]", text)
        must_exist("config.zoo.instruction_pairs", cfg["zoo"]["instruction_pairs"])
    reading = cfg["reading"]
    if reading["source"] == "fixations":
        if "fixations" not in reading:
            raise ConfigError("config.reading.fixations: required when source is 'fixations'")
        must_exist("config.reading.fixations", reading["fixations"])
    for group, spec in reading["groups"].items():
        if reading["source"] == "simulated" and not {"profile", "n_readers"} <= set(spec):
            raise ConfigError(
                f"config.reading.groups.{group}: simulated readers need profile and n_readers"
            )
        if reading["source"] == "release" and "release_suffix" not in spec:
            raise ConfigError(f"config.reading.groups.{group}: needs release_suffix (p1, p2)")
    if "fmri" in reading:
        _check_fmri(reading)
    uses_release = reading["source"] == "release" or "release" in sources
    if uses_release:
        if "release_dir" not in cfg:
            raise ConfigError("config.release_dir: required for released data")
        if "release_manifest" not in cfg:
            raise ConfigError("config.release_manifest: required to check released files")
        must_exist("config.release_manifest", cfg["release_manifest"])
        if not cfg.get("release_download", False):
            must_exist("config.release_dir", cfg["release_dir"], "folder")
    if cfg.get("corpora"):
        _check_corpora(cfg["corpora"], names, base)
    return cfg


def _check_corpora(corpora: Mapping[str, Any], models: Mapping[str, int], base: Path) -> None:
    """The relative-importance section names configured models, corpora and groups, and its
    files exist (the loader verifies their contents); with ``download``, the download job
    makes ``path`` and ``reader_table``, and the manifest must exist."""
    entries: dict[str, Mapping[str, Any]] = {}
    for i, entry in enumerate(corpora["entries"]):
        where = f"config.corpora.entries[{i}]"
        if entry["name"] in entries:
            raise ConfigError(f"{where}.name: {entry['name']!r} is already a corpus")
        entries[entry["name"]] = entry
        if entry.get("download"):
            # the download job creates path and reader_table; the manifest says what to fetch
            if "manifest" not in entry:
                raise ConfigError(f"{where}.manifest: required with download (checks the files)")
            if is_archive(base / entry["path"]):
                raise ConfigError(
                    f"{where}.path: {entry['path']!r} is an archive; download needs a folder"
                )
        elif not (base / entry["path"]).exists():
            raise ConfigError(f"{where}.path: {entry['path']!r} does not exist")
        for key in ("manifest", "sums", "reader_table"):
            if key == "reader_table" and entry.get("download"):
                continue
            if key in entry and not (base / entry[key]).is_file():
                raise ConfigError(f"{where}.{key}: file {entry[key]!r} does not exist")
        if (base / entry["path"]).is_file() and "manifest" not in entry:
            raise ConfigError(f"{where}.manifest: required for an archive path")
    for model, names in corpora["models"].items():
        if model not in models:
            raise ConfigError(f"config.corpora.models: unknown model {model!r}")
        unknown = [n for n in names if n not in entries]
        if unknown:
            raise ConfigError(f"config.corpora.models.{model}: unknown corpora {unknown}")
    shards = corpora.get("shards", 1)
    if isinstance(shards, Mapping):
        unknown = [n for n in shards if n not in entries]
        if unknown:
            raise ConfigError(f"config.corpora.shards: unknown corpora {unknown}")
    for j, pair in enumerate(corpora["group_comparisons"]):
        where = f"config.corpora.group_comparisons[{j}]"
        if pair["corpus"] not in entries:
            raise ConfigError(f"{where}.corpus: unknown corpus {pair['corpus']!r}")
        groups = entries[pair["corpus"]].get("groups") or {"all": {}}
        missing = [g for g in pair["groups"] if g not in groups]
        if missing or pair["groups"][0] == pair["groups"][1]:
            raise ConfigError(f"{where}.groups: {pair['groups']} are not two groups of the corpus")


def _check_two_models(pair: list[str], where: str) -> None:
    # a model against itself gives JS 0 and p = 1 rows that read like a finding
    if pair[0] == pair[1]:
        raise ConfigError(
            f"{where}: compares {pair[0]!r} with itself; a comparison needs two different models"
        )


def _check_fmri(reading: Mapping[str, Any]) -> None:
    """The fMRI exclusions name a configured group and region: the jobs exclude per group and
    region, so a typo (``l1``, ``L9``) would exclude no one and analyse the reader."""
    fmri = reading["fmri"]
    if reading["source"] != "release":
        raise ConfigError(
            "config.reading.fmri: only with reading.source 'release' (the fMRI comes with the "
            f"released data), not {reading['source']!r}"
        )
    groups = list(reading["groups"])
    for i, entry in enumerate(fmri["exclude_readers"]):
        where = f"config.reading.fmri.exclude_readers[{i}]"
        group = entry["group"]
        if group not in groups:
            raise ConfigError(
                f"{where}.group: unknown group {group!r}; reading.groups: {', '.join(groups)}"
            )
        region = entry.get("region")
        if region is not None and region not in fmri["regions"]:
            raise ConfigError(
                f"{where}.region: {region!r} is not in reading.fmri.regions "
                f"({', '.join(fmri['regions'])}); the entry would exclude no one"
            )
        reader = entry["reader"]
        # the index's upper end is only known from the release's files (checked there)
        if isinstance(reader, str) and not re.fullmatch(rf"{re.escape(group)}-[0-9]+", reader):
            raise ConfigError(
                f"{where}.reader: reader id {reader!r} is not of the form {group}-NN "
                f"(a reader of group {group}) nor a 0-based index"
            )


def _check_zoo_model(spec: Mapping[str, Any], where: str) -> None:
    """A zoo model is trained from scratch (architecture given) or tuned (``tune_from``)."""
    given = [k for k in (*ZOO_ARCHITECTURE, "architecture") if k in spec]
    if "tune_from" in spec:
        if given:
            raise ConfigError(
                f"{where}: {', '.join(given)} not used with tune_from (the base's architecture)"
            )
        needed = ["steps"]
    else:
        needed = [*ZOO_ARCHITECTURE, "steps"]
    missing = [k for k in needed if k not in spec]
    if missing:
        raise ConfigError(f"{where}: needs {', '.join(missing)}")


#: GPU memory (GB) a job may plan on per 80 GB A100/H100: transformers' ``device_map="auto"``
#: leaves 10 % of each GPU free (72 GB), less the CUDA context, the largest layer's buffer
#: and allocator fragmentation. Planning on 70 GB put a 13B float32 gradient job (68 GB
#: estimated) on one GPU with 2 GB to spare.
GPU_BUDGET_GB = 64


def _job_size(
    model: Mapping[str, Any],
    weights_gb: float,
    overhead: float,
    runtime: int,
    *,
    gpu_job: bool = True,
    force_gpu: bool = False,
) -> dict[str, int]:
    """GPU count, host memory (MB) and runtime (min) of one job that loads one model.

    ``weights_gb * (1 + overhead)`` is what the job holds; on a GPU that sets the GPU count
    (:data:`GPU_BUDGET_GB` each), and the host needs the same plus 4 GB for the interpreter,
    torch and the tokenizer while the checkpoint is read. Models under
    :data:`SMALL_MODEL_B` run on a CPU (0 GPUs) unless ``force_gpu``. The model's own
    ``gpus`` / ``mem_mb`` / ``runtime`` keys win over every estimate.
    """
    held_gb = weights_gb * (1 + overhead)
    gpus = 0
    if gpu_job:
        small = float(model["params_b"]) < SMALL_MODEL_B
        gpus = 0 if small else max(1, math.ceil(held_gb / GPU_BUDGET_GB))
        if force_gpu:
            gpus = max(gpus, 1)
        gpus = model.get("gpus", gpus)
    mem_mb = model.get("mem_mb", max(2000, int(held_gb * 1024 + 4000)))
    sized = {"mem_mb": int(mem_mb), "runtime": int(model.get("runtime", runtime))}
    return {"gpus": int(gpus), **sized} if gpu_job else sized


def gradient_resources(model: Mapping[str, Any], *, force_gpu: bool = False) -> dict[str, int]:
    """GPU count, memory (MB) and runtime (min) of a model's Study B gradient job.

    Gradients with respect to the input embeddings are taken in float32 (bf16 gradients
    changed a quarter of the discretised importance levels on test models): 4 GB of weights
    per billion parameters plus 30 % for the graph kept for the backward pass and the
    batched cotangents (:mod:`readalike.study_b.attribution`), against :data:`GPU_BUDGET_GB` per
    GPU: a 7B model (36 GB) needs one 80 GB GPU (the paper used two 48 GB GPUs), a 13B
    model (68 GB) two, 30B three, 65B six, with ``device: auto`` spreading layers over
    them. Runtime: 30 min plus 10 min per billion parameters (632 prompts of up to 300
    generated tokens, one backward per 16 response tokens); an estimate, not measured.

    Parameters
    ----------
    model
        One ``models`` entry of a checked config (``params_b``; optional ``gpus``,
        ``mem_mb``, ``runtime``, which win).
    force_gpu
        Request at least one GPU even for a model under :data:`SMALL_MODEL_B` (the
        config's ``resources.force_gpu``, so that a demo run exercises a GPU request).

    Returns
    -------
    dict
        ``gpus`` (count), ``mem_mb`` (host memory, MB), ``runtime`` (minutes).
    """
    params_b = float(model["params_b"])
    runtime = int(max(10, 30 + 10 * params_b))
    return _job_size(model, params_b * 4, 0.3, runtime, force_gpu=force_gpu)


def analysis_resources(model: Mapping[str, Any]) -> dict[str, int]:
    """Memory (MB) and runtime (min) of a model's Study B weight analyses on a CPU.

    The ``weight_analyses`` job (FFN concepts, then head pairs) reads the weights it needs
    straight from the
    checkpoint's safetensors shards, one tensor at a time
    (:func:`readalike.models.architectures.open_checkpoint`), never the whole model. They hold a
    few copies of one layer's largest matrices (three copies of a layer, at most 1/32 of
    the weights from 7B up) and the embedding matrices with the vocabulary's projection
    (taken as 1/16 of the weights): ``4 GB * params_b * (3/32 + 1/16)`` in float32, plus
    10 % and 4 GB for the interpreter and the tokenizer. Runtime: reading the float32
    weights (about 10 s per billion parameters from a parallel file system), one PCA per
    layer and the word pairs of every head: 20 min plus 5 min per billion parameters (3
    for the PCA, 2 for the pairs: ``bench_internals.py`` times one 7B-shaped layer at
    11 s and 18-35 s), an estimate from those benchmarks, not from a real run. No GPU:
    the profile runs them in ``cpu``. A ``gguf`` checkpoint has no tensor that can be read
    alone in float32: it is dequantised whole (:mod:`readalike.models.gguf`), so the job
    holds the float32 model, and about as much again while the file is parsed (SmolLM2-135M:
    a peak of 1.2 GB with the interpreter, for 0.5 GB of weights).

    Returns
    -------
    dict
        ``mem_mb`` (host memory, MB), ``runtime`` (minutes); the model's own ``mem_mb``
        and ``runtime`` keys win.
    """
    params_b = float(model["params_b"])
    runtime = int(max(10, 20 + 5 * params_b))
    if "gguf" in model:
        return _job_size(model, params_b * 4, 1.0, runtime, gpu_job=False)
    return _job_size(model, params_b * 4 * (3 / 32 + 1 / 16), 0.1, runtime, gpu_job=False)


def is_synthetic(cfg: Mapping[str, Any]) -> bool:
    """Whether a run rests on made-up data, so that every output says SYNTHETIC.

    The rule: a run is synthetic if any model or the reading source is. A model is
    synthetic when it is a demo zoo model (always) or its entry says ``synthetic: true``
    (a toy or random checkpoint given by ``path`` or ``hub_id``); the reading source is
    when it is ``simulated`` (always) or ``reading.synthetic`` is true (generated
    fixations given as a CSV). Released data are real unless a key says otherwise.
    """
    reading = cfg["reading"]
    if reading["source"] == "simulated" or reading.get("synthetic", False):
        return True
    return any("zoo" in m or m.get("synthetic", False) for m in cfg["models"])


def study_b_synthetic(cfg: Mapping[str, Any]) -> bool:
    """Whether Study B's model tables rest on made-up models (they read no human data).

    Study B asks what happens inside models, so its tables are SYNTHETIC exactly when one
    of its models is (a demo zoo model, or ``synthetic: true``), whatever the readers of
    Study A are: real checkpoints answering prompts are real outputs next to simulated
    readers.
    """
    study_b = cfg.get("study_b") or {}
    names = {m for pair in study_b.get("pairs", []) for m in pair} | set(study_b.get("models", []))
    return any("zoo" in m or m.get("synthetic", False) for m in cfg["models"] if m["name"] in names)


def extraction_resources(model: Mapping[str, Any], *, force_gpu: bool = False) -> dict[str, int]:
    """GPU count, memory (MB) and runtime (min) of a model's extraction job.

    Sized from the parameter count unless the config gives them: weights in 16-bit take
    2 GB per billion parameters (4 in float32, the default under :data:`SMALL_MODEL_B`);
    activations and eager attention of 148 short sentences add about 30 %; each GPU holds
    :data:`GPU_BUDGET_GB`: 7B and 13B in bfloat16 need one GPU, 30B two, 65B three. Tiny
    models run on a CPU unless ``force_gpu`` (see :func:`gradient_resources`). Runtime:
    15 min plus 2 min per billion parameters, at least 10.

    Returns
    -------
    dict
        ``gpus`` (count), ``mem_mb`` (host memory, MB), ``runtime`` (minutes).
    """
    params_b = float(model["params_b"])
    size = "dtype_small" if params_b < SMALL_MODEL_B else "dtype_large"
    dtype = model.get("dtype", MODEL_DEFAULTS[size])
    bytes_per = 4 if dtype == "float32" else 2
    runtime = int(max(10, 15 + 2 * params_b))
    return _job_size(model, params_b * bytes_per, 0.3, runtime, force_gpu=force_gpu)
