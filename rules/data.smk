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
    params:
        mirror=config["mirror"],
    script:
        "../scripts/download.py"


rule split:
    input:
        raw_files,
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
        split=config["split"],
        synthetic=config["synthetic"],
    script:
        "../scripts/split.py"


rule eda:
    input:
        split=RESULTS.split(D),
        info=RESULTS.split_info(D),
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
