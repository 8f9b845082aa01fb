# results/run.json: the commit, the config, every package version and the machine the
# comparison's results were made with. Made after summary.csv, so it is rewritten exactly when
# the results change (or the config its params hold), and the report, its only reader, never
# re-renders because of it alone. Seconds of work: it runs on the submitting host.
localrules:
    provenance,


rule provenance:
    input:
        summary=RESULTS.top("summary.csv"),
        code=code("provenance.py"),
    output:
        RESULTS.top("run.json"),
    log:
        "logs/provenance/provenance.log",
    benchmark:
        "benchmarks/provenance/provenance.tsv"
    conda:
        "../envs/base.yaml"
    params:
        config=COMPARISON_CONFIG,
    script:
        "../scripts/provenance.py"
