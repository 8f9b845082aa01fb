import os
import sys

from snakemake.logging import logger
from snakemake.utils import min_version, validate

min_version("9.0")

# The workflow's logic is the `mlpcompare` package in src/. Snakemake copies this process's
# sys.path into every Python script it runs (local, conda env or cluster job), so adding src/
# here makes the package importable everywhere without installing it.
sys.path.insert(0, os.path.join(workflow.basedir, "src"))
# Jobs too: an installed (pip install -e) mlpcompare's path would otherwise precede the ones
# Snakemake adds, and a copy of the workflow would run the installed checkout's code.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(
            None, [os.path.join(workflow.basedir, "src"), os.environ.get("PYTHONPATH")]
        )
    )
)

from mlpcompare import config_size

# First, before anything walks the config: one whose YAML aliases expand to millions of values
# would keep every walk below busy for minutes (config_size.size_problem).
if config_size.size_problem(config):
    sys.exit(f"config error: {config_size.size_problem(config)}")

from mlpcompare import config as cfg

from mlpcompare import frameworks, layout, resume, studies
from mlpcompare.measuring import codedeps, codesize, devexp
from mlpcompare.presenting import figures
from mlpcompare.training import limits
from mlpcompare.data import IDX_FILES, REMOTE, SYNTHETIC
from mlpcompare.layout import RESULTS
from mlpcompare.layout import STUDY_RESULTS
from mlpcompare import findings
from mlpcompare.findings import collect

# What a hard stop leaves (a lock, incomplete outputs) makes Snakemake stop with a message that
# names neither the safe order of --unlock and --rerun-incomplete nor `make resume`: say it first.
if workflow.is_main_process and resume.hint(os.getcwd()):
    logger.warning(resume.hint(os.getcwd()))

SCHEMA = os.path.join(workflow.basedir, "schemas", "config.schema.yaml")

# One readable line per problem instead of a schema dump, then Snakemake fills the defaults.
SCHEMA_DICT = cfg.load_schema(SCHEMA)
config.update(cfg.coerce_strings(config, SCHEMA_DICT))
try:
    studies.check(config, SCHEMA_DICT)
except cfg.ConfigError as err:
    sys.exit("\n".join(f"config error: {line}" for line in str(err).splitlines()))
validate(config, SCHEMA)

# Memory a training job asks a cluster for (resources of the train rules; a site may raise it).
TRAIN_MEM_MB = 4000
# What a run needs against what a job has, before any job: each batch against its training
# set, each training job's memory estimate against this machine's memory (a cluster job: its
# mem_mb). One line per problem, no traceback.
STUDIES = studies.from_config(config)
# The config as the main comparison's report shows it: without the studies, so that adding or
# running one (a rerun trigger: params) never re-renders the comparison's report.
COMPARISON_CONFIG = {
    key: value for key, value in config.items() if key not in ("studies", "comparison")
}
# The main comparison (when it runs) and every study variant, each as a config of its own.
CHECKED = [config] * config["comparison"] + [
    variant.as_config(config)
    for study in STUDIES.values()
    for variant in study.variants
]
try:
    for checked in CHECKED:
        if workflow.local_exec:
            limits.check(checked, limits.machine_memory())
        else:
            limits.check(
                checked, TRAIN_MEM_MB * 2**20, where=f"with mem_mb={TRAIN_MEM_MB}"
            )
except cfg.ConfigError as err:
    sys.exit("\n".join(f"config error: {line}" for line in str(err).splitlines()))

DATASETS = config["datasets"]
FRAMEWORKS = config["frameworks"]
SEEDS = config["seeds"]
ARCHS = cfg.architectures(config)
RUNS = layout.run_records(DATASETS, ARCHS, FRAMEWORKS, SEEDS)
# Wildcard patterns of the per-dataset and per-architecture paths, for outputs and inputs.
D, A = "{dataset}", "{arch}"
# A timed job (training, inference benchmark, roofline, idiomatic variant) asks for this much
# of the `timing` resource: profiles/default makes it the whole budget, so the job runs alone.
TIMED = 100
# How the inference benchmark is timed: `bench` without the keys only other jobs use. Params are
# a rerun trigger, so changing those must not reach it.
TIMING_SETTINGS = {
    k: v
    for k, v in config["bench"].items()
    if k not in ("idiomatic", "idiomatic_seeds", "roofline_seconds", "in_run_ceiling")
}
# The roofline times its matrix products like the benchmark, for their own number of seconds.
ROOFLINE_SETTINGS = {
    **TIMING_SETTINGS,
    "min_seconds": config["bench"]["roofline_seconds"],
}


# Datasets whose data rules may run: the comparison's and the studies'.
DATA_SETS = list(
    dict.fromkeys(DATASETS + [d for study in STUDIES.values() for d in study.datasets])
)


wildcard_constraints:
    dataset="|".join(DATA_SETS),
    arch="|".join(ARCHS),
    fw="|".join(FRAMEWORKS),
    seed=r"\d+",


def repo_file(*parts):
    """A file of this checkout, as an input: relative to the working directory, so that a moved
    or copied checkout (the same files elsewhere) has the same set of inputs and reruns nothing.
    """
    return os.path.relpath(os.path.join(workflow.basedir, *parts))


def code(script, *modules):
    """Input: every package file `script` (under scripts/) runs, and `modules` (a framework's,
    from the registry) with what they import: derived from the code (mlpcompare.measuring.codedeps), so
    editing a module reruns exactly the jobs that execute it."""
    found = codedeps.sources(
        os.path.join(workflow.basedir, "src"),
        os.path.join(workflow.basedir, "scripts", script),
        modules,
    )
    return [os.path.relpath(path) for path in found]


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
    return lambda wildcards: cfg.training_for(config, framework, wildcards.dataset)


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
    if config["bench"]["idiomatic"]
    else []
)


# The seeds the idiomatic variant trains: the first bench.idiomatic_seeds of `seeds` (null: all).
IDIOMATIC_SEEDS = SEEDS[: config["bench"]["idiomatic_seeds"]]
# Every idiomatic run, keyed like a tuned one (mlpcompare.layout: idiomatic_run_file).
IDIOMATIC_RUNS = [{**r, "seed": seed} for r in IDIOMATIC for seed in IDIOMATIC_SEEDS]


def idiomatic_file_patterns(framework, name):
    """File `name` of every seed's idiomatic run of `framework`, dataset and arch as wildcards."""
    return [
        RESULTS.idiomatic_run_file(layout.run_pattern(framework, seed), name)
        for seed in IDIOMATIC_SEEDS
    ]


def idiomatic_run_files(name):
    """File `name` of every idiomatic run (none when the variant is off)."""
    return [RESULTS.idiomatic_run_file(run, name) for run in IDIOMATIC_RUNS]


def arch_idiomatic_files(name):
    """Input function: file `name` of every idiomatic run of one dataset x arch (none when the
    variant is off)."""
    return lambda wildcards: [
        RESULTS.idiomatic_run_file(run, name)
        for run in IDIOMATIC_RUNS
        if (run["dataset"], run["arch"]) == (wildcards.dataset, wildcards.arch)
    ]


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
            for path in codesize.python_files(repo_file(source))
        ]
        for fw in FRAMEWORKS
    }


def all_targets():
    """The main comparison's files (config `comparison`) and every study's report."""
    targets = [STUDY_RESULTS.report(name) for name in STUDIES]
    targets += [STUDY_RESULTS.provenance(name) for name in STUDIES]
    if config["comparison"]:
        targets += comparison_targets()
    return targets


def comparison_targets():
    targets = [
        RESULTS.top(name)
        for name in ("report.html", "summary.csv", "throughput.csv", "loc.csv")
    ]
    targets += [RESULTS.machine(name) for name in ("roofline.json", "environment.json")]
    targets.append(RESULTS.top("run.json"))  # provenance (rules/provenance.smk)
    # Deployment inference (rules/evaluate.smk).
    targets.append(RESULTS.top("serving.csv"))
    if IDIOMATIC:
        targets.append(RESULTS.top("idiomatic.csv"))
    # Each idiomatic run's training record and evaluation (rules/idiomatic.smk).
    targets += idiomatic_run_files("train.json") + idiomatic_run_files("confusion.csv")
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
    if workflow.local_exec and not cfg.nvidia_gpu_visible():
        for where in cuda_settings():
            sys.exit(
                f"config error: {where}, but this machine shows no NVIDIA GPU "
                "(use device: auto or cpu, or submit to GPU nodes with --profile profiles/slurm)"
            )


def cuda_settings():
    """Where the config asks for CUDA: `device: cuda` of the main comparison or of a study."""
    found = (
        ["device: cuda"] if config["comparison"] and config["device"] == "cuda" else []
    )
    for name, study in STUDIES.items():
        cuda = [variant.name for variant in study.variants if variant.device == "cuda"]
        if cuda:
            found.append(f"study {name} runs variant {cuda[0]} with device: cuda")
    return found


# The committed copies of the studies' tables that docs/findings.md is written from
# (rules/findings.smk).
FINDINGS = "docs/findings"


# --- Studies (rules/studies.smk) ---


def study_variant(wildcards):
    """The variant a study job works on (a mlpcompare.studies.Variant)."""
    return VARIANTS[wildcards.study, wildcards.variant]


VARIANTS = {
    (name, variant.name): variant
    for name, study in STUDIES.items()
    for variant in study.variants
}


def study_run_files(study, framework, name):
    """Input/output list: file `name` of every seed of one framework in one variant."""
    return [
        STUDY_RESULTS.run_file(study, "{variant}", framework, seed, name)
        for seed in SEEDS
    ]


def every_study_run_file(name):
    """Input function: file `name` of every run of a study (variants x frameworks x seeds)."""
    return lambda wildcards: [
        STUDY_RESULTS.run_file(wildcards.study, variant.name, fw, seed, name)
        for variant in STUDIES[wildcards.study].variants
        for fw in variant.frameworks
        for seed in SEEDS
    ]


def study_gpu_request(framework):
    """1 when a variant trains `framework` on CUDA (or gpu_jobs lists it), else 0."""

    def request(wildcards):
        variant = study_variant(wildcards)
        if config["gpu_jobs"] == "auto":
            return int(variant.device == "cuda" and frameworks.get(framework).gpu)
        return int(framework in config["gpu_jobs"])

    return request
