# Figures and the HTML report: seconds of work from files already made, so they run on the
# submitting host. The code that draws and renders is declared as input, so editing it reruns
# these rules (Snakemake's own code trigger covers only the script file).
localrules:
    plots,
    report,


report: "../report/workflow.rst"


rule plots:
    input:
        train=arch_run_files("train.json"),
        history=arch_run_files("history.csv"),
        confusion=arch_run_files("confusion.csv"),
        metrics=arch_run_files("metrics.json"),
        performance="results/{dataset}/{arch}/performance.csv",
        inference="results/{dataset}/{arch}/inference.csv",
        roofline="results/machine/roofline.json",
        throughput="results/throughput.csv",
        code=os.path.join(workflow.basedir, "src/mlpcompare/plots.py"),
    output:
        learning_curves=report(
            "results/{dataset}/{arch}/plots/learning_curves.png",
            caption="../report/captions/learning_curves.rst",
            category="{dataset} · {arch}",
            labels={"figure": "learning curves"},
        ),
        time_to_accuracy=report(
            "results/{dataset}/{arch}/plots/time_to_accuracy.png",
            caption="../report/captions/time_to_accuracy.rst",
            category="{dataset} · {arch}",
            labels={"figure": "time to accuracy"},
        ),
        confusion=report(
            "results/{dataset}/{arch}/plots/confusion.png",
            caption="../report/captions/confusion.rst",
            category="{dataset} · {arch}",
            labels={"figure": "confusion matrices"},
        ),
        per_class_f1=report(
            "results/{dataset}/{arch}/plots/per_class_f1.png",
            caption="../report/captions/per_class_f1.rst",
            category="{dataset} · {arch}",
            labels={"figure": "per-class F1"},
        ),
        training=report(
            "results/{dataset}/{arch}/plots/training.png",
            caption="../report/captions/training.rst",
            category="{dataset} · {arch}",
            labels={"figure": "training time and throughput"},
        ),
        inference=report(
            "results/{dataset}/{arch}/plots/inference.png",
            caption="../report/captions/inference.rst",
            category="{dataset} · {arch}",
            labels={"figure": "inference latency"},
        ),
    log:
        "logs/plots/{dataset}/{arch}.log",
    benchmark:
        "benchmarks/plots/{dataset}/{arch}.tsv"
    conda:
        "../envs/base.yaml"
    params:
        runs=arch_run_keys,
    script:
        "../scripts/plots.py"


# The template and the stylesheet are inputs: editing them re-renders the report, nothing else.
rule report:
    input:
        summary="results/summary.csv",
        throughput="results/throughput.csv",
        loc="results/loc.csv",
        environment="results/machine/environment.json",
        roofline="results/machine/roofline.json",
        split=expand("results/{dataset}/data/split.json", dataset=DATASETS),
        sanity=expand("results/{dataset}/eda/sanity.json", dataset=DATASETS),
        eda=expand(
            "results/{dataset}/eda/{figure}.png",
            dataset=DATASETS,
            figure=["samples", "class_balance", "pixel_stats"],
        ),
        tables=expand(
            "results/{dataset}/{arch}/{table}.csv",
            dataset=DATASETS,
            arch=ARCHS,
            table=["quality", "performance", "significance", "inference"],
        ),
        figures=expand(
            "results/{dataset}/{arch}/plots/{figure}.png",
            dataset=DATASETS,
            arch=ARCHS,
            figure=[
                "learning_curves",
                "time_to_accuracy",
                "confusion",
                "per_class_f1",
                "training",
                "inference",
            ],
        ),
        train=run_files("train.json"),
        template=os.path.join(workflow.basedir, "report/templates/report.html.j2"),
        style=os.path.join(workflow.basedir, "report/style.css"),
        code=os.path.join(workflow.basedir, "src/mlpcompare/report.py"),
    output:
        report(
            "results/report.html",
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
        runs=run_keys(),
    script:
        "../scripts/report.py"
