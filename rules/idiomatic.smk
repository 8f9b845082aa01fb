# The idiomatic variant: each framework's convenient training path (DataLoader + loop,
# model.fit, a plain NumPy loop), timed for training throughput only. One job per framework
# covers every seed. Requested only when bench.idiomatic_epochs > 0 (rules/common.smk).
for framework in FRAMEWORKS:

    # Timed: it runs alone (`timing=TIMED`, see profiles/default).
    rule:
        name:
            f"idiomatic_{framework}"
        input:
            split="results/{dataset}/data/split.npz",
            init=expand("results/{{dataset}}/{{arch}}/init/seed{seed}.npz", seed=SEEDS),
        output:
            f"results/{{dataset}}/{{arch}}/{framework}/idiomatic.json",
        log:
            f"logs/idiomatic/{{dataset}}/{{arch}}/{framework}.log",
        benchmark:
            f"benchmarks/idiomatic/{{dataset}}/{{arch}}/{framework}.tsv"
        conda:
            f"../envs/{framework}.yaml"
        threads: config["threads"]
        resources:
            gpu=gpu_request(),
            timing=TIMED,
        params:
            framework=framework,
            arch=arch_params,
            training=training_params(framework),
            device=config["device"],
            seeds=SEEDS,
            epochs=IDIOMATIC_EPOCHS,
        script:
            "../scripts/idiomatic.py"
