# `snakemake` is the object Snakemake injects into every script: see rules/findings.smk.
from pathlib import Path

from mlpcompare import logs
from mlpcompare.findings import page

logs.to_file(snakemake.log[0])
with logs.one_line_errors():
    # Snakemake sets __file__ to this script's real path: its checkout is the folder above.
    repo = Path(__file__).resolve().parent.parent
    page.write(
        Path(snakemake.input.choice).parent,
        repo / "presets",
        snakemake.input.references,
        snakemake.output.page,
    )
