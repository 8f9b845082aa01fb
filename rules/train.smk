rule init:
    input:
        info=RESULTS.split_info(D),
        code=code("init.py"),
    output:
        RESULTS.init(D, A, "{seed}"),
    log:
        "logs/init/{dataset}/{arch}/seed{seed}.log",
    benchmark:
        "benchmarks/init/{dataset}/{arch}/seed{seed}.tsv"
    conda:
        "../envs/base.yaml"
    params:
        arch=arch_params,
    script:
        "../scripts/init.py"


# One training rule per framework: each runs in its own environment (registry: `env`) and
# writes its own model format (registry: `model_file`); everything else about them is identical.
for framework in FRAMEWORKS:

    rule:
        name:
            f"train_{framework}"
        input:
            split=RESULTS.split(D),
            init=RESULTS.init(D, A, "{seed}"),
            code=code("train.py", frameworks.get(framework).trainer),
        output:
            model=RESULTS.model(layout.run_pattern(framework)),
            history=RESULTS.run_file(layout.run_pattern(framework), "history.csv"),
            train=RESULTS.run_file(layout.run_pattern(framework), "train.json"),
        log:
            f"logs/train/{{dataset}}/{{arch}}/{framework}/seed{{seed}}.log",
        benchmark:
            f"benchmarks/train/{{dataset}}/{{arch}}/{framework}/seed{{seed}}.tsv"
        conda:
            f"../{frameworks.get(framework).env}"
        threads: config["threads"]
        resources:
            gpu=gpu_request(framework),
            timing=TIMED,
            runtime=240,
            mem_mb=TRAIN_MEM_MB,
        params:
            framework=framework,
            arch=arch_params,
            training=training_params(framework),
            device=config["device"],
            in_run_ceiling=config["bench"]["in_run_ceiling"],
            # What the framework's idiomatic code imports: the job times it (devexp: first use).
            import_modules=devexp.idiomatic_imports(framework, workflow.basedir),
            import_environment=frameworks.get(framework).import_environment,
        script:
            "../scripts/train.py"
