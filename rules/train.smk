rule init:
    input:
        info="results/{dataset}/data/split.json",
    output:
        "results/{dataset}/{arch}/init/seed{seed}.npz",
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


# One training rule per framework: each runs in its own environment and writes its own model
# format; everything else about them is identical.
for framework in FRAMEWORKS:

    rule:
        name:
            f"train_{framework}"
        input:
            split="results/{dataset}/data/split.npz",
            init="results/{dataset}/{arch}/init/seed{seed}.npz",
        output:
            model=f"results/{{dataset}}/{{arch}}/{framework}/seed{{seed}}/{MODEL_FILES[framework]}",
            history=f"results/{{dataset}}/{{arch}}/{framework}/seed{{seed}}/history.csv",
            train=f"results/{{dataset}}/{{arch}}/{framework}/seed{{seed}}/train.json",
        log:
            f"logs/train/{{dataset}}/{{arch}}/{framework}/seed{{seed}}.log",
        benchmark:
            f"benchmarks/train/{{dataset}}/{{arch}}/{framework}/seed{{seed}}.tsv"
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
        script:
            "../scripts/train.py"
