"""The development-experience table is read from the code: editing a framework's code changes
its row, and each verdict follows from what the code calls or defines."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlpcompare import frameworks, io
from mlpcompare.layout import Layout
from mlpcompare.measuring import code_uses, devexp

ROOT = Path(__file__).resolve().parent.parent

TORCHY = '''"""A docstring: not code."""
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from mlpcompare.fake_mlp import MLP


def train(model, loader, optimizer, device):
    # a comment: not code
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x.to(device)), y)
        loss.backward()
        optimizer.step()
    return torch.optim.Adam, DataLoader
'''
BORROWED = """import torch
from torch import nn


def unused():
    return torch.zeros(1)


class Block(nn.Module):
    pass


class MLP(Block):
    def forward(self, x):
        return nn.functional.relu(x)
"""


def repo_with(tmp_path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "src" / "mlpcompare" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def analyse(repo: Path, name: str, borrow=("fake_mlp.py",)) -> code_uses.Uses:
    src = repo / "src"
    own = [src / "mlpcompare" / b for b in borrow]
    return code_uses.analyse([src / "mlpcompare" / name], {"torch"}, own, src=src)


def test_api_names_resolve_aliases_and_from_imports(tmp_path):
    uses = analyse(repo_with(tmp_path, {"loop.py": TORCHY, "fake_mlp.py": BORROWED}), "loop.py")
    assert {
        "torch.nn.functional.cross_entropy", "torch.optim.Adam", "torch.utils.data.DataLoader",
        "torch.nn.Module", "torch.nn.functional.relu",  # borrowed with MLP: MLP -> Block
    } == uses.api  # fmt: skip
    assert "torch.zeros" not in uses.api  # `unused` is not borrowed
    assert {".backward", ".zero_grad", ".step", ".to"} <= uses.methods
    assert uses.modules == ["torch", "torch.nn.functional", "torch.utils.data"]


def test_code_lines_count_the_module_and_the_borrowed_definitions(tmp_path):
    uses = analyse(repo_with(tmp_path, {"loop.py": TORCHY, "fake_mlp.py": BORROWED}), "loop.py")
    # loop.py: 4 imports + 7 lines of `train`; fake_mlp.py: Block (2), MLP (3)
    assert uses.lines == 4 + 7 + 2 + 3


def test_verdicts_follow_the_calls(tmp_path):
    uses = analyse(repo_with(tmp_path, {"loop.py": TORCHY, "fake_mlp.py": BORROWED}), "loop.py")
    row = devexp.code_row(frameworks.get("torch"), "idiomatic", [Path("loop.py")], uses)
    assert row["backward_pass"] == "provided" and row["backward_pass_evidence"] == ".backward"
    assert row["optimizer"] == "provided"
    assert row["batching_shuffling"] == "provided"
    assert row["device_placement"] == "by hand" and row["device_placement_evidence"] == ".to"
    assert row["checkpointing"] == devexp.NOT_FOUND
    assert row["evaluation_loop"] == devexp.NOT_FOUND
    assert row["api_names"] == len(row["api_list"].split()) == 5


def test_a_method_the_code_defines_is_its_own():
    source = "class Model:\n    def backward(self, g):\n        return g\n\nModel().backward(1)\n"
    uses = code_uses.scan(source, {"torch"})
    assert devexp.judge("backward_pass", frameworks.get("torch"), uses.all()) == (
        "by hand",
        ["def backward"],
    )


@pytest.mark.parametrize(
    ("source", "aspect", "verdict", "evidence"),
    [
        # evidence of writing it by hand
        ("def backward(cache, g):\n    return g\n", "backward_pass", "by hand", "def backward"),
        ("def step(p, g, lr):\n    p -= lr * g\n", "optimizer", "by hand", "def step"),
        ("order = rng.permutation(100)\n", "batching_shuffling", "by hand", ".permutation"),
        # no evidence either way: said as such, never "by hand"
        ("x = 1\n", "backward_pass", devexp.NOT_FOUND, ""),
        ("x = 1\n", "optimizer", devexp.NOT_FOUND, ""),
        ("for i in range(0, 100, 10):\n    pass\n", "batching_shuffling", devexp.NOT_FOUND, ""),
        ("x = 1\n", "device_placement", devexp.NOT_FOUND, ""),
    ],
)
def test_by_hand_needs_evidence(source, aspect, verdict, evidence):
    uses = code_uses.scan("import torch\n" + source, {"torch"})
    row = devexp.code_row(frameworks.get("torch"), "idiomatic", [], uses)
    assert (row[aspect], row[f"{aspect}_evidence"]) == (verdict, evidence)


def test_a_shuffle_through_the_framework_is_by_hand_where_it_provides_no_batching():
    source = "import jax\n\nperm = jax.random.permutation(key, 100)\n"
    uses = code_uses.scan(source, {"jax"})
    assert devexp.judge("batching_shuffling", frameworks.get("jax"), uses.all()) == (
        "by hand",
        ["jax.random.permutation"],
    )


def test_evidence_keeps_names_with_a_space_whole():
    source = "class M:\n    def backward(self, g):\n        return g\n\n\ndef save(m):\n    pass\n"
    uses = code_uses.scan(source + "\ndef step(p):\n    pass\n", {"numpy"})
    row = devexp.code_row(frameworks.get("numpy"), "tuned", [], uses)
    assert row["backward_pass_evidence"].split(devexp.EVIDENCE_SEPARATOR) == ["def backward"]


def test_a_function_of_the_same_name_is_no_method():
    """The idiomatic modules define ``def fit``; ``model.fit(...)`` is still Keras' own."""
    source = "import keras\n\n\ndef fit(model, x, y):\n    return model.fit(x, y)\n"
    uses = code_uses.scan(source, {"keras"})
    assert devexp.judge("backward_pass", frameworks.get("keras"), uses.all()) == (
        "provided",
        [".fit"],
    )


def test_a_framework_without_a_gpu_places_nothing():
    uses = code_uses.scan("import numpy as np\nnp.zeros(3).to('cuda')\n", {"numpy"})
    row = devexp.code_row(frameworks.get("numpy"), "tuned", [], uses)
    assert row["device_placement"] == "CPU only"


def test_the_api_names_looked_for_are_the_registrys():
    """Which API names show an aspect is a fact of each framework, in its registry entry."""
    torch_rules = dict(devexp.rules("optimizer", frameworks.get("torch")))
    assert torch_rules["provided"] == ("torch.optim.*",)
    assert "torch.optim.*" not in dict(devexp.rules("optimizer", frameworks.get("jax")))["provided"]
    for fw in frameworks.REGISTRY.values():
        assert set(fw.provides) | set(fw.by_hand) <= set(devexp.ASPECTS), fw.name


MODEL = """import torch

from mlpcompare.fake_layers import Block


class MLP(Block):
    pass
"""
LAYERS = """import torch


class Block(torch.nn.Module):
    pass
"""
PACKAGE = "from mlpcompare.fake.model import MLP\n"


def test_borrowing_follows_reexports_and_the_imports_of_what_it_borrowed(tmp_path):
    """loop.py borrows MLP from a package that re-exports it from fake/model.py, whose MLP
    derives from fake_layers.Block: all of it is the framework code the loop's user relies on."""
    files = {"loop.py": TORCHY.replace("fake_mlp", "fake"), "fake/__init__.py": PACKAGE,
             "fake/model.py": MODEL, "fake_layers.py": LAYERS}  # fmt: skip
    repo = repo_with(tmp_path, files)
    uses = analyse(repo, "loop.py", borrow=("fake/__init__.py", "fake/model.py", "fake_layers.py"))
    assert "torch.nn.Module" in uses.api
    # loop.py: 4 imports + 7 lines of `train`; fake/model.py: MLP (2); fake_layers.py: Block (2)
    assert uses.lines == 4 + 7 + 2 + 2


@pytest.mark.parametrize("name", frameworks.NAMES)
def test_editing_an_idiomatic_module_changes_its_row(tmp_path, name):
    """A copy of the repository's code, then the idiomatic module with an extra hand-written
    evaluation loop and a checkpoint through the framework's API as its registry entry names it
    (none for a framework whose entry names none): the row follows the code."""
    shutil.copytree(ROOT / "src", tmp_path / "src")
    before = {r["variant"]: r for r in devexp.code_rows([name], tmp_path)}["idiomatic"]
    fw = frameworks.get(name)
    path = code_uses.module_path(fw.idiomatic, tmp_path / "src")
    root = sorted(devexp.import_names(fw.packages))[0]
    saving = [
        *((devexp.PROVIDED, p) for p in fw.provides.get("checkpointing", ())),
        *((devexp.BY_HAND, p) for p in fw.by_hand.get("checkpointing", ())),
    ]
    verdict, pattern = saving[0] if saving else (before["checkpointing"], None)
    if pattern is None:
        save, api = "pass", set()
    elif pattern.startswith("."):  # a method: `.save` -> model.save(...)
        save, api = f"model{pattern}('model.file')", set()
    else:  # an API name: `numpy.save*` -> _fw.save(...), with _fw the root imported
        attribute = pattern.partition(".")[2].rstrip("*")
        save, api = f"_fw.{attribute}('model.file')", {f"{root}.{attribute}"}
    path.write_text(
        path.read_text() + f"\n\nimport {root} as _fw\n\n\ndef evaluate(model, batches):\n"
        "    correct = 0\n    for x, y in batches:\n        correct += (model(x) == y).sum()\n"
        f"    {save}\n    return correct, _fw.__name__\n"
    )
    after = {r["variant"]: r for r in devexp.code_rows([name], tmp_path)}["idiomatic"]
    assert after["code_lines"] == before["code_lines"] + 7
    added = ({f"{root}.__name__"} | api) - set(before["api_list"].split())
    assert after["api_names"] == before["api_names"] + len(added)
    assert after["evaluation_loop"] in ("by hand", "provided")
    assert after["checkpointing"] == verdict


def test_the_repository_code_reads_as_expected():
    """Facts about the code as it stands, each traceable to a line of it."""
    rows = {(r["framework"], r["variant"]): r for r in devexp.code_rows(frameworks.NAMES, ROOT)}
    for (name, variant), row in rows.items():
        assert row["code_lines"] > 0 and row["api_names"] > 0, (name, variant)
        # every tuned trainer evaluates and saves (the Trainer protocol of mlpcompare.training.loop)
        if variant == "tuned":
            assert row["evaluation_loop"] != devexp.NOT_FOUND, name
            assert row["checkpointing"] != devexp.NOT_FOUND, name
    for (name, variant), row in rows.items():  # "by hand" always names what showed it
        for aspect in devexp.ASPECTS:
            if row[aspect] == devexp.BY_HAND:
                assert row[f"{aspect}_evidence"], (name, variant, aspect)
    # The issue's example: Keras' model.fit runs the backward pass and the shuffled batches.
    assert rows[("keras", "idiomatic")]["backward_pass"] == devexp.PROVIDED
    assert rows[("keras", "idiomatic")]["batching_shuffling"] == devexp.PROVIDED
    gpu = {name for name in frameworks.NAMES if frameworks.get(name).gpu}
    for name in set(frameworks.NAMES) - gpu:
        assert rows[(name, "tuned")]["device_placement"] == "CPU only"


def test_install_size_of_a_package_here():
    sizes = devexp.install_bytes(["pyyaml", "no-such-distribution-here"])
    assert sizes["pyyaml"] > 10_000 and sizes["no-such-distribution-here"] is None


def test_first_use_collects_the_import_time_every_training_job_took():
    trains = [{"first_use": {"modules": ["numpy"], "import_seconds": s}} for s in (0.2, 0.1)]
    record = devexp.first_use("numpy", trains)
    assert record["modules"] == ["numpy"] and record["import_seconds"] == [0.2, 0.1]
    assert record["install_bytes"]["numpy"] > 1_000_000


def fresh_python(code: str, **env: str) -> str:
    """The standard output of ``code`` run in a new interpreter on this checkout's package, with
    ``env`` over the inherited environment."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env},
    )  # fmt: skip
    return done.stdout


def test_import_clock_times_a_first_import_only():
    """A fresh interpreter pays for a module once; a second import is a dictionary look-up."""
    code = (
        "from mlpcompare.training.import_clock import import_seconds\n"
        "import sys; assert 'numpy' not in sys.modules\n"
        "first = import_seconds(['numpy']); again = import_seconds(['numpy'])\n"
        "print(first, again)"
    )
    first, again = map(float, fresh_python(code).split())
    assert 0 < again < first / 10


def test_import_clock_starts_keras_on_the_backend_its_entry_names_whatever_was_inherited():
    """A shell (or a parent process that ran the TensorFlow-backed framework) may have left
    KERAS_BACKEND=tensorflow: the Keras-on-JAX job must still start Keras on JAX."""
    code = (
        "from mlpcompare import frameworks\n"
        "from mlpcompare.training.import_clock import import_seconds\n"
        "import_seconds(['keras'], frameworks.get('keras-jax').import_environment)\n"
        "import keras; print(keras.backend.backend())"
    )
    assert fresh_python(code, KERAS_BACKEND="tensorflow").split()[-1] == "jax"


def test_devexp_table_joins_code_first_use_and_first_epochs():
    code = [{"framework": "f", "variant": v, "code_lines": 10} for v in devexp.VARIANTS]
    first = {"f": {"install_bytes": {"f": 2_500_000, "f-extra": None},
                   "import_seconds": [0.3, 0.1, 0.2]}}  # fmt: skip
    trains = [
        {"dataset": "d", "arch": "a", "framework": "f", "train": {"status": s, "first_epoch_seconds": t}}
        for s, t in (("ok", 1.0), ("ok", 3.0), ("diverged", 100.0))
    ]  # fmt: skip
    idiomatic = [{"dataset": "d", "arch": "a", "framework": "f",
                  "seeds": [{"first_epoch_seconds": 4.0}]}]  # fmt: skip
    epochs = devexp.first_epochs(trains, idiomatic)
    rows = devexp.devexp_table(code, first, epochs, [("d", "a")])
    assert [(r["variant"], r["first_epoch_s_median"]) for r in rows] == [
        ("tuned", 2.0), ("idiomatic", 4.0),
    ]  # fmt: skip
    assert {r["install_mb"] for r in rows} == {2.5} and {r["import_s_median"] for r in rows} == {
        0.2
    }


def test_write_devexp_reads_the_files_it_is_given(tmp_path):
    layout = Layout(str(tmp_path / "results"))
    runs = [
        {"dataset": "d", "arch": "a", "framework": name, "seed": 0} for name in frameworks.NAMES
    ]
    for run in runs:
        io.write_json(
            {"status": "ok", "first_epoch_seconds": 1.5}, layout.run_file(run, "train.json")
        )
        io.write_json(
            {"install_bytes": {"x": 1_000_000}, "import_seconds": [0.5]},
            layout.first_use(run["framework"]),
        )
    output = tmp_path / "results" / "devexp.csv"
    devexp.write_devexp(
        names=list(frameworks.NAMES), runs=runs, idiomatic=[], repo=str(ROOT),
        first_use_files=[layout.first_use(run["framework"]) for run in runs],
        train_files=[layout.run_file(run, "train.json") for run in runs], idiomatic_files=[],
        output=str(output),
    )  # fmt: skip
    rows = io.read_csv(output)
    with pytest.raises(ValueError, match="0 train files for"):
        devexp.write_devexp(
            names=list(frameworks.NAMES), runs=runs, idiomatic=[], repo=str(ROOT),
            first_use_files=[layout.first_use(run["framework"]) for run in runs],
            train_files=[], idiomatic_files=[], output=str(output),
        )  # fmt: skip
    assert list(rows[0]) == devexp.DEVEXP_COLUMNS
    assert len(rows) == 2 * len(frameworks.NAMES)
    assert {r["first_epoch_s_median"] for r in rows if r["variant"] == "tuned"} == {"1.5"}
    assert {r["first_epoch_s_median"] for r in rows if r["variant"] == "idiomatic"} == {""}


def test_reading_the_code_imports_no_framework():
    packages = {p for fw in frameworks.REGISTRY.values() for p in fw.packages} - {"numpy"}
    code = (
        "import sys; from mlpcompare import frameworks; from mlpcompare.measuring import devexp; "
        f"devexp.code_rows(frameworks.NAMES, {str(ROOT)!r}); "
        f"print(sorted(set({sorted(devexp.import_names(packages))}) & set(sys.modules)))"
    )
    assert fresh_python(code).strip() == "[]"
    assert devexp.idiomatic_imports("numpy", ROOT) == ["numpy"]
