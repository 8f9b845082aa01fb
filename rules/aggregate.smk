# Machine-level measurements and the tables over runs. Counting lines and tabulating take
# seconds and no cores worth reserving: they run on the submitting host.
localrules:
    loc,
    compare,
    aggregate,
    throughput,


# Timed like training: the ceiling must be measured on quiet cores with the jobs' threads.
rule roofline:
    input:
        info=expand("results/{dataset}/data/split.json", dataset=DATASETS),
    output:
        "results/machine/roofline.json",
    log:
        "logs/roofline/roofline.log",
    benchmark:
        "benchmarks/roofline/roofline.tsv"
    conda:
        "../envs/numpy.yaml"
    threads: config["threads"]
    resources:
        timing=TIMED,
    params:
        datasets=DATASETS,
        archs=ARCHS,
        batch_sizes=training_batch_sizes(),
        bench=ROOFLINE_SETTINGS,
    script:
        "../scripts/roofline.py"


# Runs where the timed jobs run, so it describes their machine (CPU, BLAS, GPU).
rule environment:
    input:
        train=run_files("train.json"),
    output:
        "results/machine/environment.json",
    log:
        "logs/environment/environment.log",
    benchmark:
        "benchmarks/environment/environment.tsv"
    conda:
        "../envs/base.yaml"
    params:
        threads=config["threads"],
        device=config["device"],
    script:
        "../scripts/environment.py"


rule loc:
    input:
        unpack(framework_sources),
    output:
        "results/loc.csv",
    log:
        "logs/loc/loc.log",
    benchmark:
        "benchmarks/loc/loc.tsv"
    conda:
        "../envs/base.yaml"
    params:
        frameworks=FRAMEWORKS,
    script:
        "../scripts/loc.py"


rule compare:
    input:
        metrics=arch_run_files("metrics.json"),
        train=arch_run_files("train.json"),
        inference=arch_run_files("inference.csv"),
        inference_info=arch_run_files("inference.json"),
        predictions=arch_run_files("predictions.npz"),
    output:
        quality="results/{dataset}/{arch}/quality.csv",
        significance="results/{dataset}/{arch}/significance.csv",
        performance="results/{dataset}/{arch}/performance.csv",
        inference="results/{dataset}/{arch}/inference.csv",
    log:
        "logs/compare/{dataset}/{arch}.log",
    benchmark:
        "benchmarks/compare/{dataset}/{arch}.tsv"
    conda:
        "../envs/base.yaml"
    params:
        runs=arch_run_keys,
    script:
        "../scripts/compare.py"


rule aggregate:
    input:
        metrics=run_files("metrics.json"),
        train=run_files("train.json"),
        inference=run_files("inference.csv"),
        inference_info=run_files("inference.json"),
        roofline="results/machine/roofline.json",
        loc="results/loc.csv",
    output:
        "results/summary.csv",
    log:
        "logs/aggregate/aggregate.log",
    benchmark:
        "benchmarks/aggregate/aggregate.tsv"
    conda:
        "../envs/base.yaml"
    params:
        runs=run_keys(),
    script:
        "../scripts/aggregate.py"


# Training throughput of the tuned trainers and of the idiomatic variant (when measured), with
# their roofline fractions. Its own rule: summary.csv does not change with the idiomatic variant.
rule throughput:
    input:
        train=run_files("train.json"),
        idiomatic=idiomatic_files(),
        roofline="results/machine/roofline.json",
    output:
        report(
            "results/throughput.csv",
            caption="../report/captions/throughput.rst",
            category="Report",
        ),
    log:
        "logs/throughput/throughput.log",
    benchmark:
        "benchmarks/throughput/throughput.tsv"
    conda:
        "../envs/base.yaml"
    params:
        runs=run_keys(),
        idiomatic=idiomatic_keys(),
    script:
        "../scripts/throughput.py"
