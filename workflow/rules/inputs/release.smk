# Settings and input functions of the released data rules (release.smk).

RELEASE_DIR = config.get("release_dir")
RELEASE_MANIFEST = read_manifest(config["release_manifest"]) if USES_RELEASE else {}
# The manifest of the pinned release shipped with the project: the authority on its files.
PINNED_RELEASE_MANIFEST = os.path.join(
    os.path.dirname(workflow.basedir), _release.PINNED_MANIFEST
)
RELEASE_MODIFIED = bool(config.get("release_modified", False))
if USES_RELEASE and RELEASE_MODIFIED:
    # every table of a run on a modified copy of the release says so
    SYNTHETIC = SYNTHETIC or MODIFIED


def release_manifests():
    """Inputs of every job that reads release files: it checks their bytes itself."""
    return {"manifest": config["release_manifest"], "pinned": PINNED_RELEASE_MANIFEST}


def release_check_params():
    """What a job needs to check release files: the run's files and whether a modified copy
    is allowed (readalike.release.study_a.release_hashes)."""
    return {"relpaths": release_relpaths(), "modified": RELEASE_MODIFIED}


def check_release_manifest():
    """One line, before any job, where the configured manifest differs from the pinned one
    and the config does not say the copy is modified."""
    try:
        _release.release_hashes(
            config["release_manifest"],
            PINNED_RELEASE_MANIFEST,
            release_relpaths(),
            RELEASE_MODIFIED,
        )
    except ValueError as err:
        sys.exit(str(err))


def release_derived_outputs():
    """Every output of this run that rests on the release's Study A files: a job that finds
    one of those files changed removes them all, so that no table of the old file stays.
    """
    attention = [
        attention_file(m, c) for m in RELEASE_MODELS for c in model_conditions(m)
    ]
    attention += [reader_attention_file(m) for m in RELEASE_MODELS if FMRI_REGIONS]
    human = list(human_files().values()) + list(reader_human_files().values())
    tables = [f"{OUT}/release", f"{OUT}/tables"]
    return sorted(
        set(attention + human + tables + study_a_targets() + reader_targets())
    )


def release_layers(name):
    """Layers of a released model: the same in every condition, the copy and the manifest."""
    spec = MODELS[name]["release"]
    return _release.check_release_layers(
        None if config["release_download"] else RELEASE_DIR,
        RELEASE_MANIFEST,
        spec["dir"],
        spec["conditions"],
        model=name,
        n_layers=spec.get("layers"),
    )


def release_model_files(name, condition):
    spec = MODELS[name]["release"]
    prefix = spec["conditions"][condition]
    return [
        _release.attention_relpath(spec["dir"], prefix, layer)
        for layer in range(release_layers(name))
    ]


def release_relpaths():
    """Every release file this run reads, relative to release_dir."""
    paths = [_release.label_relpath(p) for p in _release.TRIVIAL_PATTERNS]
    if config["reading"]["source"] == "release":
        paths += [
            _release.human_relpath(f"mean_saccade_{m}", spec["release_suffix"])
            for spec in config["reading"]["groups"].values()
            for m in MEASURES
        ]
        paths += [
            _release_fmri.fmri_relpath(spec["release_suffix"], region)
            for spec in config["reading"]["groups"].values()
            for region in FMRI_REGIONS
        ]
    for name in RELEASE_MODELS:
        for condition in model_conditions(name):
            paths += release_model_files(name, condition)
    return sorted(set(paths))


def release_attention_inputs(wildcards):
    return {
        **release_manifests(),
        "verified": f"{OUT}/release/verified.tsv",
        "human": human_files()[GROUPS[0]],
        "layers": [
            f"{RELEASE_DIR}/{p}"
            for p in release_model_files(wildcards.model, wildcards.condition)
        ],
    }


def release_attention_params(wildcards):
    spec = MODELS[wildcards.model]["release"]
    return {"dir": spec["dir"], "prefix": spec["conditions"][wildcards.condition]}


def release_plain_params(wildcards):
    spec = MODELS[wildcards.model]["release"]
    return {"dir": spec["dir"], "prefix": spec["conditions"]["plain"]}


def release_check_tables(wildcards):
    """Checks of every converted release file: attention, and the fMRI of each group."""
    tables = [
        f"{OUT}/release/checks_{m}_{c}.tsv"
        for m in RELEASE_MODELS
        for c in model_conditions(m)
    ]
    if FMRI_REGIONS:
        tables += [f"{OUT}/release/checks_fmri_{g}.tsv" for g in GROUPS]
        tables += [
            f"{OUT}/release/checks_fmri_attention_{m}.tsv" for m in RELEASE_MODELS
        ]
    return tables


def reader_attention_file(model):
    """The attention the per-reader analyses read: for a released model with fMRI, the
    plain attention at the fMRI files' sentence lengths (release_attention_fmri)."""
    if FMRI_REGIONS and model in RELEASE_MODELS:
        return f"{OUT}/attention_fmri/{model}.h5"
    return plain_attention_of(model)


def reader_attention(wildcards):
    return reader_attention_file(wildcards.model)


def release_attention_fmri_inputs(wildcards):
    return {
        **release_manifests(),
        "verified": f"{OUT}/release/verified.tsv",
        "human": human_files()[GROUPS[0]],
        "fmri": list(reader_human_files().values()),
        "layers": [
            f"{RELEASE_DIR}/{p}" for p in release_model_files(wildcards.model, "plain")
        ],
    }
