"""Studies: the questions users bring ("what does dropout do?"), each a few lines of config.

A study starts from a base recipe — the main comparison's dataset, architecture and training
recipe, changed by the study's ``base`` — and varies one or two *axes*. Each combination of axis
levels is a *variant*: a complete recipe with its own results folder,
``results/studies/{study}/{variant}/`` (:class:`mlpcompare.layout.StudyLayout`), so studies never
overwrite each other or the main comparison (whose paths do not change). The data splits are
shared with the main comparison.

* :mod:`.design`: axes and variants from the config (:func:`build`, :func:`from_config`);
* :mod:`.checks`: what the schema cannot see in a study (:func:`check` checks a whole config);
* :mod:`.runs`: one variant trained in one framework (rule ``study_run_{framework}``);
* :mod:`.tables`, :mod:`.plots`, :mod:`.report`: the study's tables, figures and report.
"""

from mlpcompare.studies.checks import check, config_problems, problems
from mlpcompare.studies.design import Axis, Study, Variant, build, from_config, label

__all__ = [
    "MEASURES", "STUDY_FIGURES", "Axis", "Study", "Variant", "build", "check", "config_problems",
    "from_config", "label", "problems",
]  # fmt: skip

# What the study report plots against the axis, by column of the study's summary table.
MEASURES = {
    "test_accuracy": "test accuracy",
    "generalisation_gap": "generalisation gap (train − validation accuracy)",
    "epochs_to_target": "epochs to target",
    "time_to_target_s": "time to target (s)",
    "samples_per_s": "training samples/s",
}
# The study report's figures (mlpcompare.studies.plots): each measure, and the learning curves.
STUDY_FIGURES = (*MEASURES, "learning_curves", "intensity")
