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
try:
    cfg.check(config, cfg.load_schema(SCHEMA))
except cfg.ConfigError as err:
    sys.exit("\n".join(f"config error: {line}" for line in str(err).splitlines()))
validate(config, SCHEMA)

DATASETS = config["datasets"]
FRAMEWORKS = config["frameworks"]
SEEDS = config["seeds"]
ARCHS = cfg.architectures(config)
MODEL_FILES = {"numpy": "model.npz", "torch": "model.pt", "keras": "model.keras"}


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


def gpu_request():
    """Training jobs ask the scheduler for a GPU only when the config insists on CUDA."""
    return 1 if config["device"] == "cuda" else 0


def all_targets():
    targets = []
    for dataset in DATASETS:
        targets += [
            f"results/{dataset}/data/split.npz",
            f"results/{dataset}/eda/sanity.json",
        ]
        for arch in ARCHS:
            for fw in FRAMEWORKS:
                for seed in SEEDS:
                    targets.append(
                        f"results/{dataset}/{arch}/{fw}/seed{seed}/train.json"
                    )
    return targets
