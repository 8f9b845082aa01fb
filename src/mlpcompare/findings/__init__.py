"""Published findings: docs/findings.md, written from the studies' small tables.

Two steps, so that the page never depends on what one machine happens to hold:

* :mod:`.collect` copies each finished study's small tables and provenance from
  ``results/studies/<study>/`` into committed files under ``docs/findings/<study>/``; a study
  not run here keeps what an earlier collection committed;
* :mod:`.choice` chooses the best recipe from those tables, on validation accuracy only, and
  writes ``docs/findings/best.json`` (and ``presets/best.yaml`` when a recipe beats the
  project's);
* :mod:`.page` (with :mod:`.figure`) writes docs/findings.md and one figure per study from the
  committed files alone, byte for byte the same on every run (tests/test_findings.py).
"""

# The page's sections, in order: the study (its preset, presets/<study>.yaml) and its heading.
SECTIONS = {
    "regularization": "Regularization",
    "size": "Width and depth",
    "learning-rate": "Learning rate",
    "optimizers": "Optimizers",
    "fashion-mnist": "Fashion-MNIST",
    "seed-notebook": "The seed notebook, reproduced",
    "initialisation": "Initialisation",
    "best": "The best recipe",
}
# Datasets whose studies are findings (a digits run is a smoke test, not a finding).
FINDINGS_DATASETS = ("mnist", "fashion-mnist")
# The files one collected study holds under docs/findings/<study>/.
TABLES = ("runs", "summary", "effects")
STUDY_FILES = (*(f"{name}.csv" for name in TABLES), "variants.json", "provenance.json")
