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
        split="results/{dataset}/data/split.npz",
        info="results/{dataset}/data/split.json",
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
        split="results/{dataset}/data/split.npz",
        info="results/{dataset}/data/split.json",
    output:
        samples="results/{dataset}/eda/samples.png",
        balance="results/{dataset}/eda/class_balance.png",
        pixels="results/{dataset}/eda/pixel_stats.png",
        stats="results/{dataset}/eda/stats.json",
        sanity="results/{dataset}/eda/sanity.json",
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
