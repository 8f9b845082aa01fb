# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import eda, io, logs, plots

logs.to_file(snakemake.log[0])
arrays = io.read_npz(snakemake.input.split)
info = io.read_json(snakemake.input.info)
shape = info["image_shape"]
plots.sample_grid(
    arrays["x_train"], arrays["y_train"], info["classes"], shape, snakemake.output.samples
)
plots.class_balance(info["class_counts"], info["classes"], snakemake.output.balance)
plots.pixel_stats(arrays["x_train"], shape, snakemake.output.pixels)
io.write_json(eda.stats(arrays, info), snakemake.output.stats)
io.write_json(eda.sanity(arrays, info, snakemake.params.balance_tolerance), snakemake.output.sanity)
