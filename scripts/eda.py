# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import io, logs
from mlpcompare.data import eda
from mlpcompare.presenting import figures

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    arrays = io.read_npz(snakemake.input.split)
    info = io.read_json(snakemake.input.info)
    for name, figure in figures.EDA_FIGURES.items():
        figure.function()(arrays, info, snakemake.output[name])
    io.write_json(eda.stats(arrays, info), snakemake.output.stats)
    io.write_json(
        eda.sanity(arrays, info, snakemake.params.balance_tolerance), snakemake.output.sanity
    )
