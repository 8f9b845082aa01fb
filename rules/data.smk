localrules:
    download,


rule download:
    output:
        expand("resources/{{dataset}}/{name}", name=IDX_FILES),
    log:
        "logs/download/{dataset}.log",
    benchmark:
        "benchmarks/download/{dataset}.tsv"
    conda:
        "../envs/base.yaml"
    # No params: where a checksummed file came from (`mirror`) is no reason to fetch it again.
    # The script reads the mirror from the config instead.
    script:
        "../scripts/download.py"


rule split:
    input:
        raw=raw_files,
        code=code("split.py"),
    output:
        split=RESULTS.split(D),
        info=RESULTS.split_info(D),
    log:
        "logs/split/{dataset}.log",
    benchmark:
        "benchmarks/split/{dataset}.tsv"
    conda:
        "../envs/base.yaml"
    params:
        settings=split_params,
    script:
        "../scripts/split.py"


rule eda:
    input:
        split=RESULTS.split(D),
        info=RESULTS.split_info(D),
        code=code("eda.py"),
    output:
        **{name: RESULTS.eda(D, f"{name}.png") for name in figures.EDA_FIGURES},
        stats=RESULTS.eda(D, "stats.json"),
        sanity=RESULTS.eda(D, "sanity.json"),
    log:
        "logs/eda/{dataset}.log",
    benchmark:
        "benchmarks/eda/{dataset}.tsv"
    conda:
        "../envs/base.yaml"
    params:
        balance_tolerance=config["sanity"]["balance_tolerance"],
    script:
        "../scripts/eda.py"
