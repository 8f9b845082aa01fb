"""What differs between two runs beyond their figures: commit, machine, GPUs, package versions
and config, read from each run's run.json (or, for an older run, its environment.json)."""

from __future__ import annotations

from collections.abc import Mapping

from mlpcompare.comparing.sources import Results

MACHINE_FIELDS = {
    "cpu": "CPU",
    "logical_cores": "logical cores",
    "usable_cores": "usable cores",
    "memory_gb": "memory (GB)",
    "platform": "operating system",
    "python": "Python",
}


def provenance(results: Results) -> dict:
    """What is known of how ``results`` was made: run.json's commit, config, machine and
    packages; without run.json, the machine and the packages environment.json lists."""
    run = results.run
    if run is not None:
        machine = dict(run.get("machine", {}))
        return {
            "commit": run.get("git", {}).get("commit"),
            "dirty": run.get("git", {}).get("dirty"),
            "created": run.get("created"),
            "config": run.get("config"),
            "machine": machine,
            "gpus": machine.pop("gpus", []),
            "packages": run.get("packages", {}),
        }
    env = results.environment or {}
    return {
        "commit": None,
        "dirty": None,
        "created": None,
        "config": None,
        "machine": env.get("machine", {}),
        "gpus": env.get("gpus", []),
        "packages": {k: v for k, v in env.get("packages", {}).items() if v is not None},
    }


def environment_changes(a: Results, b: Results) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(what, A, B) for each difference of commit, machine, GPUs, package versions and config,
    and notes on what cannot be compared (a run without run.json)."""
    pa, pb = provenance(a), provenance(b)
    notes = [
        f"{side} ({res.label}) has no run.json (made before provenance was recorded): its "
        "commit and config are unknown; machine and packages as environment.json lists them"
        for side, res in (("A", a), ("B", b))
        if res.run is None
    ]
    changes = []
    if pa["commit"] != pb["commit"]:
        changes.append(("commit", _text(pa["commit"]), _text(pb["commit"])))
    if pa["dirty"] != pb["dirty"]:
        changes.append(("uncommitted changes", _text(pa["dirty"]), _text(pb["dirty"])))
    for name, label in MACHINE_FIELDS.items():
        va, vb = pa["machine"].get(name), pb["machine"].get(name)
        if name == "memory_gb":
            va, vb = (None if v is None else round(v, 1) for v in (va, vb))
        if va != vb:
            changes.append((label, _text(va), _text(vb)))
    gpus_a, gpus_b = (", ".join(g.get("name", "?") for g in p["gpus"]) or "none" for p in (pa, pb))
    if gpus_a != gpus_b:
        changes.append(("GPUs", gpus_a, gpus_b))
    packages_a, packages_b = pa["packages"], pb["packages"]
    for name in sorted(set(packages_a) | set(packages_b), key=str.lower):
        if packages_a.get(name) != packages_b.get(name):
            changes.append((name, _text(packages_a.get(name)), _text(packages_b.get(name))))
    if pa["config"] is not None and pb["config"] is not None:
        flat_a, flat_b = flatten(pa["config"]), flatten(pb["config"])
        for name in sorted(set(flat_a) | set(flat_b)):
            if flat_a.get(name) != flat_b.get(name):
                changes.append((f"config {name}", _text(flat_a.get(name)), _text(flat_b.get(name))))
    return changes, notes


def flatten(config: Mapping, prefix: str = "") -> dict[str, object]:
    """Nested mappings as dotted keys: ``{"training": {"lr": 0.1}}`` -> ``{"training.lr": 0.1}``."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
