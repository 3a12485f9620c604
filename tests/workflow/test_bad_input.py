"""The catalogue of bad input the project refuses, with the one line it says.

Every case builds a small bad input in ``tmp_path``, hands it to the function that reads
or writes it, and checks the error's type and a distinctive fragment of its message
(``{tmp}`` stands for ``tmp_path``, so a fragment can require the file to be named).
Where the project promises one line, the message must hold no newline.

Adding a case is one line in ``CASES``::

    case("short-id", lambda t: reader(_file(t, "x.txt", "bad content")), "{tmp}/x.txt: fragment"),

The errors a Snakemake run adds on top (a job's cause on the console, a target that needs
a missing part of the config) are tested at the end of this file and in test_joblog.py.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import io
import os
import pickle
import shutil
import subprocess
import tarfile
from collections import OrderedDict, namedtuple
from pathlib import Path
from unittest import mock

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from readalike.core import checksums
from readalike.core.config import ConfigError, check_config, check_config_file
from readalike.core.formats import AttentionSet, attention_shape, read_attention, write_attention
from readalike.core.outputs import NoSpaceError, atomic_path
from readalike.core.safe_pickle import UnsafePickleError, load_pickle
from readalike.core.stimuli import read_stimuli
from readalike.human.saccades import FIXATION_COLUMNS, read_fixations, saccade_matrices
from readalike.release import study_a as rel
from readalike.release import study_b as rb
from tests.workflow.checkout import copy_checkout

REPO = Path(__file__).resolve().parents[2]


def case(case_id, build, fragment, error=ValueError, one_line=True):
    """One catalogue entry: ``build(tmp_path)`` must raise ``error`` saying ``fragment``."""
    return pytest.param(build, fragment, error, one_line, id=case_id)


# ----------------------------------------------------------------------------- builders


def _file(tmp: Path, name: str, content: str | bytes) -> Path:
    path = tmp / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _pickle(tmp: Path, obj, protocol: int = 4) -> Path:
    return _file(tmp, "x.pkl", pickle.dumps(obj, protocol=protocol))


def _self_dict() -> dict:
    d: dict = {}
    d["ID"] = d
    return d


def _self_list() -> list:
    x: list = []
    x.append(x)
    return x


def _config(edit):
    """Check the demo config after ``edit(config)``."""

    def build(tmp: Path) -> None:
        cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
        edit(cfg)
        check_config(cfg, REPO)

    return build


def _set(path, value):
    """An edit that sets ``cfg[path[0]][path[1]]... = value``, making missing sections."""

    def edit(cfg) -> None:
        *parents, last = path
        for key in parents:
            cfg = cfg.setdefault(key, {}) if isinstance(cfg, dict) else cfg[key]
        cfg[last] = value

    return edit


def _release_config(edit):
    """Check the release config (without its data: release_download) after ``edit(config)``."""

    def build(tmp: Path) -> None:
        cfg = yaml.safe_load((REPO / "config" / "release.yaml").read_text(encoding="utf-8"))
        cfg["release_download"] = True
        del cfg["study_b"]
        edit(cfg)
        check_config(cfg, REPO)

    return build


def _exclude(**entry):
    return _release_config(lambda c: c["reading"]["fmri"]["exclude_readers"].append(entry))


def _config_file(text: str):
    return lambda tmp: check_config_file(_file(tmp, "c.yaml", text))


def _fixations(rows: str, name: str = "fix.csv"):
    """A fixation CSV (header added) read and turned into matrices for 2 sentences."""

    def build(tmp: Path) -> None:
        path = _file(tmp, name, ",".join(FIXATION_COLUMNS) + "\n" + rows)
        saccade_matrices(read_fixations(path), [[3, 2]], "L1", "hand", False)

    return build


def _tables():
    from readalike.study_a import tables

    return tables


def _formats():
    from readalike.core import formats

    return formats


def _attention(*sentences: np.ndarray) -> AttentionSet:
    return AttentionSet(model="m", condition="plain", sentences=[list(sentences)])


def _causal(n_layers: int, n_heads: int, n: int) -> np.ndarray:
    return np.broadcast_to(
        np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None], (n_layers, n_heads, n, n)
    )


def _truncated(write, name: str, reader):
    """``reader`` given a file that ``write(path)`` made, cut to half its size."""

    def build(tmp: Path) -> None:
        path = tmp / name
        write(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        reader(path)

    return build


def _write_l1(path: Path) -> None:
    from readalike.core.formats import SaccadeSet, write_saccades

    write_saccades(path, SaccadeSet("L1", 2, "t", True, {"num": [[np.eye(2)]]}))


def _constant_measure(table):
    """``table`` on human files whose ``dur`` is zero throughout (durations of zero)."""

    def build(tmp: Path) -> None:
        from readalike.core.formats import SaccadeSet, write_saccades

        rng = np.random.default_rng(0)
        attention = _attention(_causal(2, 2, 2), _causal(2, 2, 3), _causal(2, 2, 3))
        write_attention(tmp / "a.h5", attention)
        num = [[rng.random((n, n)) for n in (2, 3, 3)]]
        dur = [[np.zeros((n, n)) for n in (2, 3, 3)]]
        write_saccades(tmp / "L1.h5", SaccadeSet("L1", 2, "t", True, {"num": num, "dur": dur}))
        table(tmp / "a.h5", {"L1": tmp / "L1.h5"}, ["num", "dur"])

    return build


def _bootstrap_beyond_memory(tmp: Path) -> None:
    from readalike.core.formats import SaccadeSet, write_saccades
    from readalike.study_a.tables import resemblance_ci_table

    rng = np.random.default_rng(0)
    write_attention(tmp / "a.h5", _attention(_causal(2, 2, 3), _causal(2, 2, 3)))
    num = [[rng.random((3, 3)), rng.random((3, 3))]]
    write_saccades(tmp / "L1.h5", SaccadeSet("L1", 2, "t", True, {"num": num}))
    with mock.patch("readalike.core.memory.available_memory", lambda: 2**20):
        resemblance_ci_table(tmp / "a.h5", {"L1": tmp / "L1.h5"}, ["num"], "m", 100_000, 0)


def _resemblance_without_r2(tmp: Path) -> None:
    from readalike.study_a.replication import replication_summary

    rows = [
        {"model": "m", "group": g, "measure": "dur", "layer": 0, "r2": r2, "r2_heldout": r2}
        for g, r2 in (("L1", 0.2), ("L2", np.nan))
    ]
    replication_summary(pd.DataFrame(rows), "L1")


def _readers_without_r2(tmp: Path) -> None:
    from readalike.study_a.tables import reader_tests_table

    rows = [
        {"model": "m", "group": g, "measure": "dur", "layer": 0, "reader": f"{g}{r}", "r2": v}
        for g, v in (("L1", 0.2), ("L2", np.nan))
        for r in range(3)
    ]
    statistics = {"n_permutations": 1000, "seed": 0, "alpha": 0.05, "min_readers": 3}
    reader_tests_table(pd.DataFrame(rows).assign(r2_shuffled=0.0), ["L1", "L2"], statistics)


def _nan_attention(tmp: Path) -> None:
    bad = _causal(2, 1, 3).copy()
    bad[1, 0, 2, 0] = np.nan
    write_attention(tmp / "a.h5", _attention(_causal(2, 1, 2), bad))


def _other_format(reader):
    """``reader`` given an HDF5 file that says it holds saccades."""

    def build(tmp: Path) -> None:
        with h5py.File(tmp / "s.h5", "w") as f:
            f.attrs["format"] = "readalike.saccades/1"
        reader(tmp / "s.h5")

    return build


def _disk_too_small(tmp: Path) -> None:
    usage = namedtuple("usage", "total used free")
    with mock.patch("shutil.disk_usage", lambda path: usage(4096, 3072, 1024)):
        write_attention(tmp / "a.h5", _attention(_causal(4, 2, 20)))


def _disk_fills(tmp: Path) -> None:
    with atomic_path(tmp / "t.tsv") as path:
        path.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")


def _manifest_line(text: str):
    return lambda tmp: checksums.read_manifest(_file(tmp, "SUMS", text))


def _altered_file(tmp: Path) -> None:
    _file(tmp, "a.npy", b"changed")
    checksums.verify_files(tmp, {"a.npy": "0" * 64}, ["a.npy"])


def _layer_gap(tmp: Path) -> None:
    for layer in (0, 2):
        path = tmp / rel.attention_relpath("m", "rb_p1", layer)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    rel.layers_in_dir(tmp, "m", "rb_p1")


def _tar_member(name: str):
    def build(tmp: Path) -> None:
        with tarfile.open(tmp / "r.tar.xz", "w:xz") as tar:
            tar.addfile(tarfile.TarInfo(name))
        rb.unpack_release_b(tmp / "r.tar.xz", tmp / "out", _file(tmp, "SUMS", ""))

    return build


def _prompts(row: str):
    header = "ID\tPrompt\tResponse\tInstruct&Context\n"
    return lambda tmp: rb.read_prompts(_file(tmp, "p.tsv", header + row + "\n"))


def _token_gap(tmp: Path) -> None:
    from readalike.models.extraction import assign_tokens

    # "ab cd ef" tokenised as "ab", "ef": word 1 got no token
    spans = np.array([[0, 2], [3, 5], [6, 8]])
    assign_tokens(np.array([[0, 2], [6, 8]]), spans, 0, name="sentence 7 'ab cd ef'")


def _nan_saccades(tmp: Path) -> None:
    from readalike.core.formats import SaccadeSet, read_saccades, write_saccades

    write_saccades(tmp / "L1.h5", SaccadeSet("L1", 2, "t", True, {"num": [[np.eye(2)]]}))
    with h5py.File(tmp / "L1.h5", "r+") as f:
        f["num/article_000/sentence_000"][0, 0] = np.nan
    read_saccades(tmp / "L1.h5")


def _reader_in_two_groups(tmp: Path) -> None:
    from readalike.core.formats import (
        ReaderMatrices,
        SaccadeSet,
        check_distinct_readers,
        write_saccades,
    )

    paths = {}
    for group in ("L1", "L2"):
        readers = {"num": ReaderMatrices([[np.eye(2)[None]]], [[np.array([0])]])}
        saccades = SaccadeSet("g", 1, "t", True, {"num": [[np.eye(2)]]}, None, ["s07"], readers)
        saccades.group = group
        paths[group] = tmp / f"{group}.h5"
        write_saccades(paths[group], saccades)
    check_distinct_readers(paths)


def _exclude_unknown_reader(tmp: Path) -> None:
    from readalike.release.fmri import parse_exclude_readers

    parse_exclude_readers([{"group": "L1", "reader": 60}], {("L1", "angular"): 52})


def _partial_release(tmp: Path) -> None:
    manifest = {}
    for prefix in ("rb_p1", "instr_rb_p1"):
        for layer in range(3):
            rel_path = rel.attention_relpath("m", prefix, layer)
            manifest[rel_path] = "0" * 64
            if not (prefix == "instr_rb_p1" and layer == 2):
                (tmp / rel_path).parent.mkdir(parents=True, exist_ok=True)
                (tmp / rel_path).write_bytes(b"")
    rel.check_release_layers(
        tmp, manifest, "m", {"plain": "rb_p1", "instruction": "instr_rb_p1"}, model="toy"
    )


def _archive_short_of_manifest(tmp: Path) -> None:
    root = tmp / "src" / rb.RELEASE_ROOT
    root.mkdir(parents=True)
    (root / "a.txt").write_text("kept")
    with tarfile.open(tmp / "r.tar.xz", "w:xz") as tar:
        tar.add(root, arcname=rb.RELEASE_ROOT)
    sums = "\n".join(f"{'0' * 64}  {name}" for name in ("a.txt", "lima_author_1.pkl")) + "\n"
    rb.unpack_release_b(tmp / "r.tar.xz", tmp / "out", _file(tmp, "SUMS", sums))


def _replaced_after_its_check(tmp: Path) -> None:
    """A verified release pickle replaced by another group's, its mtime kept (so nothing
    reruns the check): the job that reads it hashes what it reads and refuses it."""
    rel_path = rel.human_relpath("mean_saccade_num", "p1")
    good, other = (pickle.dumps([[np.eye(2) * k]], protocol=4) for k in (1.0, 2.0))
    path = tmp / rel_path
    path.parent.mkdir(parents=True)
    path.write_bytes(good)
    hashes = {rel_path: hashlib.sha256(good).hexdigest()}
    checksums.verify_files(tmp, hashes, [rel_path])
    before = path.stat()
    path.write_bytes(other)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    rel.load_release_saccades(tmp, "p1", measures={"num": "mean_saccade_num"}, hashes=hashes)


def _manifest_not_the_pinned_one(tmp: Path) -> None:
    pinned = _file(tmp, "PINNED", f"{'0' * 64}  a.pkl\n")
    edited = _file(tmp, "EDITED", f"{'1' * 64}  a.pkl\n")
    rel.release_hashes(edited, pinned, ["a.pkl"], modified=False)


def _archive_of(tmp: Path, size: int, **limits) -> None:
    """An archive of one listed file of ``size`` zero bytes, unpacked under ``limits``."""
    name = f"{rb.RELEASE_ROOT}/z.bin"
    with tarfile.open(tmp / "r.tar.xz", "w:xz", preset=0) as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, io.BytesIO(bytes(size)))
    sums = _file(tmp, "SUMS", f"{'0' * 64}  z.bin\n")
    with mock.patch.multiple(rb, **{"MAX_MEMBER_BYTES": rb.MAX_MEMBER_BYTES, **limits}):
        rb.unpack_release_b(tmp / "r.tar.xz", tmp / "out", sums)


# ----------------------------------------------------------------------------- the catalogue

CASES = [
    # configuration: one line naming the key, before any job runs
    case("config-unknown-key", _config(lambda c: c.update(bogus=1)), "config: unknown key 'bogus'"),
    case("config-missing-run", _config(lambda c: c.pop("run")), "'run'"),
    case(
        "config-stimuli-missing",
        _config(lambda c: c.update(stimuli="resources/demo/no-such.txt")),
        "config.stimuli:",
        ConfigError,
    ),
    case(
        "config-stimuli-is-a-folder",
        _config(lambda c: c.update(stimuli="resources/demo")),
        "config.stimuli",
        ConfigError,
    ),
    case(
        "config-duplicate-model",
        _config(lambda c: c["models"].append(copy.deepcopy(c["models"][1]))),
        "config.models[4].name:",
        ConfigError,
    ),
    case(
        "config-comparison-unknown-model",
        _config(lambda c: c["comparisons"]["scaling"].append(["tiny-s", "ghost"])),
        "unknown model 'ghost'",
        ConfigError,
    ),
    # every number finite and in range: NaN passes every bound (all comparisons are false)
    case(
        "config-alpha-nan",
        _config(_set(["analysis", "statistics", "alpha"], float("nan"))),
        "config.analysis.statistics.alpha: must be a finite number, got nan",
        ConfigError,
    ),
    case(
        "config-shuffled-heldout-max-nan",
        _config(_set(["analysis", "shuffled_heldout_max"], float("nan"))),
        "config.analysis.shuffled_heldout_max: must be a finite number, got nan",
        ConfigError,
    ),
    case(
        "config-params-b-nan",
        _config(_set(["models", 1, "params_b"], float("nan"))),
        "config.models[1].params_b: must be a finite number, got nan",
        ConfigError,
    ),
    case(
        "config-zoo-lr-inf",
        _config(_set(["models", 0, "zoo", "lr"], float("inf"))),
        "config.models[0].zoo.lr: must be a finite number, got inf",
        ConfigError,
    ),
    case(
        "config-shuffled-heldout-max-out-of-range",
        _config(_set(["analysis", "shuffled_heldout_max"], 1.5)),
        "config.analysis.shuffled_heldout_max: 1.5 is greater than or equal to the maximum of 1",
        ConfigError,
    ),
    case(
        "config-params-b-in-parameters-not-billions",
        _config(_set(["models", 0, "params_b"], 7e9)),
        "config.models[0].params_b: 7000000000.0 is greater than the maximum of 10000",
        ConfigError,
    ),
    case(
        "config-seed-negative",
        _config(_set(["reading", "seed"], -1)),
        "config.reading.seed: -1 is less than the minimum of 0",
        ConfigError,
    ),
    case(
        "config-integer-given-as-float",
        _config(_set(["analysis", "statistics", "n_bootstrap"], 1000.0)),
        "config.analysis.statistics.n_bootstrap: 1000.0 is not of type 'integer'",
        ConfigError,
    ),
    # resource bombs: bounds in the schema
    case(
        "config-n-permutations-1e9",
        _config(_set(["analysis", "statistics", "n_permutations"], 10**9)),
        "config.analysis.statistics.n_permutations: 1000000000 is greater than the maximum of "
        "1000000",
        ConfigError,
    ),
    case(
        "config-n-bootstrap-1e9",
        _config(_set(["analysis", "statistics", "n_bootstrap"], 10**9)),
        "config.analysis.statistics.n_bootstrap: 1000000000 is greater than the maximum of 100000",
        ConfigError,
    ),
    # names that become paths: one rule
    case(
        "config-model-named-dotdot",
        _config(_set(["models", 0, "name"], "..")),
        "config.models[0].name: '..' is not a plain name",
        ConfigError,
    ),
    case(
        "config-group-name-with-slash",
        _config(_set(["reading", "groups", "L1/x"], {"profile": "native", "n_readers": 2})),
        "config.reading.groups: 'L1/x' is not a plain name",
        ConfigError,
    ),
    case(
        "config-condition-named-dot",
        _config(_set(["conditions", "."], "")),
        "config.conditions: '.' is not a plain name",
        ConfigError,
    ),
    # a model against itself reads as a finding (JS 0, p = 1)
    case(
        "config-comparison-with-itself",
        _config(lambda c: c["comparisons"]["tuning"].append(["tiny-m", "tiny-m"])),
        "config.comparisons.tuning[1]: compares 'tiny-m' with itself",
        ConfigError,
    ),
    # fMRI exclusions are applied per group and region: a typo would exclude no one
    case(
        "exclude-readers-group-typo",
        _exclude(group="l1", reader=0),
        "config.reading.fmri.exclude_readers[3].group: unknown group 'l1'; reading.groups: L1, L2",
        ConfigError,
    ),
    case(
        "exclude-readers-unknown-group",
        _exclude(group="L9", reader=0),
        "config.reading.fmri.exclude_readers[3].group: unknown group 'L9'",
        ConfigError,
    ),
    case(
        "exclude-readers-region-not-read",
        _release_config(
            lambda c: c["reading"]["fmri"].update(
                regions=["angular"],
                exclude_readers=[{"group": "L1", "reader": 3, "region": "middle"}],
            )
        ),
        "config.reading.fmri.exclude_readers[0].region: 'middle' is not in reading.fmri.regions",
        ConfigError,
    ),
    case(
        "exclude-readers-id-of-other-group",
        _exclude(group="L1", reader="L2-07"),
        "config.reading.fmri.exclude_readers[3].reader: reader id 'L2-07' is not of the form L1-NN",
        ConfigError,
    ),
    case(
        "exclude-readers-negative-index",
        _exclude(group="L1", reader=-1),
        "config.reading.fmri.exclude_readers[3].reader: -1 is less than the minimum of 0",
        ConfigError,
    ),
    # what YAML loaders accept without a word
    case(
        "config-file-duplicate-key",
        _config_file("run: a\nreading: {source: simulated}\nrun: b\n"),
        "{tmp}/c.yaml: config.run is given twice (lines 1 and 3)",
        ConfigError,
    ),
    case(
        "config-file-yaml-alias",
        _config_file("comparisons:\n  tuning:\n    - &p [a, b]\n    - *p\n"),
        "{tmp}/c.yaml: config.comparisons.tuning[1] is a YAML alias of "
        "config.comparisons.tuning[0]",
        ConfigError,
    ),
    # stimuli text
    case(
        "stimuli-not-utf8",
        lambda t: read_stimuli(_file(t, "s.txt", b"caf\xe9\n")),
        "{tmp}/s.txt: not UTF-8 text (invalid byte at offset 3, line 1)",
    ),
    case(
        "stimuli-empty-article",
        lambda t: read_stimuli(_file(t, "s.txt", "a b\n\n\nc\n")),
        "{tmp}/s.txt: article 1 is empty",
    ),
    case(
        "stimuli-no-sentence",
        lambda t: read_stimuli(_file(t, "s.txt", "\n\n")),
        "{tmp}/s.txt: no sentence found",
    ),
    case(
        "stimuli-whitespace-line",
        lambda t: read_stimuli(_file(t, "s.txt", "a b\nc\n \t\nd\n")),
        "{tmp}/s.txt: line 3 holds only whitespace",
    ),
    case(
        "stimuli-invisible-word",
        lambda t: read_stimuli(_file(t, "s.txt", "a b\nc \u200b d\n")),
        "{tmp}/s.txt: line 2 word 1 (from 0) is only invisible characters (U+200B ZERO WIDTH "
        "SPACE)",
    ),
    case(  # str.splitlines would make two sentences of it, and the fixations' file was named
        "stimuli-form-feed-in-a-line",
        lambda t: read_stimuli(_file(t, "s.txt", "a b\nc\fd\n")),
        "{tmp}/s.txt: line 2 holds U+000C FORM FEED, a line break inside a line",
    ),
    case(
        "stimuli-line-separator-in-a-line",
        lambda t: read_stimuli(_file(t, "s.txt", "a b\u2028c d\n")),
        "{tmp}/s.txt: line 1 holds U+2028 LINE SEPARATOR, a line break inside a line",
    ),
    case(
        "stimuli-bom-past-the-start",
        lambda t: read_stimuli(_file(t, "s.txt", "\ufeffa b\n\ufeffc d\n")),
        "{tmp}/s.txt: line 2 holds U+FEFF ZERO WIDTH NO-BREAK SPACE, a byte-order mark past",
    ),
    # released pickles
    case(
        "pickle-global",
        lambda t: load_pickle(_pickle(t, OrderedDict(a=1))),
        "{tmp}/x.pkl: refused to unpickle collections.OrderedDict",
        UnsafePickleError,
    ),
    case(
        "pickle-object-array",
        lambda t: load_pickle(_pickle(t, [np.array([1, "a"], dtype=object)])),
        "{tmp}/x.pkl: refused an array of dtype object",
        UnsafePickleError,
    ),
    case(
        "pickle-truncated",
        lambda t: load_pickle(_file(t, "x.pkl", pickle.dumps({"a": np.arange(9.0)})[:-5])),
        "{tmp}/x.pkl: not a readable pickle",
    ),
    case(
        "pickle-dict-holds-itself",
        lambda t: load_pickle(_pickle(t, _self_dict())),
        "{tmp}/x.pkl: refused a self-referencing dict",
        UnsafePickleError,
    ),
    case(
        "pickle-list-holds-itself",
        lambda t: load_pickle(_pickle(t, _self_list(), protocol=0)),
        "{tmp}/x.pkl: refused a self-referencing list",
        UnsafePickleError,
    ),
    # release manifests, files and archives
    case(
        "manifest-malformed-line",
        _manifest_line("not a hash  a.npy\n"),
        "{tmp}/SUMS: line 1 is not 'SHA256  path'",
    ),
    case(
        "manifest-path-leaves-release",
        _manifest_line(f"{'a' * 64}  ../outside.npy\n"),
        "is not a path inside the release",
    ),
    case("release-file-altered", _altered_file, "corrupted or altered"),
    case("release-layer-missing", _layer_gap, "rb_p1_layer1.npy is missing"),
    case("archive-absolute-member", _tar_member("/etc/evil"), "leaves the destination"),
    case("archive-dotdot-member", _tar_member("x/../../evil"), "leaves the destination"),
    case(
        "prompts-unknown-source",
        _prompts("alpaca_3\tHi.\tr\tHi."),
        "alpaca_3: unknown prompt source",
    ),
    # fixations
    case(
        "fixations-missing-column",
        lambda t: read_fixations(_file(t, "fix.csv", "subject,group,article\nA,L1,0\n")),
        "{tmp}/fix.csv: missing column 'sentence'",
    ),
    case(
        "fixations-negative-word",  # printed -50, not np.int64(-50)
        _fixations("A,L1,0,0,-50,200\n"),
        "{tmp}/fix.csv: line 2: word is -50, expected a non-negative integer index",
    ),
    case(
        "fixations-negative-duration",
        _fixations("A,L1,0,0,1,-3.5\n"),
        "{tmp}/fix.csv: line 2: duration is -3.5, expected",
    ),
    case("fixations-empty-value", _fixations("A,L1,0,0,1,\n"), "line 2: empty or NaN 'duration'"),
    case(
        "fixations-word-outside-stimuli",
        _fixations("A,L1,0,0,0,200\nA,L1,0,1,2,200\n"),
        "{tmp}/fix.csv: line 3: subject 'A' article 0 sentence 1 word 2 is outside the stimuli",
    ),
    case(
        "fixations-unknown-group",
        _fixations("A,L2,0,0,0,200\nA,L2,0,0,1,200\n"),
        "no reader group 'L1'",
    ),
    case(  # a dur matrix of zeros has no R^2: blank cells and verdicts read from nothing
        "fixations-zero-duration",
        _fixations("A,L1,0,0,0,200\nA,L1,0,1,1,0\n"),
        "{tmp}/fix.csv: line 3: duration is 0, expected a positive duration in ms, at most 60000 "
        "(subject 'A' article 0 sentence 1)",
    ),
    case(
        "fixations-overflowing-duration",
        _fixations("A,L1,0,0,0,1e300\n"),
        "{tmp}/fix.csv: line 2: duration is 1e+300, expected a positive duration in ms",
    ),
    case(  # the group had 5 readers, not 6, and nothing said why
        "fixations-group-not-configured",
        lambda t: read_fixations(
            _file(
                t,
                "fix.csv",
                "subject,group,article,sentence,word,duration\nA,L1,0,0,0,200\nB,L3,0,0,0,200\n",
            ),
            groups=["L1", "L2"],
        ),
        "{tmp}/fix.csv: line 3: group 'L3' is not a configured reader group (L1, L2)",
    ),
    case(
        "fixations-reader-block-appended-twice",
        _fixations(
            "A,L1,0,0,0,200\nA,L1,0,0,1,180\nB,L1,0,0,0,190\nA,L1,0,0,0,200\nA,L1,0,0,1,180\n"
        ),
        "{tmp}/fix.csv: reader 'A': their last 2 rows (from line 5) repeat their first 2 (from "
        "line 2)",
    ),
    # a measure with no usable values: one line naming it, no table made from it
    case(
        "resemblance-measure-constant",
        _constant_measure(lambda a, h, m: _tables().resemblance_table(a, h, m, "m")),
        "{tmp}/L1.h5: group L1 measure dur: every entry is 0",
    ),
    case(  # crashed with "All-NaN slice encountered", naming no file
        "controls-measure-constant",
        _constant_measure(lambda a, h, m: _tables().controls_table({"m": a}, h, m)),
        "{tmp}/L1.h5: group L1 measure dur: every entry is 0",
    ),
    case(
        "replication-summary-group-without-r2",
        _resemblance_without_r2,
        "human_resemblance.tsv: model m measure dur group L2: no layer has an R^2",
    ),
    case(
        "resemblance-tests-group-without-r2",
        _readers_without_r2,
        "reader_resemblance.tsv: model m group L2 measure dur: no reader has an R^2",
    ),
    case(
        "bootstrap-beyond-memory",
        _bootstrap_beyond_memory,
        "analysis.statistics.n_bootstrap: 100000 draws (2 sentences, 2 layers at a time, 1 "
        "targets) need about 6.1 MiB of memory, 1.0 MiB available; lower it",
    ),
    # the project's HDF5 files
    case(
        "attention-nan",
        _nan_attention,
        "{tmp}/a.h5: article 0 sentence 1: attention of model 'm' (plain) holds NaN or inf",
    ),
    case(
        "attention-wrong-shape",
        lambda t: write_attention(t / "a.h5", _attention(_causal(2, 1, 2), _causal(3, 1, 2))),
        "{tmp}/a.h5: article 0 sentence 1: attention of shape (3, 1, 2, 2), expected (2, 1,",
    ),
    case(
        "attention-file-of-other-format",
        _other_format(read_attention),
        "{tmp}/s.h5: not a readalike.attention/1 file",
    ),
    case(
        "attention-shape-of-other-format",
        _other_format(attention_shape),
        "{tmp}/s.h5: not a readalike.attention/1 file",
    ),
    case(  # h5py says "Unable to synchronously open file (truncated file: ...)", no name
        "saccades-truncated-file",
        _truncated(_write_l1, "L1.h5", lambda p: _formats().read_saccades(p)),
        "{tmp}/L1.h5: not a readable HDF5 file (Unable to synchronously open file (truncated",
    ),
    case(
        "attention-truncated-file",
        _truncated(
            lambda p: write_attention(p, _attention(_causal(2, 1, 3))), "a.h5", read_attention
        ),
        "{tmp}/a.h5: not a readable HDF5 file",
    ),
    # model plumbing
    case("tokens-word-without-token", _token_gap, "sentence 7 'ab cd ef': word 1 got no token"),
    # per-reader data (issue 11) and partial releases
    case("config-run-leaves-results", _config(lambda c: c.update(run="..")), "not a plain name"),
    case(
        "saccades-nan-on-read",
        _nan_saccades,
        "{tmp}/L1.h5: group L1 measure num article 0 sentence 0",
    ),
    case("reader-in-two-groups", _reader_in_two_groups, "reader s07"),
    case("exclude-readers-unknown", _exclude_unknown_reader, "exclude_readers[0].reader"),
    case("release-partial-copy", _partial_release, "model toy"),
    case("study-b-archive-short-of-manifest", _archive_short_of_manifest, "lima_author_1.pkl"),
    # a release file is trusted only as far as the job that reads it hashed it, and the
    # pinned manifest is the authority on a known release
    case(
        "release-file-replaced-after-its-check",
        _replaced_after_its_check,
        "mean_saccade_num_p1.pkl: SHA-256 ",
        checksums.ChecksumMismatch,
    ),
    case(
        "release-manifest-not-the-pinned-one",
        _manifest_not_the_pinned_one,
        "{tmp}/EDITED: 1 of 1 files differ from the pinned manifest {tmp}/PINNED, first a.pkl",
    ),
    # tar headers announce the sizes: refused before a byte is written
    case(
        "archive-member-too-large",
        lambda t: _archive_of(t, 5000, MAX_MEMBER_BYTES=4096),
        "refused before extracting: member Interpret_Instruction_Tuning_LLMs/z.bin would "
        "unpack to 5,000 bytes",
    ),
    case(
        "archive-bomb",
        lambda t: _archive_of(t, 16 * 2**20),
        "refused before extracting: its 1 files would unpack to 16,777,216 bytes",
    ),
    # disk space: not bad input, but refused the same way (one line, no file left)
    case(
        "disk-too-small-for-attention",
        _disk_too_small,
        "{tmp}/a.h5: not enough disk space: it needs about ",
        NoSpaceError,
    ),
    case(
        "disk-fills-while-writing",
        _disk_fills,
        "{tmp}/t.tsv: disk full after writing 4 B",
        NoSpaceError,
    ),
]


@pytest.mark.parametrize(("build", "fragment", "error", "one_line"), CASES)
def test_bad_input_is_refused_with_its_message(tmp_path, build, fragment, error, one_line):
    before = set(os.listdir(tmp_path))
    with pytest.raises(error) as err:
        build(tmp_path)
    message = str(err.value)
    assert fragment.format(tmp=tmp_path) in message
    if one_line:
        assert "\n" not in message
    # no half-written output is left beside the inputs the case made
    left = {p for p in os.listdir(tmp_path) if p not in before and ".tmp" in p}
    assert not left


# ----------------------------------------------------------------------------- Snakemake


def _one_model_checkout(tmp_path: Path) -> Path:
    """A copy of the workflow whose config has one model and no comparison."""
    root = copy_checkout(tmp_path / "repo")
    cfg = yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))
    cfg["models"] = cfg["models"][:1]
    cfg["comparisons"] = {"scaling": [], "tuning": []}
    cfg["study_b"]["pairs"] = []
    (root / "config" / "one.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return root


def test_divergence_under_one_model_says_it_needs_two(tmp_path):
    snakemake = shutil.which("snakemake") or pytest.skip("snakemake not installed")
    root = _one_model_checkout(tmp_path)
    done = subprocess.run(
        [
            snakemake,
            "-n",
            "--nocolor",
            "--configfile",
            "config/one.yaml",
            "--",
            "results/demo/divergence.tsv",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    console = done.stdout + done.stderr
    assert done.returncode != 0
    line = next(x for x in console.splitlines() if "needs two models" in x)
    assert line.strip() == (
        "ValueError: divergence.tsv needs two models to compare, but config key "
        "'comparisons' pairs none (models: tiny-s); add a pair under comparisons.scaling "
        "or comparisons.tuning"
    )
    assert not (root / "results").exists()


def _demo_config_text() -> str:
    return (REPO / "config" / "config.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param(
            _demo_config_text().replace("run: demo", "run: '..'"),
            "config.run: '..' is not a plain name (letters, digits, '-', '_', '.', not only "
            "dots); names become file and folder names under results/<run>/",
            id="schema",
        ),
        pytest.param(
            _demo_config_text() + "run: again\n",
            "{config}: config.run is given twice (lines {first} and {last}); YAML would keep "
            "the last without a word",
            id="duplicate-key",
        ),
    ],
)
def test_config_refusal_is_the_last_line_on_the_console(tmp_path, text, line):
    # Snakemake printed three traceback lines after the refusal; the one line must end it
    snakemake = shutil.which("snakemake") or pytest.skip("snakemake not installed")
    config = _file(tmp_path, "bad.yaml", text)
    lines = text.splitlines()
    done = subprocess.run(
        [snakemake, "-n", "--nocolor", "-s", str(REPO / "workflow" / "Snakefile")]
        + ["--configfile", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    console = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 1
    first = next(i for i, x in enumerate(lines, start=1) if x.startswith("run:"))
    expected = line.format(config=config, first=first, last=len(lines))
    assert console[-1] == expected
    assert not (tmp_path / "results").exists()
