"""mlpcompare compare and pack on small fabricated results folders: verdicts that respect the
seeds' spread, --fail-on-regression, the environment first, archives, and one line for each bad
input."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import pytest

from mlpcompare import cli, io
from mlpcompare.comparing import compare, pack, sources
from mlpcompare.measuring import provenance

SEEDS = (0, 1, 2)
# Per seed: a little spread, as repeated timings and different initial weights give.
JITTER = (1.0, 1.04, 0.97)
ACCURACY = (0.951, 0.957, 0.948)
RUN = {
    "schema_version": provenance.SCHEMA_VERSION,
    "created": "2026-12-06T07:00:00+00:00",
    "git": {"commit": "a" * 40, "dirty": False, "note": None},
    "config": {"seeds": list(SEEDS), "training": {"lr": 0.001, "epochs": 30}},
    "machine": {"cpu": "test CPU", "logical_cores": 2, "usable_cores": 2, "memory_gb": 7.6,
                "platform": "Linux", "python": "3.11.9", "gpus": []},
    "python_executable": "/venv/bin/python",
    "packages": {"numpy": "2.4.6", "torch": "2.13.0"},
}  # fmt: skip


def fake_results(
    root: Path,
    frameworks=("numpy", "torch"),
    datasets=("digits",),
    time_factor: float = 1.0,
    accuracy_shift: float = 0.0,
    seeds=SEEDS,
    rerun=(1.0, 1.0, 1.0),
    accuracy_noise=(0.0, 0.0, 0.0),
    run: dict | None = RUN,
) -> Path:
    """A results folder with what compare reads: summary.csv, each seed's train.json,
    metrics.json and inference.csv, run.json. ``time_factor`` multiplies every time (and divides
    every rate), ``rerun`` each seed's times once more (a second run's timing noise);
    ``accuracy_shift`` is added to every accuracy, ``accuracy_noise`` to each seed's."""
    rows = []
    for dataset in datasets:
        for i, fw in enumerate(frameworks):
            rows.append(
                {"dataset": dataset, "arch": "mlp-8", "framework": fw, "n_seeds": len(seeds)}
            )
            for seed in seeds:
                folder = root / dataset / "mlp-8" / fw / f"seed{seed}"
                jitter = JITTER[seed % 3] * time_factor * rerun[seed % 3]
                io.write_json(
                    {"framework": fw, "status": "ok", "seed": seed, "total_seconds": 2.0 * (i + 1) * jitter,
                     "first_epoch_seconds": 0.5 * jitter, "steady_samples_per_s": 10000.0 / jitter,
                     "peak_rss_mb": 300.0 + seed},
                    folder / "train.json",
                )  # fmt: skip
                accuracy = ACCURACY[seed % 3] + accuracy_shift + accuracy_noise[seed % 3]
                io.write_json(
                    {"accuracy": accuracy, "f1_macro": accuracy - 0.01}, folder / "metrics.json"
                )
                inference = [
                    {"api": api, "batch_size": batch, "p50_ms": 0.05 * batch * jitter * k,
                     "p90_ms": 0.06 * batch * jitter * k, "samples_per_s": 20000.0 / (jitter * k),
                     "repeats": 30}
                    for api, k in (("forward", 1.0), ("onnxruntime", 0.5))
                    for batch in (1, 32)
                ]  # fmt: skip
                io.write_csv(inference, folder / "inference.csv")
                (folder / "model.npz").write_bytes(b"weights")
                (folder / "predictions.npz").write_bytes(b"arrays")
    io.write_csv(rows, root / "summary.csv")
    io.write_bytes(b"<html></html>", root / "report.html")
    if run is not None:
        io.write_json(run, root / "run.json")
    return root


def compared(tmp_path, a: Path, b: Path) -> compare.Comparison:
    return compare.compare(sources.open_results(a, tmp_path), sources.open_results(b, tmp_path))


def verdicts(comparison: compare.Comparison) -> dict[tuple[str, str], str]:
    return {(row.key[2], row.measure.name): row.verdict for row in comparison.rows}


def test_unchanged_code_run_twice_shows_no_change(tmp_path):
    a = fake_results(tmp_path / "a")
    # Timing noise between runs (a few per cent each way, per seed), accuracies bit for bit.
    b = fake_results(tmp_path / "b", rerun=(1.05, 0.97, 1.02))
    found = verdicts(compared(tmp_path, a, b))
    assert len(found) == 2 * len(compare.MEASURES)
    assert set(found.values()) == {compare.SAME}


def test_every_time_doubled_is_worse_and_fails_the_threshold(tmp_path, capsys):
    a = fake_results(tmp_path / "a")
    b = fake_results(tmp_path / "b", time_factor=2.0)
    comparison = compared(tmp_path, a, b)
    found = verdicts(comparison)
    for fw in ("numpy", "torch"):
        for name in ("train_samples_per_s", "train_time_s", "first_epoch_s", "infer_p50_ms_batch1",
                     "infer_samples_per_s_best"):  # fmt: skip
            assert found[fw, name] == compare.WORSE, (fw, name)
        assert found[fw, "accuracy"] == compare.SAME
    regressed = compare.regressions(comparison, 20)
    assert {row.measure.kind for row in regressed} == {"speed"}
    assert {round(row.worse_pct) for row in regressed} == {50, 100}  # rates halved, times doubled
    html = tmp_path / "out.html"
    status = cli.main(
        ["compare", str(a), str(b), "--fail-on-regression", "20", "--html", str(html)]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "**worse**" in out and "2.00×" in out and "Worse by more than 20 %" in out
    assert 'class="worse"' in html.read_text()
    # Past the threshold: worse, yet not beyond 150 % of A, so the run passes.
    assert (
        cli.main(["compare", str(a), str(b), "--fail-on-regression", "150", "--html", str(html)])
        == 0
    )


def test_without_the_option_a_regression_still_exits_0(tmp_path, capsys):
    a, b = fake_results(tmp_path / "a"), fake_results(tmp_path / "b", time_factor=2.0)
    assert cli.main(["compare", str(a), str(b), "--html", str(tmp_path / "c.html")]) == 0


def test_accuracy_verdicts_follow_the_intervals(tmp_path):
    a = fake_results(tmp_path / "a")
    slightly = fake_results(tmp_path / "b", accuracy_noise=(-0.004, 0.003, 0.0))  # seeds disagree
    assert verdicts(compared(tmp_path, a, slightly))["numpy", "accuracy"] == compare.SAME
    clearly = fake_results(tmp_path / "c", accuracy_shift=-0.05)
    comparison = compared(tmp_path, a, clearly)
    assert verdicts(comparison)["numpy", "accuracy"] == compare.WORSE
    assert {row.measure.kind for row in compare.regressions(comparison, 1)} == {"accuracy"}
    better = fake_results(tmp_path / "d", accuracy_shift=0.03)
    assert verdicts(compared(tmp_path, a, better))["numpy", "accuracy"] == compare.BETTER


def test_one_seed_has_no_spread_to_judge_by(tmp_path):
    a = fake_results(tmp_path / "a", seeds=(0,))
    b = fake_results(tmp_path / "b", seeds=(0,), time_factor=2.0)
    assert set(verdicts(compared(tmp_path, a, b)).values()) == {compare.TOO_FEW}


def test_rates_are_compared_on_a_log_scale():
    est = compare.estimate([100.0, 400.0], "ratio")
    assert est.centre == pytest.approx(200.0)  # the geometric mean
    assert est.low * est.high == pytest.approx(200.0**2)  # symmetric on the log scale
    assert compare.estimate([1.0], "difference").n == 1
    assert math.isnan(compare.estimate([1.0], "difference").low)


def test_environment_differences_come_first(tmp_path, capsys):
    a = fake_results(tmp_path / "a")
    newer = {**RUN, "git": {**RUN["git"], "commit": "b" * 40, "dirty": True},
             "packages": {"numpy": "2.4.6", "torch": "2.14.0", "jax": "0.10.2"},
             "config": {**RUN["config"], "training": {"lr": 0.01, "epochs": 30}}}  # fmt: skip
    b = fake_results(tmp_path / "b", run=newer)
    cli.main(["compare", str(a), str(b), "--html", str(tmp_path / "c.html")])
    out = capsys.readouterr().out
    environment = out.index("## Environment")
    assert environment < out.index("## digits · mlp-8")
    for line in (
        "| torch ",
        "2.13.0",
        "2.14.0",
        "| jax ",
        "config training.lr",
        "| uncommitted changes",
    ):
        assert environment < out.index(line) < out.index("## digits · mlp-8"), line
    assert f"commit {'b' * 10}, uncommitted changes" in out


def test_a_run_without_run_json_is_compared_with_a_note(tmp_path, capsys):
    a = fake_results(tmp_path / "a", run=None)
    io.write_json({"machine": {"cpu": "old CPU"}, "packages": {"numpy": "2.4.0"}},
                  a / "machine" / "environment.json")  # fmt: skip
    b = fake_results(tmp_path / "b")
    assert cli.main(["compare", str(a), str(b), "--html", str(tmp_path / "c.html")]) == 0
    out = capsys.readouterr().out
    assert "has no run.json" in out and "old CPU" in out and "2.4.0" in out


def test_runs_of_different_frameworks_and_datasets_compare_where_they_overlap(tmp_path, capsys):
    a = fake_results(tmp_path / "a", frameworks=("numpy", "torch"))
    b = fake_results(tmp_path / "b", frameworks=("numpy", "jax"), datasets=("digits", "mnist"))
    assert cli.main(["compare", str(a), str(b), "--html", str(tmp_path / "c.html")]) == 0
    out = capsys.readouterr().out
    assert {key[2] for key in compared(tmp_path, a, b).only_a} == {"torch"}
    assert "- only in A: digits / mlp-8 / torch" in out
    assert "- only in B: digits / mlp-8 / jax" in out
    assert "- only in B: mnist / mlp-8 / numpy" in out
    assert "| numpy " in out and "| torch " not in out


def one_line_error(capsys, *argv: str) -> str:
    """Run the command, expect the bad-input status and exactly one line on stderr."""
    assert cli.main(["compare", *argv]) == cli.BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_runs_sharing_nothing_are_one_line(tmp_path, capsys):
    a = fake_results(tmp_path / "a", frameworks=("numpy",))
    b = fake_results(tmp_path / "b", frameworks=("jax",))
    err = one_line_error(capsys, str(a), str(b), "--html", str(tmp_path / "c.html"))
    assert "share no dataset x architecture x framework" in err
    assert "A has digits / mlp-8 / numpy; B has digits / mlp-8 / jax" in err


def test_a_folder_that_is_not_a_results_folder_is_one_line(tmp_path, capsys):
    a = fake_results(tmp_path / "a")
    (tmp_path / "empty").mkdir()
    err = one_line_error(capsys, str(a), str(tmp_path / "empty"))
    assert f"{tmp_path / 'empty'} is not a results folder: no summary.csv" in err
    err = one_line_error(capsys, str(a), str(tmp_path / "missing"))
    assert "missing does not exist" in err
    (tmp_path / "notes.txt").write_text("hello")
    err = one_line_error(capsys, str(a), str(tmp_path / "notes.txt"))
    assert "neither a results folder nor a zip archive" in err
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as other:
        other.writestr("readme.txt", "not results")
    err = one_line_error(capsys, str(a), str(tmp_path / "other.zip"))
    assert "not one made by mlpcompare pack" in err


def test_an_archive_from_a_newer_schema_is_one_line(tmp_path, capsys):
    newer = {**RUN, "schema_version": provenance.SCHEMA_VERSION + 1}
    b = pack.pack(fake_results(tmp_path / "b", run=newer), tmp_path / "b.zip")
    err = one_line_error(capsys, str(fake_results(tmp_path / "a")), str(b))
    assert "written by a newer mlpcompare" in err and "upgrade mlpcompare" in err


def test_a_checkout_stands_for_its_results_folder(tmp_path):
    fake_results(tmp_path / "clone" / "results")
    assert sources.open_results(tmp_path / "clone", tmp_path).root == tmp_path / "clone" / "results"


def test_pack_holds_the_report_tables_and_records_but_no_models(tmp_path, capsys):
    results = fake_results(tmp_path / "results")
    archive = tmp_path / "run.zip"
    assert cli.main(["pack", str(results), "-o", str(archive)]) == 0
    assert capsys.readouterr().out.strip() == str(archive)
    names = set(zipfile.ZipFile(archive).namelist())
    assert {"run/report.html", "run/summary.csv", "run/run.json",
            "run/digits/mlp-8/torch/seed2/train.json"} <= names  # fmt: skip
    assert not any(name.endswith(".npz") for name in names)
    assert cli.main(["pack", str(results), "-o", str(tmp_path / "m.zip"), "--models"]) == 0
    names = set(zipfile.ZipFile(tmp_path / "m.zip").namelist())
    assert "m/digits/mlp-8/torch/seed2/model.npz" in names
    assert "m/digits/mlp-8/torch/seed2/predictions.npz" not in names


def test_an_archive_compares_like_its_folder(tmp_path):
    a = fake_results(tmp_path / "a")
    b = fake_results(tmp_path / "b", time_factor=2.0)
    archived = pack.pack(b, tmp_path / "b.zip")
    from_folder, from_archive = compared(tmp_path, a, b), compared(tmp_path, a, archived)
    assert [(r.key, r.measure, r.b, r.verdict) for r in from_folder.rows] == [
        (r.key, r.measure, r.b, r.verdict) for r in from_archive.rows
    ]


def test_pack_names_the_archive_after_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    archive = pack.pack(fake_results(tmp_path / "results"), None)
    assert archive.name == "mlpcompare-2026-12-06-0700-aaaaaaa.zip"
    assert pack.default_name(None) == "mlpcompare-results.zip"


def test_pack_refuses_a_folder_that_is_not_results(tmp_path, capsys):
    assert cli.main(["pack", str(tmp_path), "-o", str(tmp_path / "x.zip")]) == cli.BAD_INPUT
    err = capsys.readouterr().err
    assert "is not a results folder" in err and err.count("\n") == 1


def test_the_html_page_is_escaped_and_complete(tmp_path):
    a = fake_results(tmp_path / "a")
    run = {**RUN, "machine": {**RUN["machine"], "cpu": "<b>CPU</b>"}}
    b = fake_results(tmp_path / "b", run=run)
    html = tmp_path / "page.html"
    cli.main(["compare", str(a), str(b), "--html", str(html)])
    page = html.read_text()
    assert "&lt;b&gt;CPU&lt;/b&gt;" in page and "<b>CPU</b>" not in page
    assert page.count("<tr>") == 2 + 2 * len(compare.MEASURES) + 1  # environment, measures, headers


def test_a_small_shift_every_seed_shares_is_not_called(tmp_path):
    a = fake_results(tmp_path / "a")
    busier = fake_results(tmp_path / "b", rerun=(1.05, 1.05, 1.05))  # 5 % slower, every seed alike
    assert set(verdicts(compared(tmp_path, a, busier)).values()) == {compare.SAME}
    slower = fake_results(tmp_path / "c", rerun=(1.3, 1.3, 1.3))
    assert verdicts(compared(tmp_path, a, slower))["numpy", "train_time_s"] == compare.WORSE
