"""results/run.json: the commit and whether the tree was dirty (null without git, said why), the
config, every package, the machine and the date; made by a rule that reruns nothing else."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess

import pytest
from conftest import planned_jobs

from mlpcompare import io
from mlpcompare.logs import UserError
from mlpcompare.measuring import provenance

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@needs_git
def test_a_checkout_has_its_commit_and_dirty_flag(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("a")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "a")
    state = provenance.git_state(tmp_path)
    assert len(state["commit"]) == 40 and state["dirty"] is False and state["note"] is None
    (tmp_path / "a.txt").write_text("changed")
    assert provenance.git_state(tmp_path)["dirty"] is True


def test_no_checkout_is_null_and_says_why(tmp_path, monkeypatch):
    state = provenance.git_state(tmp_path)
    assert state["commit"] is None and state["dirty"] is None
    assert state["note"].startswith("not a git checkout") or state["note"] == "git is not installed"
    monkeypatch.setattr(provenance.shutil, "which", lambda name: None)
    assert provenance.git_state(tmp_path) == {
        "commit": None, "dirty": None, "note": "git is not installed",
    }  # fmt: skip


def test_the_record_holds_config_packages_machine_and_date(tmp_path):
    now = datetime.datetime(2026, 12, 6, 7, 0, tzinfo=datetime.UTC)
    record = provenance.record({"seeds": [0, 1]}, tmp_path, now=now)
    assert record["schema_version"] == provenance.SCHEMA_VERSION
    assert record["created"] == "2026-12-06T07:00:00+00:00"
    assert record["config"] == {"seeds": [0, 1]}
    assert record["packages"]["numpy"] and record["packages"]["snakemake"]
    assert len(record["packages"]) > 50  # every installed distribution, not a chosen few
    machine = record["machine"]
    assert {"cpu", "logical_cores", "usable_cores", "memory_gb", "gpus"} <= set(machine)


def test_a_newer_schema_is_refused_in_one_line():
    with pytest.raises(UserError, match=r"^B was written by a newer mlpcompare \(run.json schema"):
        provenance.check_schema({"schema_version": provenance.SCHEMA_VERSION + 1}, "B")
    with pytest.raises(UserError, match="no schema_version"):
        provenance.check_schema({}, "B")
    provenance.check_schema({"schema_version": provenance.SCHEMA_VERSION}, "B")


@pytest.mark.slow
def test_every_run_writes_run_json(tiny_run):
    run = json.loads((tiny_run / "results" / "run.json").read_text())
    assert run["schema_version"] == provenance.SCHEMA_VERSION
    assert run["config"]["seeds"] == [0, 1]  # the config actually used (tiny.yaml's)
    assert "studies" not in run["config"]  # the comparison's: a study changes nothing of it
    assert run["git"]["commit"] is None and run["git"]["note"]  # the copy is no checkout
    page = (tiny_run / "results" / "report.html").read_text()
    assert 'id="provenance"' in page and provenance.headline(run)["machine"] in page


@pytest.mark.slow
def test_rewriting_run_json_reruns_only_the_report(tiny_run):
    planned = planned_jobs(tiny_run, "--forcerun", "provenance")
    assert planned == {"provenance": 1, "report": 1, "all": 1}, planned


def test_the_report_header_line_says_commit_date_and_machine(tmp_path):
    now = datetime.datetime(2026, 12, 6, 7, 0, tzinfo=datetime.UTC)
    record = provenance.record({}, tmp_path, now=now)
    record["git"] = {
        "commit": "c1716efe182c1ac22b62de9e0c6f9ca83570ccc5",
        "dirty": True,
        "note": None,
    }
    record["machine"] |= {"cpu": "AMD EPYC", "usable_cores": 2, "memory_gb": 23.54, "gpus": []}
    shown = provenance.headline(record)
    assert shown["commit"] == "c1716efe18 with uncommitted changes"
    assert shown["created"] == "2026-12-06 07:00 UTC"
    assert shown["machine"] == "AMD EPYC, 2 cores, 23.5 GB, no GPU"
    record["git"] = {"commit": None, "dirty": None, "note": "not a git checkout"}
    assert provenance.headline(record)["commit"] == "unknown (not a git checkout)"


def test_run_json_round_trips_through_the_writer(tmp_path):
    record = provenance.record({"seeds": [0]}, tmp_path)
    io.write_json(record, tmp_path / "run.json")
    assert (
        json.loads((tmp_path / "run.json").read_text())["schema_version"]
        == provenance.SCHEMA_VERSION
    )


def test_the_report_header_shows_run_json(tmp_path):
    import fake_results

    cfg = fake_results.config()
    keys = fake_results.write_results(tmp_path, cfg)
    record = provenance.record({}, tmp_path)
    io.write_json(record, tmp_path / "run.json")
    page = fake_results.render(tmp_path, cfg, keys)
    assert 'id="provenance"' in page
    assert provenance.headline(record)["machine"] in page and "not a git checkout" in page
