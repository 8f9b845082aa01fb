# `snakemake` is the object Snakemake injects into every script: see rules/findings.smk.
from pathlib import Path

from mlpcompare import logs
from mlpcompare.findings import choice, collect

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    # Snakemake sets __file__ to this script's real path: its checkout is the folder above.
    repo = Path(__file__).resolve().parent.parent
    out = Path(snakemake.output.choice).parent
    studies = collect.collect(
        collect.results_root(snakemake.input.tables), repo / "presets", snakemake.params.config,
        snakemake.params.studies, snakemake.params.datasets, out,
    )  # fmt: skip
    made = choice.choose(out, studies, snakemake.params.config)
    choice.write(made, snakemake.output.choice, repo / "presets" / "best.yaml")
