# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from pathlib import Path

from mlpcompare import logs
from mlpcompare.data import fetch

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    # The mirror comes from the config, not params: where a checksummed file came from is no
    # reason to fetch it again (rules/data.smk).
    fetch.download(
        snakemake.wildcards.dataset,
        Path(snakemake.output[0]).parent,
        mirror=snakemake.config["mirror"],
    )
