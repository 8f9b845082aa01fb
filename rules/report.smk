# Figures and the HTML report: seconds of work from files already made, so they run on the
# submitting host. Like every rule, each has the package code it runs as input (`code`), and
# the registry's data (names, colours, what each framework automates) that they show.
localrules:
    plots,
    report,


report: "../report/workflow.rst"


# Every figure of the registry (mlpcompare.figures.FIGURES), captioned from report/captions/.
rule plots:
    input:
        train=arch_run_files("train.json"),
        history=arch_run_files("history.csv"),
        confusion=arch_run_files("confusion.csv"),
        metrics=arch_run_files("metrics.json"),
        performance=RESULTS.table(D, A, "performance"),
        inference=RESULTS.table(D, A, "inference"),
        roofline=RESULTS.machine("roofline.json"),
        throughput=RESULTS.top("throughput.csv"),
        registry=os.path.join(workflow.basedir, "src/mlpcompare/frameworks.yaml"),
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
    script:
        "../scripts/plots.py"


# The template, stylesheet, captions and reference data are inputs: editing them re-renders
# the report, nothing else.
rule report:
    input:
        summary=RESULTS.top("summary.csv"),
        throughput=RESULTS.top("throughput.csv"),
        loc=RESULTS.top("loc.csv"),
        environment=RESULTS.machine("environment.json"),
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
        template=os.path.join(workflow.basedir, "report/templates/report.html.j2"),
        style=os.path.join(workflow.basedir, "report/style.css"),
        captions=[
            os.path.join(workflow.basedir, f"report/captions/{name}.rst")
            for name in figures.FIGURES
        ],
        data=[
            os.path.join(workflow.basedir, f"report/{name}.yaml")
            for name in ("labels", "references")
        ],
        registry=os.path.join(workflow.basedir, "src/mlpcompare/frameworks.yaml"),
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
        config=config,
        runs=RUNS,
    script:
        "../scripts/report.py"
