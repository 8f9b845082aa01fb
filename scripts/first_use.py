# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from pathlib import Path

from mlpcompare import devexp, io, logs

# The checkout the workflow runs from (scripts/ is one of its folders).
REPO = Path(snakemake.scriptdir).parent
logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    record = devexp.first_use(snakemake.params.framework, REPO, snakemake.params.repeats)
    io.write_json(record, snakemake.output[0])
