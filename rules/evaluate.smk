# Per framework: every seed's test-set metrics and predictions, its export to ONNX (model.onnx,
# checked against the framework's predictions in ONNX Runtime) and its inference latency through
# each API, ONNX Runtime included. One job covers all seeds, in the framework's environment:
# starting a framework (TensorFlow ~6 s) cost more than evaluating and timing a model. Timed, so
# it runs alone (see profiles/default).
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
                for name, file in {
                    **layout.EVALUATION_FILES,
                    **layout.EXPORT_FILES,
                }.items()
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


# Deployment inference beside summary.csv: every framework's APIs (eager, serving path, ONNX
# Runtime serving its export) at batch 1 and at their best batch size, with the export's check.
localrules:
    serving,


rule serving:
    input:
        train=run_files("train.json"),
        inference=run_files("inference.csv"),
        inference_info=run_files("inference.json"),
        code=code("serving.py"),
    output:
        RESULTS.top("serving.csv"),
    log:
        "logs/serving/serving.log",
    benchmark:
        "benchmarks/serving/serving.tsv"
    conda:
        "../envs/base.yaml"
    params:
        runs=RUNS,
    script:
        "../scripts/serving.py"
