# Figures and the HTML report: seconds of work from files already made, so they run on the
# submitting host. Like every rule, each has the package code it runs as input (`code`), and
# the registry's data (names, colours) that they show.
localrules:
    plots,
    report,


report: "../report/workflow.rst"


# Every figure of the registry (mlpcompare.presenting.figures.FIGURES), captioned from report/captions/.
rule plots:
    input:
        train=arch_run_files("train.json"),
        history=arch_run_files("history.csv"),
        confusion=arch_run_files("confusion.csv"),
        metrics=arch_run_files("metrics.json"),
        performance=RESULTS.table(D, A, "performance"),
        quality=RESULTS.table(D, A, "quality"),
        inference=RESULTS.table(D, A, "inference"),
        roofline=RESULTS.machine("roofline.json"),
        throughput=RESULTS.top("throughput.csv"),
        idiomatic_train=arch_idiomatic_files("train.json"),
        idiomatic_history=arch_idiomatic_files("history.csv"),
        registry=repo_file("src/mlpcompare/frameworks/frameworks.yaml"),
        code=code("plots.py"),
    output:
        **{
            name: report(
                RESULTS.figure(D, A, name),
                caption=f"../report/captions/{name}.rst",
                category="{dataset} · {arch}",
                labels={"figure": figure.title},
            )
            for name, figure in figures.FIGURES.items()
        },
    log:
        "logs/plots/{dataset}/{arch}.log",
    benchmark:
        "benchmarks/plots/{dataset}/{arch}.tsv"
    conda:
        "../envs/base.yaml"
    params:
        runs=runs_of,
        idiomatic_seeds=IDIOMATIC_SEEDS if IDIOMATIC else [],
    script:
        "../scripts/plots.py"


# The template, stylesheet, captions and reference data are inputs: editing them re-renders
# the report, nothing else.
rule report:
    input:
        summary=RESULTS.top("summary.csv"),
        throughput=RESULTS.top("throughput.csv"),
        idiomatic=[RESULTS.top("idiomatic.csv")] if IDIOMATIC else [],
        devexp=RESULTS.top("devexp.csv"),
        serving=RESULTS.top("serving.csv"),
        loc=RESULTS.top("loc.csv"),
        environment=RESULTS.machine("environment.json"),
        run=RESULTS.top("run.json"),
        roofline=RESULTS.machine("roofline.json"),
        split=[RESULTS.split_info(dataset) for dataset in DATASETS],
        sanity=[RESULTS.eda(dataset, "sanity.json") for dataset in DATASETS],
        eda=[
            RESULTS.eda(dataset, f"{name}.png")
            for dataset in DATASETS
            for name in figures.EDA_FIGURES
        ],
        tables=[
            RESULTS.table(dataset, arch, table)
            for dataset in DATASETS
            for arch in ARCHS
            for table in layout.ARCH_TABLES
        ],
        figures=[
            RESULTS.figure(dataset, arch, name)
            for dataset in DATASETS
            for arch in ARCHS
            for name in figures.FIGURES
        ],
        train=run_files("train.json"),
        template=repo_file("report/templates/report.html.j2"),
        style=repo_file("report/style.css"),
        captions=[repo_file(f"report/captions/{name}.rst") for name in figures.FIGURES],
        data=[repo_file(f"report/{name}.yaml") for name in ("labels", "references")],
        registry=repo_file("src/mlpcompare/frameworks/frameworks.yaml"),
        code=code("report.py"),
    output:
        report(
            RESULTS.top("report.html"),
            caption="../report/captions/report.rst",
            category="Report",
        ),
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report/report.tsv"
    conda:
        "../envs/base.yaml"
    params:
        config=COMPARISON_CONFIG,
        runs=RUNS,
    script:
        "../scripts/report.py"
