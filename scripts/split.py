# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from pathlib import Path

from mlpcompare import data, io, logs

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    # test_fraction and the synthetic settings come only for the sets they apply to.
    arrays, info = data.make_split(
        snakemake.wildcards.dataset,
        raw_dir=Path(snakemake.input.raw[0]).parent if snakemake.input.raw else None,
        **{"test_fraction": None, **snakemake.params.settings},
    )
    io.write_npz(arrays, snakemake.output.split)
    io.write_json(info, snakemake.output.info)
