"""Checking a workflow configuration before any job runs.

The JSON schema (``readalike/schemas/config.schema.yaml``, package data, linked from
``workflow/schemas/``) fixes the keys and types; this
module turns its first violation into one line naming the key, and adds the checks a schema
cannot express: files that must exist, model names used once, comparisons that name known
models. Everything here runs when Snakemake parses the workflow, so a bad config fails
before the first job.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"

DEFAULTS: dict[str, Any] = {
    "measures": ["num", "dur"],
    "conditions": {"plain": ""},
    "comparisons": {},
    "extraction": {"batch_size": 8},
    "analysis": {"layer_block": 8, "shuffle_seed": 0, "shuffled_heldout_max": 0.01},
}

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


def validate_schema(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` with one line for the first schema violation."""
    validator = jsonschema.Draft202012Validator(load_schema())
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
    raise ConfigError(f"{where}: {err.message}")


def with_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` with the optional sections filled in."""
    out = dict(config)
    for key, value in DEFAULTS.items():
        if isinstance(value, dict):
            out[key] = {**value, **dict(out.get(key) or {})}
        else:
            out.setdefault(key, value)
    return out


def model_source(model: Mapping[str, Any], where: str | None = None) -> str:
    """Where a model's attention comes from: ``zoo``, ``path``, ``hub_id`` or ``release``."""
    sources = [k for k in ("zoo", "path", "hub_id", "release") if k in model]
    if len(sources) != 1:
        where = where or f"config.models[{model.get('name')!r}]"
        raise ConfigError(
            f"{where}: give exactly one of zoo, path, hub_id, release (found {sources or 'none'})"
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
        elif source == "zoo" and "zoo" not in cfg:
            raise ConfigError(f"config.models[{i}].zoo: needs a top-level 'zoo' section")
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
        if study_b.get("pairs") and "prompts" not in study_b:
            raise ConfigError("config.study_b.prompts: required with study_b.pairs")
        for key in (
            "prompts",
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
    uses_release = reading["source"] == "release" or "release" in sources
    if uses_release:
        if "release_dir" not in cfg:
            raise ConfigError("config.release_dir: required for released data")
        if "release_manifest" not in cfg:
            raise ConfigError("config.release_manifest: required to check released files")
        must_exist("config.release_manifest", cfg["release_manifest"])
        if not cfg.get("release_download", False):
            must_exist("config.release_dir", cfg["release_dir"], "folder")
    return cfg


def gradient_resources(model: Mapping[str, Any]) -> dict[str, int]:
    """GPU count, memory (MB) and runtime (min) of a model's Study B gradient job.

    Gradients with respect to the input embeddings are taken in float32 (bf16 gradients
    changed a quarter of the discretised importance levels on test models): 4 GB of weights
    per billion parameters plus about 30 % for activations kept for the backward pass, so a
    7B model needs one 80 GB GPU (the paper used two 48 GB GPUs) and a 13B model two, with
    ``device: auto`` spreading layers over them.
    """
    params_b = float(model["params_b"])
    weights_gb = params_b * 4
    gpus = model.get("gpus", 0 if params_b < 0.5 else max(1, math.ceil(weights_gb * 1.3 / 70)))
    mem_mb = model.get("mem_mb", int(max(2000, weights_gb * 1.3 * 1024 + 4000)))
    runtime = model.get("runtime", int(max(10, 30 + 10 * params_b)))
    return {"gpus": int(gpus), "mem_mb": int(mem_mb), "runtime": int(runtime)}


def is_synthetic(cfg: Mapping[str, Any]) -> bool:
    """A run rests on simulated readers or toy models: every output says SYNTHETIC."""
    return cfg["reading"]["source"] == "simulated" or any("zoo" in m for m in cfg["models"])


def extraction_resources(model: Mapping[str, Any]) -> dict[str, int]:
    """GPU count, memory (MB) and runtime (min) of a model's extraction job.

    Sized from the parameter count unless the config gives them: weights in 16-bit take
    2 GB per billion parameters; activations and eager attention of 148 short sentences add
    about 30 %; one A100/H100-class GPU holds about 70 GB, so the weights set the GPU count.
    Tiny models (under 0.5 B) run on a CPU.
    """
    params_b = float(model["params_b"])
    bytes_per = (
        4 if model.get("dtype", "float32" if params_b < 0.5 else "bfloat16") == ("float32") else 2
    )
    weights_gb = params_b * bytes_per
    gpus = model.get("gpus", 0 if params_b < 0.5 else max(1, math.ceil(weights_gb * 1.3 / 70)))
    mem_mb = model.get("mem_mb", int(max(2000, weights_gb * 1.3 * 1024 + 4000)))
    runtime = model.get("runtime", int(max(10, 15 + 2 * params_b)))
    return {"gpus": int(gpus), "mem_mb": int(mem_mb), "runtime": int(runtime)}
