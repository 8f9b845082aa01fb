"""Config checking with one readable line per problem, and the per-run views of the config.

Snakemake's own ``validate`` fills the defaults from the same schema; this module runs first so
a typo is reported as ``training.lrr: unknown key (did you mean 'lr'?)`` rather than a schema dump.
"""

from __future__ import annotations

import difflib
import math
import os
from pathlib import Path

import jsonschema
import numpy as np
import yaml

# The smallest normal float32 (1.2e-38): below it a value is subnormal, which TensorFlow and XLA
# flush to 0 on the CPU, or rounds to 0 outright (under 7e-46).
FLOAT32_TINY = float(np.finfo(np.float32).tiny)
# The largest float32 below 1 (0.99999994): a value in [0, 1) above it is 1 in float32.
FLOAT32_BELOW_ONE = float(np.nextafter(np.float32(1), np.float32(0)))
# Training keys that must stay above 0 once in float32, and those that must stay below 1.
POSITIVE_IN_FLOAT32 = ("lr", "eps")
BELOW_ONE_IN_FLOAT32 = ("momentum", "beta1", "beta2")


class ConfigError(Exception):
    """The config is invalid; ``str()`` is one line per problem."""


def load_schema(path: str | Path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def _resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return root["$defs"][ref.removeprefix("#/$defs/")]
    return schema


def _parse_scalar(text: str, types: list[str]):
    """``text`` as the first of ``types`` it parses as, else ``text`` unchanged.

    Numbers go through int()/float(), not YAML, which reads ``1e-3`` as a string.
    """
    for kind in types:
        try:
            if kind == "integer":
                return int(text)
            if kind == "number":
                value = float(text)
                return (
                    int(value)
                    if value.is_integer() and "." not in text and "e" not in text.lower()
                    else value
                )
        except ValueError:
            continue
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "null" and text in ("null", "~"):
            return None
    return text


def coerce_strings(value, schema: dict, root: dict | None = None):
    """Turn strings into the numbers/booleans the schema expects, recursively.

    Snakemake parses ``--config key=[0, 1]`` or ``training={lr: 0.1}`` with YAML's BaseLoader,
    which leaves every nested scalar a string; without this, ``--config seeds=[0]`` would be
    rejected as "expected integer, got str". A string that does not parse as the expected type is
    left alone, so the schema still reports it. ``x-types-from`` points a schema that only names
    its keys (``framework_overrides``) at the one that types them.
    """
    root = root or schema
    schema = _resolve(schema, root)
    if "x-types-from" in schema:
        schema = _resolve({"$ref": schema["x-types-from"]}, root)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {
            k: coerce_strings(v, props.get(k, extra if isinstance(extra, dict) else {}), root)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [coerce_strings(v, schema.get("items", {}), root) for v in value]
    if isinstance(value, str):
        types = schema.get("type", [])
        types = [types] if isinstance(types, str) else types
        if "string" not in types:
            return _parse_scalar(value, types)
    return value


def _where(path) -> str:
    return ".".join(str(p) for p in path) or "config"


def _describe(error: jsonschema.ValidationError) -> str:
    where = _where(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        known = set(allowed)
        extra = [k for k in error.instance if k not in known]
        lines = []
        for key in extra:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = (
                f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(allowed)})"
            )
            prefix = f"{where}." if error.absolute_path else ""
            lines.append(f"{prefix}{key}: unknown key{suggestion}")
        return "\n".join(lines)
    if error.validator == "enum":
        hint = difflib.get_close_matches(
            str(error.instance), [str(v) for v in error.validator_value], n=1
        )
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{where}: {error.instance!r} is not one of: {allowed}{suggestion}"
    if error.validator == "type":
        return f"{where}: expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}"
    if error.validator == "pattern" and error.absolute_path == error.relative_path:
        return f"{where}: {error.message}"
    return f"{where}: {error.message}"


def problems(config: dict, schema: dict) -> list[str]:
    """Every schema violation as one readable line, sorted (lines start with the key's path).

    A number that is not finite gets one line of its own ("nan is not a finite number") instead
    of what the schema makes of it: JSON Schema's range checks all pass for NaN.
    """
    errors = jsonschema.Draft202012Validator(schema).iter_errors(config)
    lines = [_describe(e) for e in errors if not _non_finite(e.instance)]
    lines.extend(_cross_field(config, schema))
    lines.extend(
        f"{_where(path)}: {value!r} is not a finite number"
        for path, value in _walk(config)
        if _non_finite(value)
    )
    lines.extend(_float32_limits(config))
    return sorted(line for block in lines for line in block.splitlines())


def _non_finite(value) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _walk(value, path=()):
    """(path, scalar) for every scalar in ``value``, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, (*path, i))
    else:
        yield path, value


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _float32_limits(config: dict) -> list[str]:
    """Values the schema accepts that float32, the precision every framework trains in, does not.

    An ``eps`` or ``lr`` under the smallest normal float32 is 0 to the frameworks (a division
    by zero, or no step at all); a decay rate or dropout just under 1 rounds to 1 (Adam's bias
    correction divides by 1 - beta**t, Keras' dropout by 1 - rate).
    """
    recipes = []
    if isinstance(config.get("training"), dict):
        recipes.append((("training",), config["training"]))
    if isinstance(config.get("framework_overrides"), dict):
        recipes += [
            (("framework_overrides", fw), override)
            for fw, override in config["framework_overrides"].items()
            if isinstance(override, dict)
        ]
    below_one = [
        ((*path, key), recipe.get(key)) for path, recipe in recipes for key in BELOW_ONE_IN_FLOAT32
    ]
    if isinstance(config.get("architectures"), dict):
        below_one += [
            (("architectures", name, "dropout"), arch.get("dropout"))
            for name, arch in config["architectures"].items()
            if isinstance(arch, dict)
        ]
    lines = []
    for path, recipe in recipes:
        for key in POSITIVE_IN_FLOAT32:
            value = recipe.get(key)
            if _is_number(value) and 0 < value < FLOAT32_TINY:
                how = (
                    "0"
                    if np.float32(value) == 0
                    else "subnormal, flushed to 0 by TensorFlow and XLA,"
                )
                lines.append(
                    f"{_where((*path, key))}: {value!r} is {how} in float32 "
                    f"(smallest normal {FLOAT32_TINY:.2g})"
                )
    for path, value in below_one:
        if _is_number(value) and FLOAT32_BELOW_ONE < value < 1:
            lines.append(
                f"{_where(path)}: {value!r} is 1 in float32 (use at most {FLOAT32_BELOW_ONE:.8g})"
            )
    return lines


def _cross_field(config: dict, schema: dict) -> list[str]:
    """Checks that involve more than one key (run after the schema, on what it let through)."""
    lines = []
    overrides = config.get("framework_overrides")
    if isinstance(overrides, dict):
        training = config.get("training") if isinstance(config.get("training"), dict) else {}
        validator = jsonschema.Draft202012Validator(schema["$defs"]["training"])
        for framework, override in overrides.items():
            if not isinstance(override, dict):
                continue
            merged = {**training, **override}
            for error in validator.iter_errors(merged):
                if _non_finite(error.instance):
                    continue  # reported once, as not finite, by problems()
                if error.absolute_path and error.absolute_path[0] in override:
                    path = ["framework_overrides", framework, *error.absolute_path]
                    lines.append(
                        _describe(error).replace(_where(error.absolute_path), _where(path), 1)
                    )
    archs = config.get("architectures")
    selected = config.get("run_architectures")
    if isinstance(archs, dict) and isinstance(selected, list):
        for name in selected:
            if name not in archs:
                hint = difflib.get_close_matches(str(name), list(archs), n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                lines.append(
                    f"run_architectures: {name!r} is not defined in architectures{suggestion}"
                )
    return lines


def check(config: dict, schema: dict) -> None:
    """Raise :class:`ConfigError` listing every problem, one per line."""
    found = problems(config, schema)
    if found:
        raise ConfigError("\n".join(found))


def architectures(config: dict) -> dict[str, dict]:
    """The architectures to run, by name."""
    selected = config["run_architectures"] or list(config["architectures"])
    return {name: config["architectures"][name] for name in selected}


def training_for(config: dict, framework: str, dataset: str | None = None) -> dict:
    """The ``training`` mapping as ``framework`` sees it, ``framework_overrides`` applied; with
    ``dataset``, its time-to-accuracy target resolved for that dataset (see resolve_target)."""
    recipe = {**config["training"], **config["framework_overrides"].get(framework, {})}
    return recipe if dataset is None else resolve_target(recipe, dataset)


def resolve_target(training: dict, dataset: str) -> dict:
    """``training`` with ``target_val_accuracy`` as one number: the dataset's entry when it is
    a mapping (dataset -> target; a single 0.97 would leave Fashion-MNIST's time-to-accuracy
    blank), else the number given for every dataset."""
    target = training.get("target_val_accuracy")
    if isinstance(target, dict):
        return {**training, "target_val_accuracy": target[dataset]}
    return training


def nvidia_gpu_visible() -> bool:
    """Whether the NVIDIA driver shows a GPU here that CUDA_VISIBLE_DEVICES does not hide.

    Read from /proc, so the check costs nothing and imports no framework.
    """
    if os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())
