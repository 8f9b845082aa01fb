# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import aggregate, logs

logs.to_file(snakemake.log[0])
runs = aggregate.load_runs(
    snakemake.params.runs,
    metrics=snakemake.input.metrics,
    train=snakemake.input.train,
    inference=snakemake.input.inference,
    inference_info=snakemake.input.inference_info,
)
aggregate.write_compare(
    runs=runs, predictions=snakemake.input.predictions, outputs=snakemake.output
)
