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
    assert "Accuracy gives no reason to choose" in text(section(results))

    def significant(row):
        if (row["seed"], row["framework_a"], row["framework_b"]) == (
            "0", frameworks.NAMES[0], frameworks.NAMES[1],
        ):  # fmt: skip
            row |= {"p_holm": "0.001", "accuracy_a": "0.95", "accuracy_b": "0.9"}

    edit(path, significant)
    made = text(section(results))
    assert "1 of" in made and "significant at 0.05 after Holm's correction" in made
    assert f"{frameworks.NAMES[0]} over {frameworks.NAMES[1]} (seed 0, p = 0.001)" in made
    assert "Accuracy gives no reason to choose" not in made


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
    one = [sentences.Ranked("x", 10.0, 9.0, 11.0, 3)]
    assert sentences.speed_sentence("trains", one) == (
        "x trains fastest: 10 samples/s (IQR over 3 seeds 9–11)."
    )
    assert conclusions.rules([group], []) == []


def test_the_idiomatic_accuracy_sentence_follows_idiomatic_csv(results):
    fw = frameworks.NAMES[1]
    assert (
        f"{fw}'s idiomatic path reaches the tuned test accuracy within 0.2 points: +0.00 points"
        in text(section(results))
    )  # fake_results gives the idiomatic runs the tuned runs' metrics

    def short_of_it(row):
        if row["framework"] == fw:
            row |= {"accuracy_diff_points": "-0.8", "accuracy_diff_points_ci_low": "-1.1",
                    "accuracy_diff_points_ci_high": "-0.5", "train_time_ratio": "2.5"}  # fmt: skip

    edit(results.top("idiomatic.csv"), short_of_it)
    made = text(section(results))
    assert f"{fw}'s idiomatic path misses the tuned test accuracy by -0.80 points" in made
    assert (
        "at 2.50× the tuned training time: the interval over its seed pairs excludes zero" in made
    )


def test_the_idiomatic_speed_sentence_says_when_it_rests_on_one_run(results):
    def seeds(n):
        def change(row):
            if row["variant"] == "idiomatic":
                row["n_seeds"] = str(n)

        return change

    edit(results.top("throughput.csv"), seeds(2))
    assert "the idiomatic path trains (medians over seeds)" in text(section(results))
    edit(results.top("throughput.csv"), seeds(1))
    assert "(the tuned median over seeds against one idiomatic run)" in text(section(results))


# --- each rule on tables made by hand: data that should and should not trigger it ----------


def performance(framework: str, median: float, q1: float, q3: float, n: int = 3) -> dict:
    return {"framework": framework, "n_ok": str(n), "train_samples_per_s_median": str(median),
            "train_samples_per_s_q1": str(q1), "train_samples_per_s_q3": str(q3)}  # fmt: skip


def group(**tables) -> sentences.Group:
    return sentences.Group(**{"dataset": "d", "arch": "a", "quality": [], "significance": [],
                              "performance": [], "inference": []} | tables)  # fmt: skip


def all_text(g: sentences.Group, devexp: list[dict] = ()) -> str:
    made = conclusions.conclusions([g], list(devexp))
    return " ".join([*made["groups"][0]["sentences"], *made["code"], *made["rules"]])


@pytest.mark.parametrize(
    ("rows", "apart"),
    [
        ([performance("a", 100, 95, 105), performance("b", 50, 45, 55)], True),
        ([performance("a", 100, 40, 105), performance("b", 50, 45, 55)], False),  # overlap
        ([performance("a", 100, 100, 100, 1), performance("b", 50, 50, 50, 1)], False),  # 1 run
        ([performance("a", 100, 95, 105), performance("b", 50, 50, 50, 1)], False),
    ],
)
def test_a_speed_gap_is_beyond_the_seeds_spread_only_over_seeds(rows, apart):
    made = all_text(group(performance=rows))
    assert ("beyond the seeds' spread" in made) is apart
    assert ("exceeds the seeds' spread" in made) is apart
    assert ("For training throughput on d · a, use a" in made) is apart
    one_run = any(r["n_ok"] == "1" for r in rows)
    assert ("one run has no spread over seeds" in made) is one_run
    assert ("Training throughput does not decide" in made) is (not apart and not one_run)


def inference(framework: str, rate: float, q1: float, q3: float, n: int) -> dict:
    return {"framework": framework, "api": "call", "batch_size": "1", "n_ok": str(n),
            "samples_per_s": str(rate), "samples_per_s_q1": str(q1),
            "samples_per_s_q3": str(q3)}  # fmt: skip


@pytest.mark.parametrize(("n", "apart"), [(3, True), (1, False)])
def test_the_latency_rule_needs_a_spread(n, apart):
    rows = [inference("a", 100, 100 if n == 1 else 95, 105 if n > 1 else 100, n),
            inference("b", 50, 50 if n == 1 else 45, 55 if n > 1 else 50, n)]  # fmt: skip
    made = all_text(group(inference=rows))
    assert ("For low-latency inference (batch 1) on d · a, use a" in made) is apart


def mcnemar(p_holm: str, seed: str = "0") -> dict:
    return {"seed": seed, "framework_a": "a", "framework_b": "b", "n_test": "10000",
            "accuracy_a": "0.98", "accuracy_b": "0.97", "p_holm": p_holm}  # fmt: skip


QUALITY = [{"framework": f, "accuracy_mean": m, "accuracy_ci_low": "", "accuracy_ci_high": ""}
           for f, m in (("a", "0.98"), ("b", "0.97"))]  # fmt: skip


@pytest.mark.parametrize(
    ("tests", "verdict"),
    [
        ([mcnemar("0.4"), mcnemar("0.9", "1")], "apart"),  # tests ran, none significant
        ([mcnemar(""), mcnemar("", "1")], "none ran"),  # no test could run
        ([], "none ran"),
        ([mcnemar("0.001"), mcnemar("0.9", "1")], "significant"),
    ],
)
def test_a_test_that_finds_nothing_is_said_as_absence_of_evidence(tests, verdict):
    made = all_text(group(quality=QUALITY, significance=tests))
    could_not = "could not tell these frameworks apart at this sample size" in made
    assert could_not is (verdict == "apart")
    assert ("Accuracy gives no reason to choose on d · a" in made) is (verdict == "apart")
    assert ("No McNemar test could be made" in made) is (verdict == "none ran")
    assert ("is significant" in made or "are significant" in made) is (verdict != "none ran")
    assert "show no accuracy difference" not in made and "the same accuracy" not in made
    assert "one run, no interval" in made  # quality.csv without intervals: one seed


def idiomatic(diff, low="", high="", n=3) -> dict:
    return {"framework": "f", "api": "fit", "n_seeds": str(n), "accuracy_diff_points": str(diff),
            "accuracy_diff_points_ci_low": str(low), "accuracy_diff_points_ci_high": str(high),
            "train_time_ratio": "1.5"}  # fmt: skip


@pytest.mark.parametrize(
    ("row", "says", "never"),
    [
        # one idiomatic seed (the default): one run, no interval, no verdict either way
        (idiomatic(0.4, n=1), "f's idiomatic path, one run, scored 0.40 points above the tuned "
         "run's accuracy of the same seed", ("misses", "reaches", "spread", "exceeds")),
        (idiomatic(-0.9, n=1), "scored 0.90 points below", ("misses", "reaches", "spread")),
        (idiomatic(0.0, n=1), "scored exactly the tuned run's accuracy", ("reaches", "the two are the same")),
        (idiomatic(-0.5, n=3), "one finished pair of its 3 seeds", ("misses", "reaches")),
        # an interval inside the margin: the two reach the same accuracy
        (idiomatic(0.05, -0.1, 0.15), "reaches the tuned test accuracy within 0.2 points: +0.05 "
         "points (95 % CI -0.10 to +0.15)", ("misses", "exceeds")),
        # a small difference but a wide interval: neither a difference nor the same
        (idiomatic(0.05, -0.5, 0.6), "show neither a difference nor that the two are the same",
         ("reaches", "misses", "exceeds")),
        (idiomatic(-0.8, -1.1, -0.5), "misses the tuned test accuracy by -0.80 points (95 % CI "
         "-1.10 to -0.50)", ("reaches", "exceeds", "not the tuned recipe")),
        (idiomatic(0.4, 0.25, 0.55), "exceeds the tuned test accuracy by +0.40 points",
         ("reaches", "misses")),
    ],
)  # fmt: skip
def test_the_idiomatic_accuracy_sentence_follows_the_interval(row, says, never):
    sentence = sentences.idiomatic_accuracy_sentence(row)
    assert says in sentence
    for word in never:
        assert word not in sentence, word


def throughput(slowdown: float, n: int) -> dict:
    return {"framework": "f", "variant": "idiomatic", "n_seeds": str(n),
            "slowdown_vs_tuned": str(slowdown), "samples_per_s_median": "1000"}  # fmt: skip


def test_the_idiomatic_speed_sentence_says_faster_where_it_is_faster():
    assert "f 2.00× slower" in sentences.idiomatic_sentence(group(throughput=[throughput(2, 3)]))
    faster = sentences.idiomatic_sentence(group(throughput=[throughput(0.5, 1)]))
    assert "f 2.00× faster" in faster and "slower" not in faster
    assert "against one idiomatic run" in faster


ASPECTS = ("backward_pass", "optimizer", "batching_shuffling")


def code_row(fw: str, lines: int, hand=(), import_s=(0.1, 0.2, 0.3), epoch="1.0") -> dict:
    row = {"dataset": "d", "arch": "a", "framework": fw, "variant": "idiomatic",
           "code_lines": str(lines), "api_names": "5", "install_mb": "10",
           "import_s_min": str(import_s[0]), "import_s_median": str(import_s[1]),
           "import_s_max": str(import_s[2]), "first_epoch_s_median": epoch}  # fmt: skip
    for aspect in ASPECTS:
        evidence = dict(hand).get(aspect)
        row[aspect] = "by hand" if evidence else "not found in the code"
        row[f"{aspect}_evidence"] = evidence or ""
    return row


def test_by_hand_is_said_only_with_its_evidence():
    rows = [code_row("x", 10, {"backward_pass": "def backward, def grad"}), code_row("y", 20)]
    made = conclusions.conclusions([], rows)
    assert (
        "With x's idiomatic path the user writes the backward pass (def backward) by hand."
        in (made["code"])
    )
    assert not any("With y's" in s for s in made["code"])  # nothing found: nothing claimed
    assert "use x: its user writes the backward pass (def backward) by hand" in " ".join(
        made["rules"]
    )


def test_the_written_out_and_shortest_rules_need_a_single_winner():
    tied = [
        code_row("x", 10, {"optimizer": "def step"}),
        code_row("y", 10, {"optimizer": "def step"}),
    ]
    made = " ".join(conclusions.rules([], tied))
    assert "For the shortest convenient code" not in made and "every step of training" not in made
    clear = [code_row("x", 10, {"optimizer": "def step"}), code_row("y", 12)]
    made = " ".join(conclusions.rules([], clear))
    assert "For the shortest convenient code, use x: 10 lines" in made
    assert "every step of training written out (to learn or to check the maths), use x" in made


@pytest.mark.parametrize("idiomatic_seeds", [1, 3])
def test_the_quickest_first_result_needs_import_ranges_apart(idiomatic_seeds):
    apart = [code_row("x", 10, import_s=(0.1, 0.2, 0.3)), code_row("y", 10, import_s=(1, 2, 3))]
    g = group(idiomatic=[idiomatic(0.0, n=idiomatic_seeds) | {"framework": f} for f in "xy"])
    made = " ".join(conclusions.rules([g], apart))
    assert (
        "For the quickest first result, use x: import and the idiomatic path's first epoch "
        "take 1.2 s (range over its training jobs' imports 1.1 s–1.3 s) against 3 s" in made
    )
    assert ("one idiomatic run each" in made) is (idiomatic_seeds == 1)
    close = [
        code_row("x", 10, import_s=(0.1, 0.2, 0.3)),
        code_row("y", 10, import_s=(0.25, 0.3, 0.4)),
    ]
    assert "quickest first result" not in " ".join(conclusions.rules([g], close))
