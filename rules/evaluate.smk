# Per framework: every seed's test-set metrics and predictions, and its inference latency. One
# job covers all seeds, in the framework's environment: starting a framework (TensorFlow ~6 s)
# cost more than evaluating and timing a model. Timed, so it runs alone (see profiles/default).
for framework in FRAMEWORKS:

    rule:
        name:
            f"evaluate_{framework}"
        input:
            model=expand(
                f"results/{{{{dataset}}}}/{{{{arch}}}}/{framework}/seed{{seed}}/{MODEL_FILES[framework]}",
                seed=SEEDS,
            ),
            train=expand(
                f"results/{{{{dataset}}}}/{{{{arch}}}}/{framework}/seed{{seed}}/train.json",
                seed=SEEDS,
            ),
            split="results/{dataset}/data/split.npz",
            info="results/{dataset}/data/split.json",
        output:
            **{
                name: expand(
                    f"results/{{{{dataset}}}}/{{{{arch}}}}/{framework}/seed{{seed}}/{file}",
                    seed=SEEDS,
                )
                for name, file in EVALUATION_FILES.items()
            },
        log:
            f"logs/evaluate/{{dataset}}/{{arch}}/{framework}.log",
        benchmark:
            f"benchmarks/evaluate/{{dataset}}/{{arch}}/{framework}.tsv"
        conda:
            f"../envs/{framework}.yaml"
        threads: config["threads"]
        resources:
            gpu=gpu_request(),
            timing=TIMED,
        params:
            framework=framework,
            arch=arch_params,
            device=config["device"],
            seeds=SEEDS,
            bench=TIMING_SETTINGS,
        script:
            "../scripts/evaluate.py"
