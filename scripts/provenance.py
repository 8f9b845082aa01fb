# `snakemake` is the object Snakemake injects into every script: see rules/provenance.smk.
from pathlib import Path

from mlpcompare import io, logs
from mlpcompare.measuring import provenance

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    # Snakemake sets __file__ to this script's real path: its checkout is the folder above.
    repo = Path(__file__).resolve().parent.parent
    io.write_json(provenance.record(snakemake.params.config, repo), snakemake.output[0])
