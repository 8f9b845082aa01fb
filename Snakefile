# mlpcompare: the same MLP trained in NumPy, PyTorch, Keras and JAX, compared honestly.
# This file only wires: config, rule files, the default target, where to look when it is done.


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/idiomatic.smk"
include: "rules/evaluate.smk"
include: "rules/aggregate.smk"
include: "rules/provenance.smk"
include: "rules/report.smk"
include: "rules/studies.smk"
include: "rules/findings.smk"


rule all:
    default_target: True
    input:
        all_targets(),


onsuccess:
    # Where to look: the main comparison's report and each study's, those that exist.
    for target in all_targets():
        if target.endswith("report.html") and os.path.exists(target):
            print(f"report: {target}")
