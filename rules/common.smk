import glob
import os
import sys

from snakemake.utils import min_version, validate

min_version("9.0")

# The workflow's logic is the `mlpcompare` package in src/. Snakemake copies this process's
# sys.path into every Python script it runs (local, conda env or cluster job), so adding src/
# here makes the package importable everywhere without installing it.
sys.path.insert(0, os.path.join(workflow.basedir, "src"))

from mlpcompare import config as cfg
from mlpcompare.data import IDX_FILES, REMOTE

SCHEMA = os.path.join(workflow.basedir, "schemas", "config.schema.yaml")

# One readable line per problem instead of a schema dump, then Snakemake fills the defaults.
SCHEMA_DICT = cfg.load_schema(SCHEMA)
config.update(cfg.coerce_strings(config, SCHEMA_DICT))
try:
    cfg.check(config, SCHEMA_DICT)
except cfg.ConfigError as err:
    sys.exit("\n".join(f"config error: {line}" for line in str(err).splitlines()))
validate(config, SCHEMA)

DATASETS = config["datasets"]
FRAMEWORKS = config["frameworks"]
SEEDS = config["seeds"]
ARCHS = cfg.architectures(config)
MODEL_FILES = {"numpy": "model.npz", "torch": "model.pt", "keras": "model.keras"}
# What the evaluate rule writes in every run folder, by output name.
EVALUATION_FILES = {
    "metrics": "metrics.json",
    "predictions": "predictions.npz",
    "confusion": "confusion.csv",
    "inference": "inference.csv",
    "info": "inference.json",
}
# A timed job (training, inference benchmark, roofline, idiomatic variant) asks for this much
# of the `timing` resource: profiles/default makes it the whole budget, so the job runs alone.
TIMED = 100
IDIOMATIC_EPOCHS = config["bench"]["idiomatic_epochs"]
# How the inference benchmark is timed: `bench` without the keys only other jobs use. Params are
# a rerun trigger, so changing those must not reach it.
TIMING_SETTINGS = {
    k: v
    for k, v in config["bench"].items()
    if k not in ("idiomatic_epochs", "roofline_seconds")
}
# The roofline times its matrix products like the benchmark, for their own number of seconds.
ROOFLINE_SETTINGS = {
    **TIMING_SETTINGS,
    "min_seconds": config["bench"]["roofline_seconds"],
}


wildcard_constraints:
    dataset="|".join(DATASETS),
    arch="|".join(ARCHS),
    fw="|".join(FRAMEWORKS),
    seed=r"\d+",


def raw_files(wildcards):
    """The downloaded IDX files a split needs (none for the embedded and synthetic sets)."""
    if wildcards.dataset not in REMOTE:
        return []
    return [f"resources/{wildcards.dataset}/{name}" for name in IDX_FILES]


def arch_params(wildcards):
    return ARCHS[wildcards.arch]


def training_params(framework):
    """Input function: the `training` mapping as `framework` sees it (overrides applied)."""
    return lambda wildcards: cfg.training_for(config, framework)


# Frameworks that can train on a GPU (the NumPy MLP is CPU-only).
GPU_FRAMEWORKS = ("torch", "keras")


def wants_gpu(framework):
    """Whether `framework`'s jobs ask the scheduler for a GPU (config `gpu_jobs`, `device`)."""
    if config["gpu_jobs"] == "auto":
        return config["device"] == "cuda" and framework in GPU_FRAMEWORKS
    return framework in config["gpu_jobs"]


def gpu_request():
    """The `gpu` resource of a per-framework rule: 1 (sbatch --gpus=1) or 0.

    Per-framework rules are named `<step>_<framework>` (train_torch, bench_keras), so the
    framework is read from the rule name Snakemake passes to resource functions.
    """
    return lambda wildcards, rulename: int(wants_gpu(rulename.rsplit("_", 1)[-1]))


def run_keys(dataset=None, arch=None):
    """Every run as dataset, arch, framework, seed; in one order that run_files shares."""
    return [
        {"dataset": d, "arch": a, "framework": fw, "seed": seed}
        for d in ([dataset] if dataset else DATASETS)
        for a in ([arch] if arch else ARCHS)
        for fw in FRAMEWORKS
        for seed in SEEDS
    ]


def run_path(key, name):
    return f"results/{key['dataset']}/{key['arch']}/{key['framework']}/seed{key['seed']}/{name}"


def run_files(name):
    """File `name` of every run, in the order of run_keys()."""
    return [run_path(key, name) for key in run_keys()]


def arch_run_keys(wildcards):
    """Input function: the runs of one dataset x arch."""
    return run_keys(wildcards.dataset, wildcards.arch)


def arch_run_files(name):
    """Input function: file `name` of every run of one dataset x arch, in run_keys order."""
    return lambda wildcards: [run_path(key, name) for key in arch_run_keys(wildcards)]


def idiomatic_keys():
    """Every dataset, arch, framework measured in the idiomatic variant (none when it is off)."""
    if not IDIOMATIC_EPOCHS:
        return []
    return [
        {"dataset": d, "arch": a, "framework": fw}
        for d in DATASETS
        for a in ARCHS
        for fw in FRAMEWORKS
    ]


def idiomatic_files():
    """idiomatic.json of every idiomatic_keys() entry, in that order."""
    return [
        f"results/{key['dataset']}/{key['arch']}/{key['framework']}/idiomatic.json"
        for key in idiomatic_keys()
    ]


def training_batch_sizes():
    """The training batch sizes in use (framework overrides may change it): the roofline's."""
    return sorted({cfg.training_for(config, fw)["batch_size"] for fw in FRAMEWORKS})


# Model and training code of each framework, counted by the loc rule.
SOURCES = {
    "numpy": sorted(
        glob.glob(os.path.join(workflow.basedir, "src/mlpcompare/numpy_mlp/*.py"))
    ),
    "torch": [os.path.join(workflow.basedir, "src/mlpcompare/torch_mlp.py")],
    "keras": [os.path.join(workflow.basedir, "src/mlpcompare/keras_mlp.py")],
}


def framework_sources(wildcards):
    """Input function: framework -> its source files (named inputs, via unpack)."""
    return {fw: SOURCES[fw] for fw in FRAMEWORKS}


def all_targets():
    targets = [
        "results/report.html",
        "results/summary.csv",
        "results/throughput.csv",
        "results/loc.csv",
        "results/machine/roofline.json",
        "results/machine/environment.json",
    ]
    targets += idiomatic_files()
    for dataset in DATASETS:
        targets += [
            f"results/{dataset}/data/split.npz",
            f"results/{dataset}/eda/sanity.json",
        ]
        for arch in ARCHS:
            targets += [
                f"results/{dataset}/{arch}/{table}.csv"
                for table in ("quality", "significance", "performance", "inference")
            ]
            for key in run_keys(dataset, arch):
                targets += [
                    run_path(key, name) for name in ("train.json", "confusion.csv")
                ]
    return targets


onstart:
    # device: cuda without a GPU would fail every torch and keras job; say so before any job
    # starts. Local runs only: a cluster's submit host has no GPU while its GPU nodes do.
    if (
        config["device"] == "cuda"
        and workflow.local_exec
        and not cfg.nvidia_gpu_visible()
    ):
        sys.exit(
            "config error: device: cuda, but this machine shows no NVIDIA GPU "
            "(use device: auto or cpu, or submit to GPU nodes with --profile profiles/slurm)"
        )
