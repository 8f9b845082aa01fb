"""The layout module builds the public artifact paths of DESIGN.md, for rules and readers alike."""

from mlpcompare import frameworks, layout
from mlpcompare.layout import RESULTS, Layout

RUN = {"dataset": "mnist", "arch": "mlp-256-128-64", "framework": "torch", "seed": 2}


def test_public_paths_of_the_design():
    assert RESULTS.split("mnist") == "results/mnist/data/split.npz"
    assert RESULTS.split_info("mnist") == "results/mnist/data/split.json"
    assert RESULTS.eda("mnist", "sanity.json") == "results/mnist/eda/sanity.json"
    assert RESULTS.init("mnist", "mlp-8", 1) == "results/mnist/mlp-8/init/seed1.npz"
    assert RESULTS.run_file(RUN, "metrics.json") == (
        "results/mnist/mlp-256-128-64/torch/seed2/metrics.json"
    )
    assert RESULTS.model(RUN) == "results/mnist/mlp-256-128-64/torch/seed2/model.pt"
    assert RESULTS.table("mnist", "mlp-8", "significance") == "results/mnist/mlp-8/significance.csv"
    assert (
        RESULTS.figure("mnist", "mlp-8", "inference") == "results/mnist/mlp-8/plots/inference.png"
    )
    assert RESULTS.idiomatic("mnist", "mlp-8", "jax") == "results/mnist/mlp-8/jax/idiomatic.json"
    assert RESULTS.top("summary.csv") == "results/summary.csv"
    assert RESULTS.machine("roofline.json") == "results/machine/roofline.json"


def test_every_framework_has_its_own_model_file():
    for name, fw in frameworks.REGISTRY.items():
        assert RESULTS.model({**RUN, "framework": name}).endswith(f"/{name}/seed2/{fw.model_file}")


def test_one_function_gives_rule_patterns_and_paths():
    pattern = RESULTS.run_file(layout.run_pattern("keras"), "train.json")
    assert pattern == "results/{dataset}/{arch}/keras/seed{seed}/train.json"
    assert pattern.format(dataset="digits", arch="a", seed=0) == RESULTS.run_file(
        {"dataset": "digits", "arch": "a", "framework": "keras", "seed": 0}, "train.json"
    )


def test_another_root():
    assert Layout("/tmp/r").top("report.html") == "/tmp/r/report.html"


def test_run_records_are_keyed_by_their_wildcards():
    runs = layout.run_records(["digits", "mnist"], ["a"], ["numpy", "jax"], [0, 1])
    assert len(runs) == 8
    assert runs[0] == {"dataset": "digits", "arch": "a", "framework": "numpy", "seed": 0}
    assert runs[-1] == {"dataset": "mnist", "arch": "a", "framework": "jax", "seed": 1}
