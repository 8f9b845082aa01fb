# `snakemake` is the object Snakemake injects into every script: see rules/studies.smk.
from mlpcompare import initialisation, io, logs, spec

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    info = io.read_json(snakemake.input.info)
    model_spec = spec.ModelSpec.from_info(snakemake.params.arch, info)
    scheme = initialisation.scheme_of(snakemake.params.arch)
    for seed, path in zip(snakemake.params.seeds, snakemake.output, strict=True):
        io.write_npz(initialisation.initial_weights(model_spec, int(seed), scheme), path)
