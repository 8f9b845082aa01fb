"""What the schema cannot see in a config's ``studies``, one readable line per problem, and
the check of a whole config: the schema's problems (:func:`mlpcompare.config.problems`) and the
studies', sorted together.
"""

from __future__ import annotations

import contextlib
import difflib

from mlpcompare import config as cfg
from mlpcompare.studies.design import (
    SHAPE_KEYS,
    apply,
    axis_from_config,
    axis_keys,
    label,
    reference_label,
)


def check(config: dict, schema: dict) -> None:
    """Raise :class:`~mlpcompare.config.ConfigError` listing every problem of ``config``, one
    per line: the schema's and the studies'."""
    found = config_problems(config, schema)
    if found:
        raise cfg.ConfigError("\n".join(found))


def config_problems(config: dict, schema: dict) -> list[str]:
    """Every problem of ``config`` as one line, sorted as :func:`mlpcompare.config.problems`
    sorts its own: the schema's, then the studies' (:func:`problems`) among them."""
    lines = [*cfg.problems(config, schema), *problems(config, schema)]
    return sorted(line for block in lines for line in block.splitlines())


def problems(config: dict, schema: dict) -> list[str]:
    """One line per problem in ``studies`` that the schema cannot see: a key no axis can
    vary (with the nearest key), a level that makes an invalid recipe (named by its path), a
    base architecture that does not exist, two levels with the same name."""
    studies = config.get("studies")
    if not isinstance(studies, dict):
        return []
    keys = axis_keys(schema)
    arch_schema = schema["properties"]["architectures"]["additionalProperties"]
    lines = []
    for name, spec in studies.items():
        if not isinstance(spec, dict):
            continue
        where = f"studies.{name}"
        arch_name = spec.get("architecture")
        if arch_name is not None and arch_name not in config.get("architectures", {}):
            hint = difflib.get_close_matches(
                str(arch_name), list(config.get("architectures", {})), n=1
            )
            lines.append(
                f"{where}.architecture: {arch_name!r} is not defined in architectures"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
            continue
        settings = [(f"{where}.base", spec.get("base", {}))]
        for axis, levels in (spec.get("axes") or {}).items():
            if isinstance(levels, dict):
                settings += [(f"{where}.axes.{axis}.{lvl}", s) for lvl, s in levels.items()]
            elif isinstance(levels, list):
                if axis not in keys:
                    lines.append(_unknown(f"{where}.axes", axis, keys))
                    continue
                settings += [(f"{where}.axes.{axis}[{i}]", {axis: v}) for i, v in enumerate(levels)]
                labels = [label(v) for v in levels]
                if len(set(labels)) < len(labels):
                    lines.append(f"{where}.axes.{axis}: two levels have the same name {labels}")
        lines += _reference_problems(where, spec)
        for path, setting in settings:
            if not isinstance(setting, dict):
                lines.append(f"{path}: expected a mapping of keys to values, got {setting!r}")
                continue
            unknown = [key for key in setting if key not in keys]
            lines += [_unknown(path, key, keys) for key in unknown]
            if unknown:
                continue
            lines += _recipe_problems(config, spec, path, setting, schema, arch_schema)
    return lines


def _reference_problems(where: str, spec: dict) -> list[str]:
    """A reference must name an axis of the study and one of that axis's levels."""
    axes, lines = spec.get("axes") or {}, []
    for axis, level in (spec.get("reference") or {}).items():
        if axis not in axes:
            lines.append(f"{where}.reference: {axis!r} is not an axis of the study "
                         f"(axes: {', '.join(axes)})")  # fmt: skip
            continue
        labels = axis_from_config(axis, axes[axis]).labels
        if reference_label(axes[axis], level) not in labels:
            lines.append(f"{where}.reference.{axis}: {level!r} is not one of its levels "
                         f"({', '.join(labels)})")  # fmt: skip
    return lines


def _unknown(path: str, key, keys) -> str:
    hint = difflib.get_close_matches(str(key), keys, n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(keys)})"
    return f"{path}.{key}: not a key a study can vary{suggestion}"


def _recipe_problems(config, spec, path, setting, schema, arch_schema) -> list[str]:
    """What is wrong with the recipe that ``setting`` makes from the base, each line naming the
    setting's key under ``path``."""
    # Imported here, not above: building a study (tools/gpu_run.py, on a machine without
    # jsonschema) imports this package, and only checking a config needs the validator.
    import jsonschema

    archs, training = config.get("architectures"), config.get("training")
    if not isinstance(archs, dict) or not archs or not isinstance(training, dict):
        return []  # the schema reports these
    arch = dict(archs.get(spec.get("architecture")) or next(iter(archs.values())))
    training = dict(training)
    # A value of the wrong type may break applying it; the schema lines below name its key.
    with contextlib.suppress(TypeError, IndexError, KeyError):
        apply(arch, training, {}, setting)
    lines = []
    for part, part_schema in (
        (arch, arch_schema),
        (training, schema["$defs"]["training"]),
    ):
        for error in jsonschema.Draft202012Validator(part_schema, format_checker=None).iter_errors(
            part
        ):
            key = error.absolute_path[0] if error.absolute_path else None
            if key in setting or (key == "hidden" and set(setting) & set(SHAPE_KEYS)):
                lines.append(f"{path}.{key}: {error.message}")
    for key, values in (("device", ("auto", "cpu", "cuda")), ("dataset", _datasets(schema))):
        if key in setting and setting[key] not in values:
            lines.append(f"{path}.{key}: {setting[key]!r} is not one of: {', '.join(values)}")
    for key in SHAPE_KEYS:
        value = setting.get(key)
        if key in setting and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            lines.append(f"{path}.{key}: expected a positive integer, got {value!r}")
    return lines


def _datasets(schema: dict) -> tuple[str, ...]:
    return tuple(schema["properties"]["datasets"]["items"]["enum"])
