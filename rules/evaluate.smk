# Per run: test-set metrics and predictions (evaluate), inference latency (bench). One rule of
# each per framework, in that framework's environment, as for training.
for framework in FRAMEWORKS:

    rule:
        name:
            f"evaluate_{framework}"
        input:
            model=f"results/{{dataset}}/{{arch}}/{framework}/seed{{seed}}/{MODEL_FILES[framework]}",
            train=f"results/{{dataset}}/{{arch}}/{framework}/seed{{seed}}/train.json",
            split="results/{dataset}/data/split.npz",
            info="results/{dataset}/data/split.json",
        output:
            metrics=f"results/{{dataset}}/{{arch}}/{framework}/seed{{seed}}/metrics.json",
            predictions=f"results/{{dataset}}/{{arch}}/{framework}/seed{{seed}}/predictions.npz",
            confusion=f"results/{{dataset}}/{{arch}}/{framework}/seed{{seed}}/confusion.csv",
        log:
            f"logs/evaluate/{{dataset}}/{{arch}}/{framework}/seed{{seed}}.log",
        benchmark:
            f"benchmarks/evaluate/{{dataset}}/{{arch}}/{framework}/seed{{seed}}.tsv"
        conda:
            f"../envs/{framework}.yaml"
        threads: config["threads"]
        resources:
            gpu=gpu_request(),
        params:
            framework=framework,
            arch=arch_params,
            device=config["device"],
        script:
            "../scripts/evaluate.py"

    # Timed: `timing=1` (limited to 1 in the profile) keeps other timed jobs off the cores.
    rule:
        name:
            f"bench_{framework}"
        input:
            model=f"results/{{dataset}}/{{arch}}/{framework}/seed{{seed}}/{MODEL_FILES[framework]}",
            split="results/{dataset}/data/split.npz",
            info="results/{dataset}/data/split.json",
        output:
            inference=f"results/{{dataset}}/{{arch}}/{framework}/seed{{seed}}/inference.csv",
            info=f"results/{{dataset}}/{{arch}}/{framework}/seed{{seed}}/inference.json",
        log:
            f"logs/bench/{{dataset}}/{{arch}}/{framework}/seed{{seed}}.log",
        benchmark:
            f"benchmarks/bench/{{dataset}}/{{arch}}/{framework}/seed{{seed}}.tsv"
        conda:
            f"../envs/{framework}.yaml"
        threads: config["threads"]
        resources:
            gpu=gpu_request(),
            timing=1,
        params:
            framework=framework,
            arch=arch_params,
            device=config["device"],
            bench=config["bench"],
        script:
            "../scripts/bench.py"
