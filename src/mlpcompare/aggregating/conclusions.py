"""The report's closing section, computed: every sentence is made from the tables under
``results/`` and states its figures with their uncertainty; a claim the data does not support is
not made (the sentence says so instead).

Per dataset x architecture: which framework trains fastest (performance.csv: median samples/s
and interquartile range over seeds), which infers fastest at each batch size (inference.csv: the
best API of each framework), whether the accuracies differ (quality.csv: 95 % intervals;
significance.csv: McNemar, Holm-adjusted), how much slower the idiomatic path trains
(throughput.csv); over the code: lines, hand-written parts and time to a first result
(devexp.csv). "When to use which" turns those into rules, each citing its figures.

Two figures "differ beyond the seeds' spread" when their interquartile ranges over seeds do not
overlap; accuracy differs "significantly" when a McNemar test has a Holm-adjusted p below
:data:`ALPHA`.
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
        by_hand = [label for column, label in ASPECT_COLUMNS if row[column] == "by hand"]
        if by_hand:
            sentences.append(f"With {row['framework']}'s idiomatic path the user writes the "
                             f"{names(by_hand)} by hand.")  # fmt: skip
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


def first_result(devexp: list[dict], framework: str) -> float | None:
    """Import time plus the idiomatic path's first epoch (tracing and compilation included), on
    the first dataset x architecture: what a new user waits for; None where not measured."""
    for row in code_facts(devexp):
        if row["framework"] == framework and row["variant"] == "idiomatic":
            epoch = cell_number(row["first_epoch_s_median"])
            return None if epoch is None else float(row["import_s_median"]) + epoch
    return None


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
            else:
                found.append(
                    f"Training throughput does not decide {where}: {best.framework} and "
                    f"{second.framework} are within the seeds' spread."
                )
        batches = inference_entries(group)
        if batches:
            smallest = min(batches)
            best, second, apart = fastest(batches[smallest])
            if second is not None and apart:
                found.append(
                    f"For low-latency inference (batch {smallest}) {where}, use "
                    f"{best.framework}{best.detail}: {rate(best.median)} samples/s against "
                    f"{rate(second.median)} for {second.framework}."
                )
        significant = [
            r for r in group.significance if r["p_holm"] != "" and float(r["p_holm"]) < ALPHA
        ]
        if group.significance and not significant:
            found.append(
                f"Accuracy need not decide {where}: no McNemar test is significant after Holm's "
                "correction."
            )
    rows = [r for r in code_facts(devexp) if r["variant"] == "idiomatic"]
    if rows:
        fewest = min(rows, key=lambda r: int(r["code_lines"]))
        found.append(
            f"For the shortest convenient code, use {fewest['framework']}: "
            f"{fewest['code_lines']} lines on its idiomatic path."
        )
        hand = {
            r["framework"]: [label for column, label in ASPECT_COLUMNS if r[column] == "by hand"]
            for r in rows
        }
        most = max(hand, key=lambda fw: len(hand[fw]))
        if hand[most]:
            found.append(
                f"To see every step of training written out (to learn or to check the maths), use "
                f"{most}: its user writes the {names(hand[most])} by hand."
            )
    starts = {r["framework"]: first_result(devexp, r["framework"]) for r in rows}
    starts = {fw: s for fw, s in starts.items() if s is not None}
    if len(starts) > 1:
        quickest = min(starts, key=starts.get)
        slowest = max(starts, key=starts.get)
        found.append(
            f"For the quickest first result, use {quickest}: import and the idiomatic path's first "
            f"epoch take "
            f"{seconds(starts[quickest])}, against {seconds(starts[slowest])} for {slowest}."
        )
    return found
