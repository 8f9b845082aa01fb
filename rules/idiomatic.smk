# The idiomatic variant: each framework's convenient training path (registry: `idiomatic`,
# e.g. DataLoader + loop, model.fit, a jitted optax loop) with the tuned run's full recipe, then
# evaluated as a tuned run is (metrics, confusion, inference through the framework's own
# prediction call). One job per framework covers every seed, training and evaluation in one
# process (starting TensorFlow alone takes ~6 s). Requested only when bench.idiomatic is on, for
# the first bench.idiomatic_seeds seeds.

for framework in FRAMEWORKS:

    # Timed: it runs alone (`timing=TIMED`, see profiles/default).
    rule:
        name:
            f"train_idiomatic_{framework}"
        input:
            split=RESULTS.split(D),
            info=RESULTS.split_info(D),
            init=[RESULTS.init(D, A, seed) for seed in IDIOMATIC_SEEDS],
            code=code(
                "train_idiomatic.py",
                frameworks.get(framework).trainer,
                frameworks.get(framework).idiomatic,
            ),
        output:
            **{
                name: idiomatic_file_patterns(framework, file)
                for name, file in {
                    **layout.TRAIN_FILES,
                    **layout.EVALUATION_FILES,
                }.items()
            },
            model=[
                RESULTS.idiomatic_model(layout.run_pattern(framework, seed))
                for seed in IDIOMATIC_SEEDS
            ],
            summary=RESULTS.idiomatic(D, A, framework),
        log:
            f"logs/train_idiomatic/{{dataset}}/{{arch}}/{framework}.log",
        benchmark:
            f"benchmarks/train_idiomatic/{{dataset}}/{{arch}}/{framework}.tsv"
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
            seeds=IDIOMATIC_SEEDS,
            bench=TIMING_SETTINGS,
        script:
            "../scripts/train_idiomatic.py"
