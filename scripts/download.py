# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from pathlib import Path

from mlpcompare import data, logs

logs.to_file(snakemake.log[0])
logs.run(
    data.download,
    snakemake.wildcards.dataset,
    Path(snakemake.output[0]).parent,
    mirror=snakemake.params.mirror,
)
