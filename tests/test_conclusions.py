"""The closing section is computed: altering a table changes the sentences made from it, and a
claim the data does not support is not made."""

import csv
from pathlib import Path

import pytest
from fake_results import config, every_file, write_results

from mlpcompare import frameworks
from mlpcompare.aggregating import conclusions, sentences
from mlpcompare.io import read_csv
from mlpcompare.layout import Layout
from mlpcompare.presenting.report_files import Results
from mlpcompare.presenting.report_sections import read_conclusions

PAIR = ("digits", "mlp-8")


@pytest.fixture
def results(tmp_path):
    cfg = config()
    write_results(tmp_path / "results", cfg)
    return Layout(str(tmp_path / "results"))


def edit(path, change) -> None:
    """Rewrite the CSV at ``path`` with ``change(row)`` applied to every row."""
    rows = read_csv(path)
    for row in rows:
        change(row)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def section(layout) -> dict:
    idiomatic = Path(layout.top("idiomatic.csv")).is_file()
    return read_conclusions(Results(layout.root, every_file(layout.root)), [PAIR], idiomatic)


def text(made: dict) -> str:
    return " ".join([*made["groups"][0]["sentences"], *made["code"], *made["rules"]])


def test_the_fastest_trainer_follows_performance_csv(results):
    path = results.table(*PAIR, "performance")
    winner = frameworks.NAMES[-1]

    def faster(row):
        if row["framework"] == winner:
            row |= {"train_samples_per_s_median": "90000", "train_samples_per_s_q1": "89000",
                    "train_samples_per_s_q3": "91000"}  # fmt: skip

    before = section(results)["groups"][0]["sentences"][0]
    edit(path, faster)
    after = section(results)
    assert after["groups"][0]["sentences"][0] != before
    assert after["groups"][0]["sentences"][0].startswith(f"{winner} trains fastest: 90,000")
    assert "exceeds the seeds' spread" in after["groups"][0]["sentences"][0]
    assert f"For training throughput on digits · mlp-8, use {winner}" in " ".join(after["rules"])

    def overlapping(row):
        if row["framework"] == winner:
            row["train_samples_per_s_q1"] = "100"  # its spread now reaches the runner-up's

    edit(path, overlapping)
    sentence = section(results)["groups"][0]["sentences"][0]
    assert "the seeds do not separate the two" in sentence
    assert f"For training throughput on digits · mlp-8, use {winner}" not in " ".join(
        section(results)["rules"]
    )


def test_significance_changes_the_accuracy_sentence(results):
    path = results.table(*PAIR, "significance")
    assert "None of the" in text(section(results))
    assert "Accuracy need not decide" in text(section(results))

    def significant(row):
        if (row["seed"], row["framework_a"], row["framework_b"]) == (
            "0", frameworks.NAMES[0], frameworks.NAMES[1],
        ):  # fmt: skip
            row |= {"p_holm": "0.001", "accuracy_a": "0.95", "accuracy_b": "0.9"}

    edit(path, significant)
    made = text(section(results))
    assert "1 of" in made and "significant at 0.05 after Holm's correction" in made
    assert f"{frameworks.NAMES[0]} over {frameworks.NAMES[1]} (seed 0, p = 0.001)" in made
    assert "Accuracy need not decide" not in made


def test_accuracy_range_cites_quality_csv_with_intervals(results):
    path = results.table(*PAIR, "quality")

    def best(row):
        if row["framework"] == frameworks.NAMES[1]:
            row |= {"accuracy_mean": "0.999", "accuracy_ci_low": "0.998", "accuracy_ci_high": "1.0"}

    edit(path, best)
    made = text(section(results))
    assert f"to 99.90 % ({frameworks.NAMES[1]}, 95 % CI 99.80 %–100.00 %)" in made


def test_inference_and_code_sentences_follow_their_tables(results):
    inference = results.table(*PAIR, "inference")

    def slow_batch1(row):
        if row["batch_size"] == "1" and row["framework"] != frameworks.NAMES[-1]:
            row |= {"samples_per_s": "10", "samples_per_s_q1": "9", "samples_per_s_q3": "11"}

    edit(inference, slow_batch1)
    made = section(results)
    assert any(
        s.startswith(f"At inference batch 1, {frameworks.NAMES[-1]} infers fastest")
        for s in made["groups"][0]["sentences"]
    )

    def shorter(row):
        if row["framework"] == frameworks.NAMES[2] and row["variant"] == "idiomatic":
            row["code_lines"] = "7"

    edit(results.top("devexp.csv"), shorter)
    made = section(results)
    assert f"use {frameworks.NAMES[2]}: 7 lines on its idiomatic path" in " ".join(made["rules"])
    assert f"{frameworks.NAMES[2]} 7 lines" in " ".join(made["code"])


def test_no_speed_claim_without_a_runner_up():
    group = sentences.Group("d", "a", [], [], [], [])
    assert sentences.speed_sentence("trains", []) is None
    one = [sentences.Ranked("x", 10.0, 9.0, 11.0)]
    assert sentences.speed_sentence("trains", one) == (
        "x trains fastest: 10 samples/s (IQR over seeds 9–11)."
    )
    assert conclusions.rules([group], []) == []


def test_the_idiomatic_accuracy_sentence_follows_idiomatic_csv(results):
    fw = frameworks.NAMES[1]
    assert f"{fw}'s idiomatic path reaches the tuned test accuracy, +0.00 points" in text(
        section(results)
    )  # fake_results gives the idiomatic runs the tuned runs' metrics

    def short_of_it(row):
        if row["framework"] == fw:
            row |= {"accuracy_diff_points": "-0.8", "accuracy_diff_points_ci_low": "-1.1",
                    "accuracy_diff_points_ci_high": "-0.5", "train_time_ratio": "2.5"}  # fmt: skip

    edit(results.top("idiomatic.csv"), short_of_it)
    made = text(section(results))
    assert f"{fw}'s idiomatic path misses the tuned test accuracy by -0.80 points" in made
    assert "at 2.50× the tuned training time, beyond the seeds' spread" in made


def test_the_idiomatic_speed_sentence_says_when_it_rests_on_one_run(results):
    def seeds(n):
        def change(row):
            if row["variant"] == "idiomatic":
                row["n_seeds"] = str(n)

        return change

    edit(results.top("throughput.csv"), seeds(2))
    assert "by a factor of (medians over seeds)" in text(section(results))
    edit(results.top("throughput.csv"), seeds(1))
    assert "(the tuned median over seeds against one idiomatic run)" in text(section(results))
