# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import io, logs
from mlpcompare.measuring import bench, roofline

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    result = roofline.machine_roofline(
        infos={
            dataset: io.read_json(path)
            for dataset, path in zip(snakemake.params.datasets, snakemake.input.info, strict=True)
        },
        archs=snakemake.params.archs,
        batch_sizes=snakemake.params.batch_sizes,
        threads=snakemake.threads,
        settings=bench.Settings.from_config(snakemake.params.bench),
    )
    io.write_json(result, snakemake.output[0])
