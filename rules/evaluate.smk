# Per framework: every seed's test-set metrics and predictions, and its inference latency. One
# job covers all seeds, in the framework's environment: starting a framework (TensorFlow ~6 s)
# cost more than evaluating and timing a model. Timed, so it runs alone (see profiles/default).
for framework in FRAMEWORKS:

    rule:
        name:
            f"evaluate_{framework}"
        input:
            model=[RESULTS.model(layout.run_pattern(framework, seed)) for seed in SEEDS],
            train=run_file_patterns(framework, "train.json"),
            split=RESULTS.split(D),
            info=RESULTS.split_info(D),
            code=code("evaluate.py", frameworks.get(framework).trainer),
        output:
            **{
                name: run_file_patterns(framework, file)
                for name, file in EVALUATION_FILES.items()
            },
        log:
            f"logs/evaluate/{{dataset}}/{{arch}}/{framework}.log",
        benchmark:
            f"benchmarks/evaluate/{{dataset}}/{{arch}}/{framework}.tsv"
        conda:
            f"../{frameworks.get(framework).env}"
        threads: config["threads"]
        resources:
            gpu=gpu_request(framework),
            timing=TIMED,
            runtime=60,
            mem_mb=3000,
        params:
            framework=framework,
            arch=arch_params,
            device=config["device"],
            seeds=SEEDS,
            bench=TIMING_SETTINGS,
        script:
            "../scripts/evaluate.py"
