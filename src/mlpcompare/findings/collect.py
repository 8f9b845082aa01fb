"""Copy each finished study's small tables into committed files under ``docs/findings/<study>/``.

A study is finished when its runs, summary and effects tables exist. Beside them go the
variants' recipes (``variants.json``, what :mod:`mlpcompare.findings.choice` writes a preset
from) and the provenance of the numbers (``provenance.json``: commit, date, machine, the
frameworks' versions). A study that is not finished here, or ran on another dataset than
:data:`~mlpcompare.findings.FINDINGS_DATASETS` allows, keeps whatever an earlier collection
committed: collecting on one machine never erases another's numbers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from mlpcompare import frameworks, io
from mlpcompare.findings import STUDY_FILES, TABLES
from mlpcompare.layout import StudyLayout
from mlpcompare.measuring import provenance
from mlpcompare.studies import design

# The packages whose versions decide the last bits of a figure, recorded with the numbers:
# NumPy (the data, the initial weights) and every framework's own (the registry's).
KEY_PACKAGES = tuple(
    dict.fromkeys(["numpy", *(p for fw in frameworks.NAMES for p in frameworks.get(fw).packages)])
)


def finished(results: str | Path, study: str) -> bool:
    layout = StudyLayout(str(results))
    return all(Path(layout.table(study, name)).is_file() for name in TABLES)


def table_paths(results: str | Path, studies) -> list[str]:
    """The tables of every finished study among ``studies`` (the collect rule's inputs)."""
    layout = StudyLayout(str(results))
    return [
        layout.table(study, name) for study in studies if finished(results, study)
        for name in TABLES
    ]  # fmt: skip


def run_json(results: str | Path, study: str) -> Path | None:
    """The run.json a study is collected with: its own or, for a study run before studies
    wrote their own, the main comparison's; None when neither exists."""
    own = Path(StudyLayout(str(results)).provenance(study))
    shared = Path(results) / "run.json"
    return own if own.is_file() else shared if shared.is_file() else None


def provenance_paths(results: str | Path, studies) -> list[str]:
    """The run.json of every finished study among ``studies`` (the collect rule's inputs)."""
    found = (run_json(results, s) for s in studies if finished(results, s))
    return list(dict.fromkeys(str(path) for path in found if path is not None))


def results_root(tables) -> Path | None:
    """The results folder the collect rule's ``tables`` (``<root>/studies/<study>/<name>.csv``)
    lie in; None when no study is finished."""
    return Path(tables[0]).parents[2] if tables else None


def recipes(study: str, run: dict | None, presets: Path, config: dict) -> tuple[list, str]:
    """The variants of ``study`` as plain recipes, and where they were read from: the study's
    own run.json (the config it ran with) or, for a study run before run.json existed, its
    preset with ``config`` (config.yaml) as they are now."""
    if run is not None and study in run["config"].get("studies", {}):
        source, used = "results/studies/<study>/run.json", run["config"]
    else:
        source = f"presets/{study}.yaml with config.yaml at collection"
        used = {**config, **yaml.safe_load((presets / f"{study}.yaml").read_text())}
    built = design.build(study, used["studies"][study], used)
    variants = [
        {"name": v.name, "levels": list(v.levels), "dataset": v.dataset, "device": v.device,
         "arch": v.arch, "training": v.training, "frameworks": list(v.frameworks)}
        for v in built.variants
    ]  # fmt: skip
    return variants, source


def provenance_of(run: dict | None, source: str) -> dict:
    """What the page names about where the numbers came from (``run``: a run.json)."""
    if run is None:
        return {"source": None, "commit": "not recorded", "date": "not recorded",
                "machine": "not recorded", "packages": {}}  # fmt: skip
    shown = provenance.headline(run)
    packages = {name: run["packages"][name] for name in KEY_PACKAGES if name in run["packages"]}
    return {"source": source, "commit": shown["commit"], "date": shown["created"],
            "machine": shown["machine"], "packages": packages}  # fmt: skip


def collect_study(study: str, results: Path, presets: Path, config: dict, datasets, out: Path):
    """Copy one finished study into ``out/<study>/``; False when it is not one to collect."""
    layout = StudyLayout(str(results))
    if not finished(results, study):
        return False
    run_path = run_json(results, study)
    run = io.read_json(run_path) if run_path else None
    variants, source = recipes(study, run, presets, config)
    if not {v["dataset"] for v in variants} <= set(datasets):
        return False
    folder = out / study
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        shutil.copyfile(layout.table(study, name), folder / f"{name}.csv")
    io.write_json({"recipes_from": source, "variants": variants}, folder / "variants.json")
    where = None if run_path is None else str(run_path.relative_to(results.parent))
    io.write_json(provenance_of(run, where), folder / "provenance.json")
    return True


def collected(out: Path, studies) -> list[str]:
    """The studies whose files are all under ``out`` (collected now or committed before)."""
    return [s for s in studies if all((out / s / name).is_file() for name in STUDY_FILES)]


def collect(results, presets, config: dict, studies, datasets, out) -> list[str]:
    """Collect every finished study among ``studies`` from ``results`` (None: nothing to
    collect) into ``out``; the studies ``out`` then holds, in ``studies`` order."""
    presets, out = Path(presets), Path(out)
    for study in studies if results is not None else ():
        collect_study(study, Path(results), presets, config, datasets, out)
    return collected(out, studies)
