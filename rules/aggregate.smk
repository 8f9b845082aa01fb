from pathlib import Path

from mlpcompare.measuring.devexp import idiomatic_files


# Machine-level measurements and the tables over runs. Counting lines and tabulating take
# seconds and no cores worth reserving: they run on the submitting host.
localrules:
    loc,
    devexp,
    tables,
    summary,
    throughput,
    idiomatic,


# Timed like training: the ceiling must be measured on quiet cores with the jobs' threads.
rule roofline:
    input:
        info=[RESULTS.split_info(dataset) for dataset in DATASETS],
        code=code("roofline.py"),
    output:
        RESULTS.machine("roofline.json"),
    log:
        "logs/roofline/roofline.log",
    benchmark:
        "benchmarks/roofline/roofline.tsv"
    conda:
        "../envs/base.yaml"
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
        code=code("environment.py"),
    output:
        RESULTS.machine("environment.json"),
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
        code=code("loc.py"),
    output:
        RESULTS.top("loc.csv"),
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


# What a new user of each framework waits for before training starts: the install size of its
# packages (read in the framework's own environment) and the import time of the modules its
# idiomatic code imports, which every training job of the framework times first thing in its
# fresh interpreter (scripts/train.py). Nothing is timed here, so it need not run alone.
for framework in FRAMEWORKS:

    rule:
        name:
            f"first_use_{framework}"
        input:
            train=run_files(
                "train.json", [run for run in RUNS if run["framework"] == framework]
            ),
            code=code("first_use.py"),
        output:
            RESULTS.first_use(framework),
        log:
            f"logs/first_use/{framework}.log",
        benchmark:
            f"benchmarks/first_use/{framework}.tsv"
        conda:
            f"../{frameworks.get(framework).env}"
        params:
            framework=framework,
        script:
            "../scripts/first_use.py"


# The development-experience table: each framework's tuned and idiomatic code read with `ast`
# (lines, API names, what is written by hand), with its first_use record and first-epoch times.
rule devexp:
    input:
        unpack(framework_sources),
        idiomatic_code=list(
            dict.fromkeys(
                str(path)
                for fw in FRAMEWORKS
                for path in idiomatic_files(frameworks.get(fw), Path(repo_file("src")))
            )
        ),
        first_use=[RESULTS.first_use(fw) for fw in FRAMEWORKS],
        train=run_files("train.json"),
        idiomatic=[
            RESULTS.idiomatic(r["dataset"], r["arch"], r["framework"])
            for r in IDIOMATIC
        ],
        code=code("devexp.py"),
    output:
        RESULTS.top("devexp.csv"),
    log:
        "logs/devexp/devexp.log",
    benchmark:
        "benchmarks/devexp/devexp.tsv"
    conda:
        "../envs/base.yaml"
    params:
        frameworks=FRAMEWORKS,
        runs=RUNS,
        idiomatic=IDIOMATIC,
    script:
        "../scripts/devexp.py"


# The tables over the runs of one dataset x architecture (layout.ARCH_TABLES).
rule tables:
    input:
        metrics=arch_run_files("metrics.json"),
        train=arch_run_files("train.json"),
        inference=arch_run_files("inference.csv"),
        inference_info=arch_run_files("inference.json"),
        predictions=arch_run_files("predictions.npz"),
        code=code("tables.py"),
    output:
        **{table: RESULTS.table(D, A, table) for table in layout.ARCH_TABLES},
    log:
        "logs/tables/{dataset}/{arch}.log",
    benchmark:
        "benchmarks/tables/{dataset}/{arch}.tsv"
    conda:
        "../envs/base.yaml"
    params:
        runs=runs_of,
    script:
        "../scripts/tables.py"


rule summary:
    input:
        metrics=run_files("metrics.json"),
        train=run_files("train.json"),
        inference=run_files("inference.csv"),
        inference_info=run_files("inference.json"),
        roofline=RESULTS.machine("roofline.json"),
        loc=RESULTS.top("loc.csv"),
        code=code("summary.py"),
    output:
        RESULTS.top("summary.csv"),
    log:
        "logs/summary/summary.log",
    benchmark:
        "benchmarks/summary/summary.tsv"
    conda:
        "../envs/base.yaml"
    params:
        runs=RUNS,
    script:
        "../scripts/summary.py"


# Training throughput of the tuned trainers and of the idiomatic variant (when measured), with
# their roofline fractions. Its own rule: summary.csv does not change with the idiomatic variant.
rule throughput:
    input:
        train=run_files("train.json"),
        idiomatic=idiomatic_run_files("train.json"),
        roofline=RESULTS.machine("roofline.json"),
        code=code("throughput.py"),
    output:
        report(
            RESULTS.top("throughput.csv"),
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
        runs=RUNS,
        idiomatic=IDIOMATIC_RUNS,
    script:
        "../scripts/throughput.py"


# The idiomatic variant against the tuned runs, per dataset x arch x framework: test accuracy
# with 95 % intervals and their difference, training time and throughput ratios, epochs run.
# Requested only when bench.idiomatic is on.
rule idiomatic:
    input:
        metrics=[RESULTS.run_file(run, "metrics.json") for run in IDIOMATIC_RUNS],
        train=[RESULTS.run_file(run, "train.json") for run in IDIOMATIC_RUNS],
        idiomatic_metrics=idiomatic_run_files("metrics.json"),
        idiomatic_train=idiomatic_run_files("train.json"),
        code=code("idiomatic.py"),
    output:
        RESULTS.top("idiomatic.csv"),
    log:
        "logs/idiomatic/idiomatic.log",
    benchmark:
        "benchmarks/idiomatic/idiomatic.tsv"
    conda:
        "../envs/base.yaml"
    params:
        idiomatic=IDIOMATIC_RUNS,
    script:
        "../scripts/idiomatic.py"
