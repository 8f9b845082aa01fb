# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare.training.import_clock import import_seconds

# First thing, before anything here imports NumPy: the modules a new user's code imports, timed in
# this fresh interpreter (devexp: time to first result).
IMPORT_SECONDS = import_seconds(
    snakemake.params.import_modules, snakemake.params.import_environment
)

from mlpcompare import logs  # noqa: E402
from mlpcompare.training import runs  # noqa: E402

logs.to_file(snakemake.log[0])
logs.run(
    runs.train,
    framework=snakemake.params.framework,
    split_path=snakemake.input.split,
    init_path=snakemake.input.init,
    arch=snakemake.params.arch,
    training=snakemake.params.training,
    seed=int(snakemake.wildcards.seed),
    device=snakemake.params.device,
    in_run_ceiling=snakemake.params.in_run_ceiling,
    threads=snakemake.threads,
    outputs=snakemake.output,
    first_use={"modules": snakemake.params.import_modules, "import_seconds": IMPORT_SECONDS},
)
