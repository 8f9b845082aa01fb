# The idiomatic variant: each framework's convenient training path (registry: `idiomatic`,
# e.g. DataLoader + loop, model.fit, a jitted optax loop), timed for training throughput only.
# One job per framework covers every seed. Requested only when bench.idiomatic_epochs > 0.
for framework in FRAMEWORKS:

    # Timed: it runs alone (`timing=TIMED`, see profiles/default).
    rule:
        name:
            f"idiomatic_{framework}"
        input:
            split=RESULTS.split(D),
            init=[RESULTS.init(D, A, seed) for seed in SEEDS],
            code=code(
                "idiomatic.py",
                frameworks.get(framework).trainer,
                frameworks.get(framework).idiomatic,
            ),
        output:
            RESULTS.idiomatic(D, A, framework),
        log:
            f"logs/idiomatic/{{dataset}}/{{arch}}/{framework}.log",
        benchmark:
            f"benchmarks/idiomatic/{{dataset}}/{{arch}}/{framework}.tsv"
        conda:
            f"../{frameworks.get(framework).env}"
        threads: config["threads"]
        resources:
            gpu=gpu_request(framework),
            timing=TIMED,
            runtime=60,
            mem_mb=4000,
        params:
            framework=framework,
            arch=arch_params,
            training=training_params(framework),
            device=config["device"],
            seeds=SEEDS,
            epochs=IDIOMATIC_EPOCHS,
        script:
            "../scripts/idiomatic.py"
