"""The report's closing section, computed: every sentence is made from the tables under
``results/`` and states its figures with their uncertainty; a claim the data does not support is
not made (the sentence says so instead).

Per dataset x architecture: which framework trains fastest (performance.csv: median samples/s
and interquartile range over seeds), which infers fastest at each batch size (inference.csv: the
best API of each framework), whether the accuracies differ (quality.csv: 95 % intervals;
significance.csv: McNemar, Holm-adjusted), how much slower the idiomatic path trains
(throughput.csv); over the code: lines, hand-written parts and time to a first result
(devexp.csv). "When to use which" turns those into rules, each citing its figures.

Two figures "differ beyond the seeds' spread" when their interquartile ranges over two or more
seeds do not overlap (one run has no spread: nothing is claimed from it); accuracy differs
"significantly" when a McNemar test has a Holm-adjusted p below :data:`ALPHA`, and a test that
finds nothing is said to be unable to tell the frameworks apart, never to show them equal. Two
accuracies are "the same" only where the 95 % interval of their difference lies inside
:data:`~mlpcompare.aggregating.sentences.SAME_ACCURACY_POINTS`. An aspect of the code is written
"by hand" only where devexp.csv found evidence of it (a ``def backward``).
"""

from __future__ import annotations

from mlpcompare.aggregating.sentences import (
    ALPHA,
    Group,
    cell_number,
    fastest,
    group_section,
    inference_entries,
    names,
    rate,
    seconds,
    training_entries,
)
from mlpcompare.measuring.devexp import EVIDENCE_SEPARATOR


def conclusions(groups: list[Group], devexp: list[dict]) -> dict:
    """The closing section: per dataset x architecture (``groups``: its tables) its sentences,
    the code's (``devexp``: devexp.csv's rows), and the rules."""
    return {
        "groups": [group_section(group) for group in groups],
        "code": code_sentences(devexp),
        "rules": rules(groups, devexp),
    }


# --- code and first use ----------------------------------------------------------------------


def code_facts(devexp: list[dict]) -> list[dict]:
    """devexp.csv's rows of one dataset x architecture: the code columns are the same in all."""
    first = (devexp[0]["dataset"], devexp[0]["arch"]) if devexp else None
    return [r for r in devexp if (r["dataset"], r["arch"]) == first]


ASPECT_COLUMNS = (
    ("backward_pass", "backward pass"), ("optimizer", "optimizer"),
    ("batching_shuffling", "batching with shuffling"),
)  # fmt: skip


def by_hand(row: dict) -> list[str]:
    """The aspects a devexp.csv row finds written by hand, each with the first name that showed
    it (devexp says "by hand" only on such evidence)."""
    return [
        f"{label} ({evidence.split(EVIDENCE_SEPARATOR)[0]})"
        if (evidence := row[f"{column}_evidence"])
        else label
        for column, label in ASPECT_COLUMNS
        if row[column] == "by hand"
    ]


def code_sentences(devexp: list[dict]) -> list[str]:
    rows = code_facts(devexp)
    sentences = []
    for variant in ("idiomatic", "tuned"):
        chosen = sorted(
            (r for r in rows if r["variant"] == variant), key=lambda r: int(r["code_lines"])
        )
        if chosen:
            counts = [
                f"{r['framework']} {r['code_lines']} lines ({r['api_names']} API names)"
                for r in chosen
            ]
            sentences.append(f"The {variant} code needs {names(counts)}.")
    for row in (r for r in rows if r["variant"] == "idiomatic"):
        if written := by_hand(row):
            sentences.append(f"With {row['framework']}'s idiomatic path the user writes the "
                             f"{names(written)} by hand.")  # fmt: skip
    tuned = [r for r in rows if r["variant"] == "tuned"]
    if tuned:
        imports = sorted(tuned, key=lambda r: float(r["import_s_median"]))
        parts = [
            f"{r['framework']} {seconds(float(r['import_s_median']))} "
            f"(range {seconds(float(r['import_s_min']))}–{seconds(float(r['import_s_max']))}; "
            f"{float(r['install_mb']):,.0f} MB installed)"
            for r in imports
        ]
        sentences.append(
            "Importing the framework takes (median over its training jobs, each a fresh "
            f"interpreter) {names(parts)}."
        )
    return sentences


def first_result(row: dict) -> tuple[float, float, float] | None:
    """Import time (least, median, most over the framework's training jobs) plus the idiomatic
    path's first epoch (tracing and compilation included) of a devexp.csv ``row``: what a new
    user waits for; None where not measured."""
    epoch = cell_number(row["first_epoch_s_median"])
    if epoch is None:
        return None
    low, mid, high = (float(row[f"import_s_{k}"]) + epoch for k in ("min", "median", "max"))
    return low, mid, high


def first_result_rule(groups: list[Group], rows: list[dict]) -> str | None:
    """ "For the quickest first result, use ..." where its import times' range lies below the
    next quickest's; the first epoch is said to be one run where it is (bench.idiomatic_seeds)."""
    starts = {r["framework"]: first_result(r) for r in rows}
    starts = sorted(((fw, s) for fw, s in starts.items() if s is not None), key=lambda i: i[1][1])
    if len(starts) < 2 or starts[0][1][2] >= starts[1][1][0]:
        return None
    pair = (rows[0]["dataset"], rows[0]["arch"])
    runs = {int(float(r["n_seeds"])) for g in groups if (g.dataset, g.arch) == pair
            for r in g.idiomatic if r["framework"] in (starts[0][0], starts[1][0])}  # fmt: skip
    epoch = "one idiomatic run each" if runs == {1} else "the median over its idiomatic runs"
    (quickest, (q_low, q_mid, q_high)), (runner, (r_low, r_mid, r_high)) = starts[:2]
    return (
        f"For the quickest first result, use {quickest}: import and the idiomatic path's first "
        f"epoch take {seconds(q_mid)} (range over its training jobs' imports "
        f"{seconds(q_low)}–{seconds(q_high)}) against {seconds(r_mid)} "
        f"({seconds(r_low)}–{seconds(r_high)}) for {runner}, the next quickest; the first epoch "
        f"is {epoch}."
    )


# --- when to use which ------------------------------------------------------------------------


def rules(groups: list[Group], devexp: list[dict]) -> list[str]:
    """Recommendations, each citing the figures it rests on; none where the data are silent."""
    found = []
    for group in groups:
        where = f"on {group.dataset} · {group.arch}"
        entries = training_entries(group)
        if len(entries) > 1:
            best, second, apart = fastest(entries)
            if apart:
                found.append(
                    f"For training throughput {where}, use {best.framework}: "
                    f"{rate(best.median)} samples/s against {rate(second.median)} for "
                    f"{second.framework}, beyond the seeds' spread."
                )
            elif min(best.n, second.n) > 1:
                found.append(
                    f"Training throughput does not decide {where}: {best.framework} and "
                    f"{second.framework} are within the seeds' spread."
                )
        batches = inference_entries(group)
        if batches:
            smallest = min(batches)
            best, second, apart = fastest(batches[smallest])
            if apart:
                found.append(
                    f"For low-latency inference (batch {smallest}) {where}, use "
                    f"{best.framework}{best.detail}: {rate(best.median)} samples/s against "
                    f"{rate(second.median)} for {second.framework}."
                )
        tests = [r for r in group.significance if r["p_holm"] != ""]
        if tests and all(float(r["p_holm"]) >= ALPHA for r in tests):
            found.append(
                f"Accuracy gives no reason to choose {where}: none of the {len(tests)} McNemar "
                "tests is significant after Holm's correction (they could not tell the "
                "frameworks apart; that is not evidence that they are equal)."
            )
    rows = [r for r in code_facts(devexp) if r["variant"] == "idiomatic"]
    if rows:
        lines = sorted(rows, key=lambda r: int(r["code_lines"]))
        if len(lines) == 1 or int(lines[0]["code_lines"]) < int(lines[1]["code_lines"]):
            fewest = lines[0]
            found.append(
                f"For the shortest convenient code, use {fewest['framework']}: "
                f"{fewest['code_lines']} lines on its idiomatic path."
            )
        hand = {r["framework"]: by_hand(r) for r in rows}
        counts = sorted((len(written) for written in hand.values()), reverse=True)
        most = max(hand, key=lambda fw: len(hand[fw]))
        if hand[most] and (len(counts) == 1 or counts[0] > counts[1]):
            found.append(
                f"To see every step of training written out (to learn or to check the maths), use "
                f"{most}: its user writes the {names(hand[most])} by hand."
            )
    if rows and (rule := first_result_rule(groups, rows)):
        found.append(rule)
    return found
