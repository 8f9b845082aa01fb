"""The mlpcompare command: each workflow command is the Snakemake call the Makefile makes (read
from the Makefile, so the two cannot drift apart), run in the checkout; bad input is one line."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from mlpcompare import cli

ROOT = Path(__file__).resolve().parent.parent


def recipe(target: str) -> list[str]:
    """The Makefile's command lines of ``target`` that call Snakemake, as argument lists after
    the executable (``$(if $(MIRROR),mirror=$(MIRROR))`` with the mirror the Makefile finds,
    ``DEVICE`` unset)."""
    text = (ROOT / "Makefile").read_text()
    body = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", text, re.M)[1]
    mirror = cli.MIRROR if (ROOT / cli.MIRROR).is_dir() else ""
    lines = []
    for line in body.splitlines():
        if "$(BIN)/snakemake" in line:
            line = line.replace(
                "$(if $(MIRROR),mirror=$(MIRROR))", f"mirror={mirror}" if mirror else ""
            )
            # The CPU set-up, which the command runs: without DEVICE=cuda these expand to nothing.
            line = line.replace("$(if $(DEVICE_CONFIG),--config $(DEVICE_CONFIG))", "")
            line = line.replace("$(DEVICE_CONFIG)", "")
            lines.append(shlex.split(line.strip())[1:])
    return lines


@pytest.fixture
def calls(monkeypatch) -> list[tuple[list[str], Path]]:
    """Snakemake's calls (command, working folder) instead of running them; each succeeds."""
    made = []

    def fake_run(command, cwd=None, env=None):
        made.append((command, Path(cwd)) + ((env,) if env else ()))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(cli.subprocess, "run", fake_run)
    return made


def test_run_is_make_runs_snakemake_call_in_the_checkout(calls):
    assert cli.main(["run"]) == 0
    ((command, cwd),) = calls
    assert command[0] == str(Path(sys.executable).with_name("snakemake"))
    assert [command[1:]] == recipe("run")
    assert cwd == ROOT


def test_resume_is_make_resumes_command(calls):
    line = re.search(r"^resume:.*\n\t(.*)\n", (ROOT / "Makefile").read_text(), re.M)[1]
    variable, python, *args = shlex.split(line.replace("$(ARGS)", "--configfile my.yaml"))
    assert (variable, python) == ("PYTHONPATH=src", "$(BIN)/python")
    assert cli.main(["resume", "--configfile", "my.yaml"]) == 0
    ((command, cwd, env),) = calls
    assert command == [sys.executable, *args] and cwd == ROOT
    assert env["PYTHONPATH"] == str(ROOT / "src")


def test_options_it_does_not_know_go_to_snakemake(calls):
    cli.main(["run", "-n", "--configfile", "tiny.yaml"])
    assert calls[0][0][1:] == [*recipe("run")[0], "-n", "--configfile", "tiny.yaml"]


def test_bench_is_make_benchs_snakemake_call_then_its_tables(calls, monkeypatch):
    printed = []
    monkeypatch.setattr("mlpcompare.aggregating.throughput_table.main", printed.append)
    assert cli.main(["bench"]) == 0
    assert [calls[0][0][1:]] == recipe("bench")
    assert printed == [
        [str(ROOT / "results" / "throughput.csv"), str(ROOT / "results" / "summary.csv")]
    ]
    cli.main(["bench", "--mirror", "/data/mirror"])
    assert calls[1][0][-1] == "mirror=/data/mirror"


def test_study_takes_a_preset_by_name_or_a_file(calls, tmp_path):
    cli.main(["study", "regularization"])
    assert calls[0][0][1:] == [*cli.CORES, "--configfile", "presets/regularization.yaml"]
    mine = tmp_path / "mine.yaml"
    mine.write_text("comparison: false\n")
    cli.main(["study", str(mine), "-n"])
    assert calls[1][0][-3:] == ["--configfile", str(mine), "-n"]


def test_an_unknown_preset_is_one_line_naming_the_presets(calls, capsys):
    assert cli.main(["study", "nonesuch"]) == cli.BAD_INPUT
    err = capsys.readouterr().err
    assert "no preset 'nonesuch': choose one of" in err and "regularization" in err
    assert err.count("\n") == 1 and not calls


def test_report_asks_for_the_report_before_any_option(calls):
    cli.main(["report", "--config", "seeds=[0]"])
    assert calls[0][0][1:] == [*cli.CORES, "results/report.html", "--config", "seeds=[0]"]


def test_snakemakes_exit_status_is_the_commands(monkeypatch):
    monkeypatch.setattr(
        cli.subprocess, "run", lambda c, cwd=None, env=None: subprocess.CompletedProcess(c, 3)
    )
    assert cli.main(["run"]) == 3


def test_compare_and_pack_refuse_options_they_do_not_know(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["compare", "a", "b", "--cores", "8"])
    assert stopped.value.code == 2
    assert "unrecognized arguments: --cores 8" in capsys.readouterr().err


def test_a_negative_threshold_is_refused(capsys):
    with pytest.raises(SystemExit):
        cli.main(["compare", "a", "b", "--fail-on-regression", "-5"])
    assert "is negative" in capsys.readouterr().err


def test_the_installed_command_runs():
    exe = Path(sys.executable).with_name("mlpcompare")
    if not exe.is_file():
        pytest.skip("mlpcompare is not installed in this environment (pip install -e .)")
    shown = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True)
    for command in ("run", "resume", "bench", "study", "report", "compare", "pack"):
        assert command in shown.stdout


def test_the_config_files_a_command_names_are_found():
    command = ["snakemake", "--configfile", "a.yaml", "b.yaml", "-n", "--configfile=c.yaml"]
    assert cli.config_files(command) == ["a.yaml", "b.yaml", "c.yaml"]
    assert cli.config_files(["snakemake", "--config", "seeds=[0]", "x.yaml"]) == []


def test_a_config_nested_too_deep_for_snakemakes_reader_is_one_line(calls, tmp_path, capsys):
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 2000 + "]" * 2000 + "\n")  # Snakemake's reader: RecursionError
    assert cli.main(["run", "--configfile", str(deep)]) == cli.BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("mlpcompare: error: config error:") and "nests deeper" in err
    assert err.count("\n") == 1 and not calls  # refused before Snakemake starts
    fine = tmp_path / "fine.yaml"
    fine.write_text("seeds: [0]\n")
    assert cli.main(["run", "--configfile", str(fine)]) == 0 and len(calls) == 1
