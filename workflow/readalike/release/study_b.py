"""Released attribution matrices of arXiv 2310.00492: verified unpacking, safe loading, checks.

The authors (JacksonWuxs/Interpret_Instruction_Tuning_LLMs, commit ``52508a0``, GPL-3.0)
released, per prompt and model (LLaMA-7B, Vicuna-7B), a pickled dict with the prompt and
response SentencePiece tokens and the attribution matrix ``Explain`` (n_input x n_output).
This module is a loader and checker only: it unpacks the shared tarball safely, verifying
every file against the pinned manifest (:func:`unpack_release_b`), reads the prompt and
rating tables, loads each pickle through :mod:`readalike.core.safe_pickle` with every check we
can make, and converts the matrices once into the project's attribution format
(:func:`convert_release`, written by :func:`readalike.core.formats.write_attribution`),
reporting every oddity in a faults table instead of trusting the files. The scores and
tests are those of every other source (:mod:`readalike.study_b.instruction_focus`).

**The manifest is required.** Every file it lists must be unpacked with its SHA-256, and
the archive may hold no file it does not list: an archive with files removed, altered *or
added* is not the pinned release (an added pickle would silently join the scores), so it
is refused before anything is written, with one line naming the first offending files.

What the real files hold (found by these checks, see :func:`record_faults`; shared copy of
commit ``52508a0``):

* ``Explain`` is **already discretised**: integer levels 0-10 in all 1,263 non-empty
  matrices, i.e. the heat-map form ``ceil(10 * I+ / (max + 1e-7))`` with ``b = 0``, not the
  raw gradient x input the authors' current ``generator.py`` stores. Scoring re-applies
  :func:`~readalike.study_b.instruction_focus.discretise` with ``L = 10, b = 7``; on a column whose
  maximum is 10 this only drops levels 0-7. Columns whose maximum lies in 1-9 (the
  authors' ``+1e-7`` damped columns with tiny gradients: 2,659 of 185,781 columns in 313
  LLaMA-7B pickles, 4,218 of 124,506 in 460 Vicuna-7B pickles) are re-normalised to a
  maximum of 10 by our discretisation, whereas the authors' scoring re-normalises only when
  the whole matrix's maximum is not 10 and so drops them; all-zero columns (71 in 24 LLaMA
  pickles, 45 in 22 Vicuna pickles) stay zero. Both are reported as non-fatal faults. With
  the authors' rule (and their empty response scored 0) the per-source means are 0.3-2%
  lower and every conclusion is the same.
* One LLaMA-7B pickle (``user_oriented_task_93``) has an empty response and a 1-D empty
  float64 ``Explain`` of shape (0,); the authors scored it 0, we leave it out (fatal fault
  ``empty_output``). No other shape mismatch, NaN or infinity; every ``Input`` spells its
  prompt byte for byte (emoji and CJK through ``<0xNN>`` pieces), both models' ``Input``
  tokens agree, and every instruction sentence is located.

Tables use ``model`` keys ``llama_7b`` / ``vicuna_7b`` and the source names of
:data:`readalike.study_b.instruction_focus.SOURCES`.
"""

from __future__ import annotations

import logging
import os
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from readalike.core.checksums import read_manifest, sha256_file
from readalike.core.formats import PromptAttribution
from readalike.core.outputs import atomic_dir
from readalike.core.safe_pickle import UnsafePickleError, load_pickle
from readalike.core.tables import columns as table_columns
from readalike.study_b.instruction_focus import source_of
from readalike.study_b.instruction_tokens import instruction_token_mask, piece_bytes
from readalike.study_b.prompts import decode_field, read_prompts, read_tsv_rows

logger = logging.getLogger(__name__)

#: The top-level folder of the tarball, with the upstream repository's layout inside.
RELEASE_ROOT = "Interpret_Instruction_Tuning_LLMs"
RELEASE_REPO = "JacksonWuxs/Interpret_Instruction_Tuning_LLMs"
RELEASE_COMMIT = "52508a0a9597e8a2fb239740261cac424eea23c0"
PROMPTS_FILE = "datasets/FinalDataset.tsv"
ANNOTATIONS_FILE = "datasets/AnnotatedDataset.tsv"
#: The authors' word vocabulary (``word<TAB>frequency``), read by
#: :func:`readalike.models.vocabulary.read_vocabulary`.
VOCABULARY_FILE = "datasets/SingleShareGPT_Vocab.tsv"
#: The file inside an unpacked folder that records the archive's SHA-256.
ARCHIVE_SHA256_FILE = "sha256"
#: Released models: our key -> folder of pickles.
MODEL_DIRS = {
    "llama_7b": "results/attribution_interpret/ifa_llama_7b",
    "vicuna_7b": "results/attribution_interpret/ifa_vicuna_7b",
}
#: The released comparison: (base, tuned).
MODEL_PAIR = ("llama_7b", "vicuna_7b")
#: The released model whose responses are rated for instruction following.
RATED_MODEL = "vicuna_7b"
#: The released ``Explain`` matrices hold heat-map levels 0..this.
RELEASED_MAX_LEVEL = 10
PICKLE_KEYS = frozenset({"ID", "Input", "Output", "Reference", "Explain"})
#: How many offending files a refusal names.
N_NAMED = 3
#: The manifest pins hashes, not sizes, so the sizes the tar headers announce are bounded
#: before anything is extracted: a 0.5 MB archive of zeros would otherwise write 2 GB to
#: disk before the checksums refuse it. The pinned archive's largest file is 2.6 MB and its
#: 1,268 files unpack to 66.7 MB, 11.6 times its 5.7 MB; these bounds leave it room:
#: no member above 64 MiB (25 times the largest) ...
MAX_MEMBER_BYTES = 64 * 2**20
#: ... and no more unpacked bytes than 50 per archive byte (4 times the pinned archive's).
MAX_EXPANSION = 50

FAULT_COLUMNS = table_columns("attribution_faults")


class ReleaseFault(ValueError):
    """A released file that cannot be used; ``kind`` names the fault for the faults table."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# --------------------------------------------------------------------------- unpacking


def _check_member(member: tarfile.TarInfo, tar_path: Path) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or member.name.startswith("\\"):
        raise ValueError(f"{tar_path}: refused member {member.name!r} (leaves the destination)")
    if not (member.isfile() or member.isdir()):
        raise ValueError(
            f"{tar_path}: refused member {member.name!r} (links and special files not allowed)"
        )


def _check_sizes(members: Sequence[tarfile.TarInfo], tar_path: Path) -> None:
    """Refuse, before extracting, a member listed twice or sizes beyond the bounds."""
    files = [m for m in members if m.isfile()]
    seen: set[str] = set()
    twice = [m.name for m in files if m.name in seen or seen.add(m.name)]
    if twice:
        raise ValueError(f"{tar_path}: refused, files listed twice in the archive: {_first(twice)}")
    big = [m for m in files if m.size > MAX_MEMBER_BYTES]
    if big:
        raise ValueError(
            f"{tar_path}: refused before extracting: member {big[0].name} would unpack to "
            f"{big[0].size:,} bytes, more than any release file may ({MAX_MEMBER_BYTES:,})"
        )
    total = sum(m.size for m in files)
    packed = max(tar_path.stat().st_size, 1)
    if total > MAX_EXPANSION * packed:
        raise ValueError(
            f"{tar_path}: refused before extracting: its {len(files):,} files would unpack to "
            f"{total:,} bytes, {total / packed:,.0f} times the archive's {packed:,} (at most "
            f"{MAX_EXPANSION})"
        )


def _first(names: Sequence[str]) -> str:
    return ", ".join(names[:N_NAMED]) + (", ..." if len(names) > N_NAMED else "")


def _member_relpath(member: tarfile.TarInfo) -> str | None:
    """Path of a file member relative to :data:`RELEASE_ROOT` (None outside it)."""
    parts = PurePosixPath(member.name).parts
    if len(parts) < 2 or parts[0] != RELEASE_ROOT:
        return None
    return "/".join(parts[1:])


def verify_release_files(
    release_dir: str | os.PathLike, manifest: Mapping[str, str], where: str
) -> None:
    """Check every manifest file under ``release_dir``; one line names the first failures.

    Raises
    ------
    ValueError
        ``"<where>: 300 of 1,268 files missing or altered, first: results/.../x.pkl
        (missing), ..."``.
    """
    release_dir = Path(release_dir)
    bad = []
    for rel, expected in sorted(manifest.items()):
        path = release_dir / rel
        if not path.is_file():
            bad.append(f"{rel} (missing)")
        elif sha256_file(path) != expected:
            bad.append(f"{rel} (altered)")
    if bad:
        raise ValueError(
            f"{where}: {len(bad):,} of {len(manifest):,} files missing or altered, first: "
            f"{_first(bad)}"
        )


def unpack_release_b(
    tar_path: str | os.PathLike, dest: str | os.PathLike, manifest_path: str | os.PathLike
) -> Path:
    """Unpack the release tarball into ``dest``, verified against its manifest, atomically.

    Every member is checked before anything is written: absolute paths, ``..`` components,
    links and special files, files the manifest does not list, files listed twice, and
    sizes in the headers beyond :data:`MAX_MEMBER_BYTES` per file or :data:`MAX_EXPANSION`
    times the archive in all are refused. The archive
    is extracted into a temporary folder beside ``dest`` (with :mod:`tarfile`'s ``data``
    filter as a second guard), every manifest file is verified (:func:`verify_release_files`),
    the archive's SHA-256 is written to ``dest/sha256`` (:data:`ARCHIVE_SHA256_FILE`, checked
    by :func:`unpacked_release`), and only then is the folder renamed to ``dest``
    (:func:`readalike.core.outputs.atomic_dir`): a refused archive or a killed run leaves neither
    ``dest`` nor the temporary folder.

    Parameters
    ----------
    tar_path
        ``interpret_instruction_tuning.tar.xz``.
    dest
        Folder to create (replaced if it exists, only once the new one is complete).
    manifest_path
        ``SHA256SUMS.interpret_instruction_tuning``: paths relative to :data:`RELEASE_ROOT`.

    Returns
    -------
    Path
        ``dest / RELEASE_ROOT``, the release folder.

    Raises
    ------
    ValueError
        One line naming the archive and the first offending members or files.
    """
    tar_path, dest = Path(tar_path), Path(dest)
    manifest = read_manifest(manifest_path)
    digest = sha256_file(tar_path)
    with tarfile.open(tar_path, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            _check_member(member, tar_path)
        unlisted = [m.name for m in members if m.isfile() and _member_relpath(m) not in manifest]
        if unlisted:
            raise ValueError(
                f"{tar_path}: {len(unlisted):,} archive files not in the manifest "
                f"{manifest_path}, first: {_first(unlisted)}"
            )
        _check_sizes(members, tar_path)
        with atomic_dir(dest) as tmp:
            tar.extractall(tmp, members=members, filter="data")
            verify_release_files(tmp / RELEASE_ROOT, manifest, str(tar_path))
            (tmp / ARCHIVE_SHA256_FILE).write_text(f"{digest}\n", encoding="utf-8")
    logger.info("unpacked and verified %d files of %s into %s", len(manifest), tar_path, dest)
    return dest / RELEASE_ROOT


def unpacked_release(unpacked_dir: str | os.PathLike, tar_path: str | os.PathLike) -> Path:
    """The release folder of ``unpacked_dir``, once its recorded SHA-256 matches ``tar_path``.

    Raises
    ------
    ValueError
        If the folder was unpacked from another archive (or not by :func:`unpack_release_b`).
    """
    unpacked_dir = Path(unpacked_dir)
    record = unpacked_dir / ARCHIVE_SHA256_FILE
    found = record.read_text(encoding="utf-8").strip() if record.is_file() else None
    expected = sha256_file(tar_path)
    if found != expected:
        raise ValueError(
            f"{unpacked_dir}: unpacked from an archive with SHA-256 {found}, not from "
            f"{tar_path} ({expected}); unpack it again"
        )
    return unpacked_dir / RELEASE_ROOT


# --------------------------------------------------------------------------- tables


def read_annotations(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``AnnotatedDataset.tsv``: ratings of responses for instruction following.

    Columns of the file: ``File`` (``<ID>.pkl``), ``Model`` (``vicuna_7B`` rated 1-4, and
    ``alpaca_7B`` whose 632 rows are all -1), ``Prompt``, ``Reference``, ``Instruct`` (its
    own instruction fragments; the scores use ``FinalDataset.tsv``'s, as the authors do),
    ``Response``, ``Rating``. Rows rated ``<= 0`` (not rated) are dropped. Rating 1 means
    the instruction was not followed, 2-4 that it was. The paper's "responses shorter than
    5 tokens" filter needs the pickle's token count and is applied in
    :func:`readalike.study_b.instruction_focus.following_comparison`.

    Returns
    -------
    pd.DataFrame
        ``prompt_id``, ``model`` (lower case, e.g. ``vicuna_7b``), ``source``, ``rating``
        (int 1-4), ``followed`` (bool), ``response``.
    """
    path = Path(path)
    columns = ["File", "Model", "Prompt", "Reference", "Instruct", "Response", "Rating"]
    rows = read_tsv_rows(path, columns, None)  # one row per (File, Model): checked below
    seen: set[tuple[str, str]] = set()
    records = []
    for row in rows:
        file = row["File"]
        if not file.endswith(".pkl"):
            raise ValueError(f"{path}: File {file!r} does not name a .pkl")
        prompt_id, model = file.removesuffix(".pkl"), row["Model"].lower()
        try:
            rating = int(row["Rating"])
            source = source_of(prompt_id)
        except ValueError as err:
            raise ValueError(f"{path}: {prompt_id} ({model}): {err}") from None
        if (prompt_id, model) in seen:
            raise ValueError(f"{path}: {prompt_id} is rated twice for {model}")
        seen.add((prompt_id, model))
        if rating <= 0:
            continue
        if rating > 4:
            raise ValueError(f"{path}: {prompt_id} ({model}): rating {rating} outside 1-4")
        records.append(
            {
                "prompt_id": prompt_id,
                "model": model,
                "source": source,
                "rating": rating,
                "followed": rating >= 2,
                "response": decode_field(row["Response"]),
            }
        )
    logger.info("read %d rated responses from %s", len(records), path)
    return pd.DataFrame.from_records(
        records, columns=["prompt_id", "model", "source", "rating", "followed", "response"]
    )


# --------------------------------------------------------------------------- pickles


@dataclass(frozen=True)
class AttributionRecord:
    """One released pickle: prompt/response tokens and ``explain`` (n_input, n_output)."""

    prompt_id: str
    input_tokens: list[str]
    output_tokens: list[str]
    reference: str
    explain: np.ndarray


def _token_list(value: object, key: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ReleaseFault("bad_tokens", f"{path}: {key} is not a list of token strings")
    return value


def load_attribution_pickle(path: str | os.PathLike) -> AttributionRecord:
    """Load one released attribution pickle through the safe unpickler and validate it.

    Checks: a dict with exactly the keys ``ID, Input, Output, Reference, Explain``; ``ID``
    equal to the file's stem; token lists of strings; a non-empty response; ``Explain`` a
    real-valued array of shape ``(len(Input), len(Output))`` without NaN or infinity.

    Returns
    -------
    AttributionRecord
        ``explain`` as float32 (n_input, n_output).

    Raises
    ------
    UnsafePickleError
        If the pickle names anything but NumPy arrays and plain containers.
    ReleaseFault
        A ``ValueError`` naming the file, with ``kind`` one of ``not_a_dict``,
        ``bad_keys``, ``id_mismatch``, ``bad_tokens``, ``empty_output``, ``bad_explain``,
        ``shape_mismatch``, ``not_finite``.
    """
    path = Path(path)
    obj = load_pickle(path)
    if not isinstance(obj, dict):
        raise ReleaseFault("not_a_dict", f"{path}: holds a {type(obj).__name__}, not a dict")
    if set(obj) != PICKLE_KEYS:
        raise ReleaseFault(
            "bad_keys", f"{path}: keys {sorted(map(str, obj))}, expected {sorted(PICKLE_KEYS)}"
        )
    prompt_id = obj["ID"]
    if prompt_id != path.stem:
        raise ReleaseFault("id_mismatch", f"{path}: ID {prompt_id!r} differs from the file name")
    inputs = _token_list(obj["Input"], "Input", path)
    outputs = _token_list(obj["Output"], "Output", path)
    explain = obj["Explain"]
    if not outputs:
        shape = getattr(explain, "shape", None)
        raise ReleaseFault("empty_output", f"{path}: empty response (Explain shape {shape})")
    if not isinstance(explain, np.ndarray) or explain.dtype.kind not in "fiu":
        raise ReleaseFault("bad_explain", f"{path}: Explain is not a real-valued array")
    expected = (len(inputs), len(outputs))
    if explain.shape != expected:
        raise ReleaseFault(
            "shape_mismatch",
            f"{path}: Explain shape {explain.shape} != (len(Input), len(Output)) = {expected}",
        )
    if not np.isfinite(explain).all():
        raise ReleaseFault(
            "not_finite", f"{path}: Explain has {int((~np.isfinite(explain)).sum())} NaN/inf"
        )
    return AttributionRecord(
        prompt_id=prompt_id,
        input_tokens=inputs,
        output_tokens=outputs,
        reference=str(obj["Reference"]),
        explain=explain.astype(np.float32, copy=False),
    )


def record_faults(record: AttributionRecord, prompt_text: str) -> list[tuple[str, str]]:
    """Non-fatal oddities of a loaded record, as ``(kind, detail)`` pairs.

    ``zero_columns`` (response tokens no prompt token supports), ``columns_below_max``
    (column maximum in (0, 10): the authors' ``+1e-7`` damping), ``not_discretised`` (values
    other than the integers 0-10; the release is expected to hold heat-map levels),
    ``tokens_differ_from_prompt`` (the Input tokens do not spell the prompt text).
    """
    faults = []
    explain = record.explain
    col_max = explain.max(axis=0)
    zero = int((col_max <= 0).sum())
    if zero:
        faults.append(("zero_columns", f"{zero} of {explain.shape[1]} columns are all <= 0"))
    below = int(((col_max > 0) & (col_max < RELEASED_MAX_LEVEL)).sum())
    if below:
        faults.append(
            (
                "columns_below_max",
                f"{below} of {explain.shape[1]} columns peak below {RELEASED_MAX_LEVEL}",
            )
        )
    if not (
        np.array_equal(explain, np.round(explain)) and explain.min() >= 0 and explain.max() <= 10
    ):
        faults.append(("not_discretised", "Explain is not integer levels 0-10"))
    spelled = b"".join(piece_bytes(t) for t in record.input_tokens).decode("utf-8", "replace")
    if spelled.strip() != prompt_text.strip():
        faults.append(("tokens_differ_from_prompt", "Input tokens do not spell the prompt text"))
    return faults


# --------------------------------------------------------------------------- conversion


def _release_record(
    record: AttributionRecord, model_key: str, prompt, mask: np.ndarray
) -> PromptAttribution:
    response = b"".join(piece_bytes(t) for t in record.output_tokens).decode("utf-8", "replace")
    return PromptAttribution(
        model=model_key,
        prompt_id=record.prompt_id,
        source=prompt.source,
        prompt_text=prompt.prompt,
        response_text=response,
        prompt_tokens=record.input_tokens,
        response_tokens=record.output_tokens,
        importance=record.explain,
        instruction_mask=mask,
    )


def convert_release_model(
    release_dir: str | os.PathLike, model_key: str, prompts: pd.DataFrame
) -> tuple[list[PromptAttribution], pd.DataFrame]:
    """One released model's pickles as attribution records, and a table of every fault.

    Parameters
    ----------
    release_dir
        The release folder (``.../Interpret_Instruction_Tuning_LLMs``).
    model_key
        ``llama_7b`` or ``vicuna_7b``.
    prompts
        :func:`read_prompts` of the release.

    Returns
    -------
    records : list of PromptAttribution
        One per usable prompt, in the prompts' order: ``importance`` the released
        ``Explain`` (n_prompt, n_response) float32, ``instruction_mask`` located in the
        released ``Input`` tokens.
    faults : pd.DataFrame
        :data:`FAULT_COLUMNS`; ``fatal`` rows are the prompts left out of ``records``
        (missing or unsafe pickle, failed validation, instruction not located).
    """
    if model_key not in MODEL_DIRS:
        raise ValueError(f"unknown model {model_key!r}; expected one of {sorted(MODEL_DIRS)}")
    folder = Path(release_dir) / MODEL_DIRS[model_key]
    known = set(prompts["prompt_id"])
    records, faults = [], []
    extra = sorted(p.stem for p in folder.glob("*.pkl") if p.stem not in known)
    faults += [(model_key, s, "unknown_prompt", False, "pickle without a prompt") for s in extra]
    for prompt in prompts.itertuples(index=False):
        prompt_id = prompt.prompt_id
        path = folder / f"{prompt_id}.pkl"
        if not path.is_file():
            faults.append((model_key, prompt_id, "missing_pickle", True, str(path)))
            continue
        try:
            record = load_attribution_pickle(path)
        except ReleaseFault as err:
            faults.append((model_key, prompt_id, err.kind, True, str(err)))
            continue
        except UnsafePickleError as err:
            faults.append((model_key, prompt_id, "unsafe_pickle", True, str(err)))
            continue
        except ValueError as err:  # truncated or corrupted stream
            faults.append((model_key, prompt_id, "unreadable_pickle", True, str(err)))
            continue
        faults += [
            (model_key, prompt_id, kind, False, detail)
            for kind, detail in record_faults(record, prompt.prompt)
        ]
        try:
            mask = instruction_token_mask(
                record.input_tokens, prompt.prompt, prompt.fragments, prompt_id
            )
        except ValueError as err:
            faults.append((model_key, prompt_id, "not_located", True, str(err)))
            continue
        records.append(_release_record(record, model_key, prompt, mask))
    faults_df = pd.DataFrame(faults, columns=FAULT_COLUMNS)
    n_fatal = int(faults_df["fatal"].sum())
    logger.info(
        "%s: converted %d of %d prompts; %d fatal and %d other faults",
        model_key,
        len(records),
        len(prompts),
        n_fatal,
        len(faults_df) - n_fatal,
    )
    return records, faults_df


def model_agreement_faults(records: Mapping[str, Sequence[PromptAttribution]]) -> pd.DataFrame:
    """Non-fatal faults where the models' pickles of one prompt disagree on the prompt.

    Both models saw the same prompt through the same tokenizer, so the numbers of prompt
    and instruction tokens must agree; a disagreement means a pickle holds another prompt.
    """
    counts = pd.DataFrame(
        [
            (model, r.prompt_id, len(r.prompt_tokens), int(r.instruction_mask.sum()))
            for model, model_records in records.items()
            for r in model_records
        ],
        columns=["model", "prompt_id", "n_prompt_tokens", "n_instruction_tokens"],
    )
    columns = ["n_prompt_tokens", "n_instruction_tokens"]
    wide = counts.pivot(index="prompt_id", columns="model", values=columns).dropna().astype(int)
    faults = []
    for column in columns:
        part = wide[column]
        differ = part.index[part.nunique(axis=1) > 1]
        faults += [
            ("all", pid, "models_disagree", False, f"{column} differ: {part.loc[pid].to_dict()}")
            for pid in differ
        ]
    return pd.DataFrame(faults, columns=FAULT_COLUMNS)


def convert_release(
    release_dir: str | os.PathLike,
) -> tuple[dict[str, list[PromptAttribution]], pd.DataFrame]:
    """Every released model as attribution records (:func:`convert_release_model`).

    Returns
    -------
    records : dict of str to list of PromptAttribution
        Per model key of :data:`MODEL_DIRS`.
    faults : pd.DataFrame
        :data:`FAULT_COLUMNS`: each model's faults, then :func:`model_agreement_faults`.
    """
    release_dir = Path(release_dir)
    prompts = read_prompts(release_dir / PROMPTS_FILE)
    records, faults = {}, []
    for key in MODEL_DIRS:
        records[key], model_faults = convert_release_model(release_dir, key, prompts)
        faults.append(model_faults)
    faults.append(model_agreement_faults(records))
    return records, pd.concat(faults, ignore_index=True)
