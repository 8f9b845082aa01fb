# mlpcompare: the same MLP trained in NumPy, PyTorch and Keras, compared honestly.
# This file only wires: config, rule files, the default target.


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/idiomatic.smk"
include: "rules/evaluate.smk"
include: "rules/aggregate.smk"
include: "rules/report.smk"
include: "rules/studies.smk"


rule all:
    default_target: True
    input:
        all_targets(),
