# `snakemake` is the object Snakemake injects into every script: see rules/*.smk.
from mlpcompare import initialisation, io, logs, spec

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    info = io.read_json(snakemake.input.info)
    model_spec = spec.ModelSpec.from_info(snakemake.params.arch, info)
    scheme = initialisation.scheme_of(snakemake.params.arch)
    weights = initialisation.initial_weights(model_spec, int(snakemake.wildcards.seed), scheme)
    io.write_npz(weights, snakemake.output[0])
