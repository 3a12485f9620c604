# Settings and input functions of the models and extraction rules (models.smk).

ZOO_TRAINED = [n for n in ZOO_MODELS if "tune_from" not in MODELS[n]["zoo"]]


ZOO_TUNED = [n for n in ZOO_MODELS if "tune_from" in MODELS[n]["zoo"]]


def zoo_base_checkpoint(wildcards):
    return f"{OUT}/zoo/{MODELS[wildcards.model]['zoo']['tune_from']}"


def zoo_spec(wildcards):
    return MODELS[wildcards.model]["zoo"]


def extraction_params(wildcards):
    model = MODELS[wildcards.model]
    return {
        "location": model_location(wildcards.model),
        "dtype": model["dtype"],
        "device": model["device"],
        "bos": model["bos"],
    }
