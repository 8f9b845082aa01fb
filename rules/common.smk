import os
import sys

from snakemake.utils import min_version, validate

min_version("9.0")

# The workflow's logic is the `mlpcompare` package in src/. Snakemake copies this process's
# sys.path into every Python script it runs (local, conda env or cluster job), so adding src/
# here makes the package importable everywhere without installing it.
sys.path.insert(0, os.path.join(workflow.basedir, "src"))

from mlpcompare import config as cfg
from mlpcompare import codedeps, codesize, figures, frameworks, layout, limits
from mlpcompare.data import IDX_FILES, REMOTE, SYNTHETIC
from mlpcompare.layout import RESULTS

SCHEMA = os.path.join(workflow.basedir, "schemas", "config.schema.yaml")

# One readable line per problem instead of a schema dump, then Snakemake fills the defaults.
SCHEMA_DICT = cfg.load_schema(SCHEMA)
config.update(cfg.coerce_strings(config, SCHEMA_DICT))
try:
    cfg.check(config, SCHEMA_DICT)
except cfg.ConfigError as err:
    sys.exit("\n".join(f"config error: {line}" for line in str(err).splitlines()))
validate(config, SCHEMA)

# Memory a training job asks a cluster for (resources of the train rules; a site may raise it).
TRAIN_MEM_MB = 4000
# What a run needs against what a job has, before any job: each batch against its training
# set, each training job's memory estimate against this machine's memory (a cluster job: its
# mem_mb). One line per problem, no traceback.
try:
    if workflow.local_exec:
        limits.check(config, limits.machine_memory())
    else:
        limits.check(config, TRAIN_MEM_MB * 2**20, where=f"with mem_mb={TRAIN_MEM_MB}")
except cfg.ConfigError as err:
    sys.exit("\n".join(f"config error: {line}" for line in str(err).splitlines()))

DATASETS = config["datasets"]
FRAMEWORKS = config["frameworks"]
SEEDS = config["seeds"]
ARCHS = cfg.architectures(config)
RUNS = layout.run_records(DATASETS, ARCHS, FRAMEWORKS, SEEDS)
# Wildcard patterns of the per-dataset and per-architecture paths, for outputs and inputs.
D, A = "{dataset}", "{arch}"
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


def code(script, *modules):
    """Input: every package file `script` (under scripts/) runs, and `modules` (a framework's,
    from the registry) with what they import: derived from the code (mlpcompare.codedeps), so
    editing a module reruns exactly the jobs that execute it."""
    return codedeps.sources(
        os.path.join(workflow.basedir, "src"),
        os.path.join(workflow.basedir, "scripts", script),
        modules,
    )


def raw_files(wildcards):
    """The downloaded IDX files a split needs (none for the embedded and synthetic sets)."""
    if wildcards.dataset not in REMOTE:
        return []
    return [f"resources/{wildcards.dataset}/{name}" for name in IDX_FILES]


def split_params(wildcards):
    """Params function: the settings that change this dataset's split, and no others (params
    are a rerun trigger): the test fraction only where there is no official test set, the
    synthetic settings only for the synthetic sets."""
    settings = {key: config["split"][key] for key in ("val_fraction", "seed")}
    if wildcards.dataset not in REMOTE:
        settings["test_fraction"] = config["split"]["test_fraction"]
    if wildcards.dataset in SYNTHETIC:
        settings.update(config["synthetic"])
    return settings


def arch_params(wildcards):
    return ARCHS[wildcards.arch]


def training_params(framework):
    """Input function: the `training` mapping as `framework` sees it (overrides applied)."""
    return lambda wildcards: cfg.training_for(config, framework)


def wants_gpu(framework):
    """Whether `framework`'s jobs ask the scheduler for a GPU (config `gpu_jobs`, `device`)."""
    if config["gpu_jobs"] == "auto":
        return config["device"] == "cuda" and frameworks.get(framework).gpu
    return framework in config["gpu_jobs"]


def gpu_request(framework):
    """The `gpu` resource of `framework`'s jobs: 1 (sbatch --gpus=1) or 0."""
    return int(wants_gpu(framework))


def run_file_patterns(framework, name):
    """File `name` of every seed of `framework`, dataset and arch left as wildcards."""
    return [
        RESULTS.run_file(layout.run_pattern(framework, seed), name) for seed in SEEDS
    ]


def runs_of(wildcards):
    """Params function: the run records of one dataset x arch."""
    return [
        run
        for run in RUNS
        if (run["dataset"], run["arch"]) == (wildcards.dataset, wildcards.arch)
    ]


def run_files(name, runs=RUNS):
    """File `name` of each run in `runs`."""
    return [RESULTS.run_file(run, name) for run in runs]


def arch_run_files(name):
    """Input function: file `name` of every run of one dataset x arch."""
    return lambda wildcards: run_files(name, runs_of(wildcards))


IDIOMATIC = (
    [
        {"dataset": d, "arch": a, "framework": fw}
        for d in DATASETS
        for a in ARCHS
        for fw in FRAMEWORKS
    ]
    if IDIOMATIC_EPOCHS
    else []
)


def training_batch_sizes():
    """The training batch sizes in use (framework overrides may change it): the roofline's."""
    return sorted({cfg.training_for(config, fw)["batch_size"] for fw in FRAMEWORKS})


def framework_sources(wildcards):
    """Input function: framework -> its source files (named inputs, via unpack). Folders are
    listed file by file: Snakemake can checksum a file, not a folder, whose modification time
    moves whenever something inside it is created."""
    return {
        fw: [
            str(path)
            for source in frameworks.get(fw).sources
            for path in codesize.python_files(os.path.join(workflow.basedir, source))
        ]
        for fw in FRAMEWORKS
    }


def all_targets():
    targets = [
        RESULTS.top(name)
        for name in ("report.html", "summary.csv", "throughput.csv", "loc.csv")
    ]
    targets += [RESULTS.machine(name) for name in ("roofline.json", "environment.json")]
    targets += [
        RESULTS.idiomatic(r["dataset"], r["arch"], r["framework"]) for r in IDIOMATIC
    ]
    for dataset in DATASETS:
        targets += [RESULTS.split(dataset), RESULTS.eda(dataset, "sanity.json")]
        for arch in ARCHS:
            targets += [
                RESULTS.table(dataset, arch, table) for table in layout.ARCH_TABLES
            ]
    targets += run_files("train.json") + run_files("confusion.csv")
    return targets


onstart:
    # device: cuda without a GPU would fail every GPU job; say so before any job starts.
    # Local runs only: a cluster's submit host has no GPU while its GPU nodes do.
    if (
        config["device"] == "cuda"
        and workflow.local_exec
        and not cfg.nvidia_gpu_visible()
    ):
        sys.exit(
            "config error: device: cuda, but this machine shows no NVIDIA GPU "
            "(use device: auto or cpu, or submit to GPU nodes with --profile profiles/slurm)"
        )
