# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import io, logs
from mlpcompare.measuring import codesize

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    sources = {fw: list(snakemake.input[fw]) for fw in snakemake.params.frameworks}
    io.write_csv(codesize.count(sources), snakemake.output[0], ["framework", "files", "loc"])
