"""The sentences of the report's closing section about one dataset x architecture, each made
from that architecture's tables (rows as read, raw text) and stating its figures with their
uncertainty: which framework trains and infers fastest, whether the accuracies differ, how the
idiomatic path compares. :mod:`mlpcompare.aggregating.conclusions` adds the code's sentences
and the rules, and says when figures "differ".
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALPHA = 0.05


@dataclass
class Group:
    """The tables of one dataset x architecture (rows as read, raw text)."""

    dataset: str
    arch: str
    quality: list[dict]
    significance: list[dict]
    performance: list[dict]
    inference: list[dict]
    throughput: list[dict] = field(default_factory=list)
    idiomatic: list[dict] = field(default_factory=list)  # idiomatic.csv rows (variant on)


def cell_number(text: str) -> float | None:
    """A table cell as a number; a blank cell (not measured, diverged) is None."""
    return None if text in ("", None) else float(text)


def rate(value: float) -> str:
    """A throughput: 77,573 samples/s."""
    return f"{value:,.0f}"


def pct(value: float, digits: int = 2) -> str:
    return f"{100 * value:.{digits}f} %"


def seconds(value: float) -> str:
    return f"{value:.3g} s"


def names(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


# --- one dataset x architecture --------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """A framework's median and interquartile range of a rate (higher is better)."""

    framework: str
    median: float
    q1: float
    q3: float
    detail: str = ""


def fastest(entries: list[Ranked]) -> tuple[Ranked, Ranked | None, bool]:
    """The fastest entry, the runner-up and whether their interquartile ranges are apart."""
    ranked = sorted(entries, key=lambda e: e.median, reverse=True)
    best, second = ranked[0], (ranked[1] if len(ranked) > 1 else None)
    return best, second, second is not None and best.q1 > second.q3


def speed_sentence(what: str, entries: list[Ranked]) -> str | None:
    """ "<framework> <what> fastest: ..." with the runner-up and whether the seeds separate them."""
    if not entries:
        return None
    best, second, apart = fastest(entries)
    lead = (
        f"{best.framework} {what} fastest: {rate(best.median)} samples/s"
        f"{best.detail} (IQR over seeds {rate(best.q1)}–{rate(best.q3)})"
    )
    if second is None:
        return lead + "."
    ratio = best.median / second.median
    verdict = (
        "the interquartile ranges do not overlap, so the difference exceeds the seeds' spread"
        if apart
        else "the interquartile ranges overlap, so the seeds do not separate the two"
    )
    return (
        f"{lead}, {ratio:.2f}× the next, {second.framework} ({rate(second.median)}{second.detail}; "
        f"IQR {rate(second.q1)}–{rate(second.q3)}); {verdict}."
    )


def training_entries(group: Group) -> list[Ranked]:
    return [
        Ranked(row["framework"], *(float(row[f"train_samples_per_s_{k}"]) for k in ("median", "q1", "q3")))
        for row in group.performance
        if row["train_samples_per_s_median"] != ""
    ]  # fmt: skip


def inference_entries(group: Group) -> dict[int, list[Ranked]]:
    """Per batch size: each framework's best API (highest median samples/s)."""
    best: dict[int, dict[str, dict]] = {}
    for row in group.inference:
        batch, fw = int(row["batch_size"]), row["framework"]
        if fw not in best.setdefault(batch, {}) or float(row["samples_per_s"]) > float(
            best[batch][fw]["samples_per_s"]
        ):
            best[batch][fw] = row
    return {
        batch: [
            Ranked(
                fw,
                float(r["samples_per_s"]),
                float(r["samples_per_s_q1"]),
                float(r["samples_per_s_q3"]),
                f" with {r['api']}",
            )
            for fw, r in rows.items()
        ]  # fmt: skip
        for batch, rows in sorted(best.items())
    }


def accuracy_sentences(group: Group) -> list[str]:
    """The accuracy range with intervals, then what McNemar's tests (Holm) say."""
    rows = [r for r in group.quality if r["accuracy_mean"] != ""]
    if not rows:
        return ["Every run diverged: there is no accuracy to compare."]
    rows.sort(key=lambda r: float(r["accuracy_mean"]))
    low, high = rows[0], rows[-1]

    def interval(row):
        if row["accuracy_ci_low"] == "":
            return "one seed, no interval"
        return f"95 % CI {pct(float(row['accuracy_ci_low']))}–{pct(float(row['accuracy_ci_high']))}"

    text = [
        f"Mean test accuracy ranges from {pct(float(low['accuracy_mean']))} "
        f"({low['framework']}, {interval(low)}) to {pct(float(high['accuracy_mean']))} "
        f"({high['framework']}, {interval(high)})."
    ]
    tests = [r for r in group.significance if r["p_holm"] != ""]
    if not tests:
        return [*text, "No McNemar test could be made (a diverged run in every pair)."]
    significant = [r for r in tests if float(r["p_holm"]) < ALPHA]
    if not significant:
        smallest = min(tests, key=lambda r: float(r["p_holm"]))
        return [
            *text,
            f"None of the {len(tests)} McNemar tests (framework pairs × seeds) is significant at "
            f"{ALPHA:g} after Holm's correction (smallest adjusted p = "
            f"{float(smallest['p_holm']):.3g}, {smallest['framework_a']} vs "
            f"{smallest['framework_b']}, seed {smallest['seed']}): the data show no accuracy "
            "difference between these frameworks.",
        ]
    found = []
    for r in significant:
        better, worse = (
            (r["framework_a"], r["framework_b"])
            if float(r["accuracy_a"]) > float(r["accuracy_b"])
            else (r["framework_b"], r["framework_a"])
        )
        found.append(f"{better} over {worse} (seed {r['seed']}, p = {float(r['p_holm']):.3g})")
    return [
        *text,
        f"{len(significant)} of {len(tests)} McNemar tests are significant at {ALPHA:g} after "
        f"Holm's correction: {'; '.join(found)}.",
    ]


def idiomatic_sentence(group: Group) -> str | None:
    """How much slower each framework's idiomatic path trains than its tuned trainer."""
    rows = [
        r for r in group.throughput
        if r["variant"] == "idiomatic" and r["slowdown_vs_tuned"] != ""
    ]  # fmt: skip
    if not rows:
        return None
    rows.sort(key=lambda r: float(r["slowdown_vs_tuned"]))
    parts = [
        f"{r['framework']} {float(r['slowdown_vs_tuned']):.2f}× "
        f"({rate(float(r['samples_per_s_median']))} samples/s)"
        for r in rows
    ]
    # bench.idiomatic_seeds: 1 (the default) gives one idiomatic run against the tuned median.
    one_run = all(int(float(r["n_seeds"])) == 1 for r in rows)
    over = (
        "the tuned median over seeds against one idiomatic run" if one_run else "medians over seeds"
    )
    return (
        f"The idiomatic path trains slower than the tuned trainer by a factor of ({over}): "
        f"{names(parts)}."
    )


# The idiomatic run "reaches the tuned accuracy" within this many points (issue 17's bar).
SAME_ACCURACY_POINTS = 0.3


def idiomatic_accuracy_sentences(group: Group) -> list[str]:
    """Per framework: does the convenient path reach the tuned run's test accuracy, and at what
    training time? From idiomatic.csv: the seed-paired difference with its 95 % interval."""
    sentences = []
    for row in group.idiomatic:
        diff, low, high = (
            cell_number(row[f"accuracy_diff_points{k}"]) for k in ("", "_ci_low", "_ci_high")
        )
        ratio = cell_number(row["train_time_ratio"])
        if diff is None or ratio is None:
            continue
        interval = f" (95 % CI {low:+.2f} to {high:+.2f})" if low is not None else ""
        cost = f"at {ratio:.2f}× the tuned training time"
        if abs(diff) <= SAME_ACCURACY_POINTS:
            sentences.append(
                f"{row['framework']}'s idiomatic path reaches the tuned test accuracy, "
                f"{diff:+.2f} points{interval}, {cost}."
            )
        elif low is not None and low <= 0 <= high:
            sentences.append(
                f"{row['framework']}'s idiomatic path differs from the tuned test accuracy by "
                f"{diff:+.2f} points{interval}, {cost}; the interval includes no difference: "
                "its own shuffling gives it other mini-batches than the tuned run's, and that "
                "seed-to-seed spread covers the gap."
            )
        else:
            sentences.append(
                f"{row['framework']}'s idiomatic path misses the tuned test accuracy by "
                f"{diff:+.2f} points{interval}, {cost}, beyond the seeds' spread: it is not the "
                f"tuned recipe step for step ({row['api']})."
            )
    return sentences


def group_section(group: Group) -> dict:
    """The conclusions of one dataset x architecture: a title and its sentences."""
    sentences = [speed_sentence("trains", training_entries(group))]
    for batch, entries in inference_entries(group).items():
        sentence = speed_sentence("infers", entries)
        sentences.append(f"At inference batch {batch}, {sentence}" if sentence else None)
    sentences += accuracy_sentences(group)
    sentences.append(idiomatic_sentence(group))
    sentences += idiomatic_accuracy_sentences(group)
    return {
        "title": f"{group.dataset} · {group.arch}",
        "sentences": [s for s in sentences if s],
    }
