# docs/findings.md (`make findings`): the studies' small tables copied into committed files under
# docs/findings/, the best recipe chosen from them, then the page and its figures written from
# those files alone (mlpcompare.findings). Seconds of work: it runs on the submitting host.
localrules:
    findings,
    findings_tables,
    findings_page,


# Copies each finished study (results/studies/<study>/) into docs/findings/<study>/, keeping
# what an earlier collection committed for a study not run here; then chooses the best recipe
# on validation accuracy (docs/findings/best.json; presets/best.yaml when one beats the
# project's recipe).
rule findings_tables:
    input:
        tables=collect.table_paths(STUDY_RESULTS.root, findings.SECTIONS),
        provenance=collect.provenance_paths(STUDY_RESULTS.root, findings.SECTIONS),
        code=code("findings_tables.py"),
    output:
        choice=f"{FINDINGS}/best.json",
    log:
        "logs/findings/tables.log",
    conda:
        "../envs/base.yaml"
    params:
        config=COMPARISON_CONFIG,
        studies=list(findings.SECTIONS),
        datasets=list(findings.FINDINGS_DATASETS),
    script:
        "../scripts/findings_tables.py"


# The page and one figure per collected study (docs/findings/<study>.svg), from the committed
# files only: the same files give the same bytes (tests/test_findings.py).
rule findings_page:
    input:
        choice=f"{FINDINGS}/best.json",
        references=repo_file("report/references.yaml"),
        code=code("findings_page.py"),
    output:
        page="docs/findings.md",
    log:
        "logs/findings/page.log",
    conda:
        "../envs/base.yaml"
    script:
        "../scripts/findings_page.py"


rule findings:
    input:
        "docs/findings.md",
