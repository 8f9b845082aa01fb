# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from pathlib import Path

from mlpcompare import data, io, logs

logs.to_file(snakemake.log[0])
arrays, info = logs.run(
    data.make_split,
    snakemake.wildcards.dataset,
    raw_dir=Path(snakemake.input[0]).parent if snakemake.input else None,
    val_fraction=snakemake.params.split["val_fraction"],
    test_fraction=snakemake.params.split["test_fraction"],
    seed=snakemake.params.split["seed"],
    n_samples=snakemake.params.synthetic["n_samples"],
    noise=snakemake.params.synthetic["noise"],
)
io.write_npz(arrays, snakemake.output.split)
io.write_json(info, snakemake.output.info)
