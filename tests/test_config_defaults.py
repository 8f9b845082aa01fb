"""Defaults live in the schema only: config.yaml shows the project's choices, and says which."""

import re

import yaml
from conftest import ROOT

from mlpcompare import config as cfg

SCHEMA = cfg.load_schema(ROOT / "schemas" / "config.schema.yaml")
CONFIG_TEXT = (ROOT / "config.yaml").read_text()
# What marks a value of config.yaml as the project's choice where the schema's default differs.
CHOSEN = "# chosen"


def _resolve(schema: dict) -> dict:
    ref = schema.get("$ref", "")
    return SCHEMA["$defs"][ref.removeprefix("#/$defs/")] if ref else schema


def settings(value, schema, path=()):
    """(path, value, the schema's default or None) for each value config.yaml sets, at the
    depth where the schema gives a default (a whole mapping whose schema has one, such as
    ``architectures``, counts as one value)."""
    schema = _resolve(schema)
    if isinstance(value, dict) and "properties" in schema and value:
        for key, item in value.items():
            yield from settings(item, schema["properties"][key], (*path, key))
    else:
        yield path, value, schema.get("default")


def line_setting(path) -> str:
    """The line of config.yaml that sets ``path``'s last key (indented as deep as its path), or
    that of the mapping holding it written on one line (``{digits: 0.95, ...}``)."""
    indent = "  " * (len(path) - 1)
    lines = re.findall(rf"^{indent}{re.escape(path[-1])}:.*$", CONFIG_TEXT, re.M)
    return lines[0] if lines else line_setting(path[:-1])


def test_every_value_of_config_yaml_is_the_schemas_default_or_marked_chosen():
    config = yaml.safe_load(CONFIG_TEXT)
    differing = [
        (".".join(path), value, default)
        for path, value, default in settings(config, SCHEMA)
        if value != default
    ]
    unmarked = [d for d in differing if CHOSEN not in line_setting(d[0].split("."))]
    assert unmarked == [], "config.yaml differs from the schema's default without '# chosen'"
    # and every mark is still needed: a value equal to its default carries no mark
    marked = {".".join(path) for path, _, _ in settings(config, SCHEMA)
              if CHOSEN in line_setting(path)}  # fmt: skip
    assert marked == {d[0] for d in differing}


def test_the_projects_recipe_decays_the_rate_and_absent_means_constant():
    # the choice config.yaml makes, and what the key means without it (schema and spec agree)
    from mlpcompare.spec import TrainSpec

    assert yaml.safe_load(CONFIG_TEXT)["training"]["lr_decay"] == 0.9
    assert SCHEMA["$defs"]["training"]["properties"]["lr_decay"]["default"] == 1.0
    assert TrainSpec.__dataclass_fields__["lr_decay"].default == 1.0


def test_the_default_architecture_is_the_one_config_yaml_defines():
    # one name, one network: with or without config.yaml, mlp-256-128-64 has dropout 0.2
    config = yaml.safe_load(CONFIG_TEXT)
    assert SCHEMA["properties"]["architectures"]["default"] == config["architectures"]
    entry = SCHEMA["properties"]["architectures"]["additionalProperties"]["properties"]
    assert entry["dropout"]["default"] == 0.0  # an entry without dropout has none


def test_every_schema_key_has_its_default_in_the_schema():
    # framework_overrides' entries have none by design: an absent key there means "as training"
    def keys(schema, path=()):
        for key, sub in _resolve(schema).get("properties", {}).items():
            if key != "framework_overrides":
                yield (*path, key), {**_resolve(sub), **sub}
                yield from keys(sub, (*path, key))

    assert [".".join(p) for p, sub in keys(SCHEMA) if "default" not in sub] == []


def test_the_optimizer_comment_names_every_optimizer():
    enum = SCHEMA["$defs"]["training"]["properties"]["optimizer"]["enum"]
    comment = line_setting(("training", "optimizer")).partition("#")[2]
    assert sorted(o.strip() for o in comment.split("|")) == sorted(enum)


def test_init_is_he_normal_when_absent_and_the_schema_fills_no_default():
    # A filled default would change the init and training rules' params and rerun every
    # finished run; absent means he-normal, the weights every run so far started from.
    from mlpcompare import initialisation

    entry = SCHEMA["properties"]["architectures"]["additionalProperties"]["properties"]["init"]
    assert "default" not in entry
    assert entry["enum"] == list(initialisation.SCHEMES)
    config = yaml.safe_load(CONFIG_TEXT)
    assert all("init" not in arch for arch in config["architectures"].values())
    assert initialisation.scheme_of(next(iter(config["architectures"].values()))) == "he-normal"
