# Settings and input functions of the relative-importance comparison (corpora.smk).

from readalike.human import reading_measures as _reading_measures

CORPORA = config["corpora"]
CORPUS_ENTRIES = {e["name"]: e for e in CORPORA["entries"]}
# corpus -> the files download_corpus fetches for it (download: true), read from its
# manifest; a manifest without the corpus' files is one line before any job runs
try:
    CORPUS_DOWNLOADS = {
        name: _reading_measures.corpus_download_paths(entry)
        for name, entry in CORPUS_ENTRIES.items()
        if entry.get("download")
    }
except ValueError as err:
    sys.exit(str(err))
# model -> corpora it runs on, in config order
CORPUS_RUNS = {m: list(names) for m, names in CORPORA["models"].items()}
CORPUS_PAIRS = [(m, c) for m, names in CORPUS_RUNS.items() for c in names]


wildcard_constraints:
    corpus=_names_regex(CORPUS_ENTRIES),
    ri_model=_names_regex(CORPUS_RUNS),


def corpus_entry(wildcards):
    return CORPUS_ENTRIES[wildcards.corpus]


def corpus_source_files(wildcards):
    entry = CORPUS_ENTRIES[wildcards.corpus]
    if wildcards.corpus in CORPUS_DOWNLOADS:
        # the fetched files (reader table included), made by download_corpus
        files = CORPUS_DOWNLOADS[wildcards.corpus]
        return files + [entry[k] for k in ("manifest", "sums") if k in entry]
    keys = ("path", "manifest", "sums", "reader_table")
    return [entry[k] for k in keys if k in entry]


def corpus_download_manifests():
    return sorted({CORPUS_ENTRIES[name]["manifest"] for name in CORPUS_DOWNLOADS})


def corpus_download_outputs():
    return sorted({path for paths in CORPUS_DOWNLOADS.values() for path in paths})


def corpus_model_inputs(wildcards):
    return {
        "reading": f"{OUT}/reading/{wildcards.corpus}.h5",
        "checkpoint": zoo_checkpoint(wildcards.ri_model)
        + gguf_facts_file(wildcards.ri_model),
    }


def corpus_shards(corpus):
    # an int applies to every corpus; a mapping names corpora (the rest get 1)
    shards = CORPORA["shards"]
    return shards if isinstance(shards, int) else shards.get(corpus, 1)


def corpus_importance_shards(wildcards):
    n = corpus_shards(wildcards.corpus)
    return [
        f"{OUT}/importance/{wildcards.ri_model}/{wildcards.corpus}.shard{i}.h5"
        for i in range(n)
    ]


def corpus_model_params(wildcards):
    model = MODELS[wildcards.ri_model]
    return {
        "location": model_location(wildcards.ri_model),
        "dtype": model["dtype"],
        "device": model["device"],
        "bos": model["bos"],
    }


def corpus_model_gpus(wildcards):
    return extraction_resources(MODELS[wildcards.ri_model], force_gpu=FORCE_GPU)["gpus"]


def corpus_model_mem_mb(wildcards):
    return extraction_resources(MODELS[wildcards.ri_model])["mem_mb"]


def corpus_model_synthetic(wildcards):
    # the corpora are real recordings: a model's rows are SYNTHETIC only where the model
    # is a zoo or toy model (the rule of core.config.is_synthetic, per model)
    model = MODELS[wildcards.ri_model]
    return model_source(model) == "zoo" or model.get("synthetic", False)


def corpus_group_pairs(wildcards):
    return [
        p["groups"]
        for p in CORPORA["group_comparisons"]
        if p["corpus"] == wildcards.corpus
    ]


def relative_importance_parts(wildcards):
    parts = [
        f"{OUT}/tables/relative_importance/baseline_{c}.tsv" for c in CORPUS_ENTRIES
    ]
    parts += [f"{OUT}/tables/relative_importance/{m}_{c}.tsv" for m, c in CORPUS_PAIRS]
    return parts


def corpora_targets():
    return [
        f"{OUT}/relative_importance.tsv",
        f"{OUT}/reading_measures.tsv",
        f"{OUT}/reading_checks.tsv",
    ] + [
        f"{OUT}/figures/relative_importance_{kind}.{ext}"
        for kind in ("by_measure", "by_layer")
        for ext in ("png", "pdf")
    ]
