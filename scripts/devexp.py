# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from pathlib import Path

from mlpcompare import logs
from mlpcompare.measuring import devexp

# The checkout the workflow runs from (scripts/ is one of its folders).
REPO = Path(snakemake.scriptdir).parent
logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    devexp.write_devexp(
        names=snakemake.params.frameworks,
        runs=snakemake.params.runs,
        idiomatic=snakemake.params.idiomatic,
        repo=REPO,
        first_use_files=list(snakemake.input.first_use),
        train_files=list(snakemake.input.train),
        idiomatic_files=list(snakemake.input.idiomatic),
        output=snakemake.output[0],
    )
