# Studies (config `studies`, mlpcompare.studies): each variant is a complete recipe trained in
# every framework, in its own folder results/studies/{study}/{variant}/. The data split is the
# main comparison's; nothing here writes under the main comparison's paths.


# Seconds of work from files already made: they run on the submitting host.
localrules:
    study_init,
    study_tables,
    study_report,
    study_provenance,


wildcard_constraints:
    study="|".join(STUDIES) or "no-study",
    variant=r"[a-z0-9][a-z0-9._-]*",


# One job per variant writes every seed's initial weights (a few milliseconds each).
rule study_init:
    input:
        info=lambda wildcards: RESULTS.split_info(study_variant(wildcards).dataset),
        code=code("study_init.py"),
    output:
        [STUDY_RESULTS.init("{study}", "{variant}", seed) for seed in SEEDS],
    log:
        "logs/studies/{study}/{variant}/init.log",
    conda:
        "../envs/base.yaml"
    params:
        arch=lambda wildcards: study_variant(wildcards).arch,
        seeds=SEEDS,
    script:
        "../scripts/study_init.py"


# Per variant and framework: every seed trained and measured in one process (a framework's
# start-up would otherwise dominate a study of small runs). Timed, so it runs alone.
for framework in FRAMEWORKS:

    rule:
        name:
            f"study_run_{framework}"
        input:
            split=lambda wildcards: RESULTS.split(study_variant(wildcards).dataset),
            init=[STUDY_RESULTS.init("{study}", "{variant}", seed) for seed in SEEDS],
            code=code("study_run.py", frameworks.get(framework).trainer),
        output:
            **{
                name: study_run_files("{study}", framework, file)
                for name, file in layout.STUDY_RUN_FILES.items()
            },
        log:
            f"logs/studies/{{study}}/{{variant}}/{framework}.log",
        benchmark:
            f"benchmarks/studies/{{study}}/{{variant}}/{framework}.tsv"
        conda:
            f"../{frameworks.get(framework).env}"
        threads: config["threads"]
        resources:
            gpu=study_gpu_request(framework),
            timing=TIMED,
            runtime=240,
            mem_mb=TRAIN_MEM_MB,
        params:
            framework=framework,
            arch=lambda wildcards: study_variant(wildcards).arch,
            training=lambda wildcards, fw=framework: study_variant(
                wildcards
            ).training_for(config, fw),
            device=lambda wildcards: study_variant(wildcards).device,
            seeds=SEEDS,
            in_run_ceiling=config["bench"]["in_run_ceiling"],
        script:
            "../scripts/study_run.py"


# The study's tables: every run, the variant x framework summary with seed intervals, and the
# effect of each axis with its 95 % interval (mlpcompare.studies.tables).
rule study_tables:
    input:
        train=every_study_run_file("train.json"),
        history=every_study_run_file("history.csv"),
        metrics=every_study_run_file("metrics.json"),
        code=code("study_tables.py"),
    output:
        **{name: STUDY_RESULTS.table("{study}", name) for name in layout.STUDY_TABLES},
    log:
        "logs/studies/{study}/tables.log",
    conda:
        "../envs/base.yaml"
    params:
        study=lambda wildcards: STUDIES[wildcards.study].describe(config),
        seeds=SEEDS,
    script:
        "../scripts/study_tables.py"


# The study's figures (results/studies/{study}/plots/) and its self-contained report.
rule study_report:
    input:
        **{name: STUDY_RESULTS.table("{study}", name) for name in layout.STUDY_TABLES},
        history=every_study_run_file("history.csv"),
        template=repo_file("report/templates/study.html.j2"),
        style=repo_file("report/style.css"),
        registry=repo_file("src/mlpcompare/frameworks/frameworks.yaml"),
        references=repo_file("report/references.yaml"),
        code=code("study_report.py"),
    output:
        **{
            name: STUDY_RESULTS.figure("{study}", name)
            for name in studies.STUDY_FIGURES
        },
        report=report(
            STUDY_RESULTS.report("{study}"),
            caption="../report/captions/study.rst",
            category="Studies",
        ),
    log:
        "logs/studies/{study}/report.log",
    conda:
        "../envs/base.yaml"
    params:
        study=lambda wildcards: STUDIES[wildcards.study].describe(config),
        seeds=SEEDS,
    script:
        "../scripts/study_report.py"


# results/studies/{study}/run.json: the commit, config, packages and machine of the study's
# tables (mlpcompare.measuring.provenance), made after them; the findings page names them.
rule study_provenance:
    input:
        summary=STUDY_RESULTS.table("{study}", "summary"),
        code=code("provenance.py"),
    output:
        STUDY_RESULTS.provenance("{study}"),
    log:
        "logs/studies/{study}/provenance.log",
    conda:
        "../envs/base.yaml"
    params:
        config=lambda wildcards: {
            **COMPARISON_CONFIG,
            "studies": {wildcards.study: config["studies"][wildcards.study]},
        },
    script:
        "../scripts/provenance.py"
