"""The sentences of the report's closing section about one dataset x architecture, each made
from that architecture's tables (rows as read, raw text) and stating its figures with their
uncertainty: which framework trains and infers fastest, whether the accuracies differ, how the
idiomatic path compares. One run is called one run and has no spread, so nothing is claimed
from it; a test that finds nothing could not tell the figures apart, which does not make them
equal. :mod:`mlpcompare.aggregating.conclusions` adds the code's sentences and the rules, and
says when figures "differ" or are "the same".
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
    """A framework's median and interquartile range of a rate (higher is better) over ``n``
    seeds."""

    framework: str
    median: float
    q1: float
    q3: float
    n: int
    detail: str = ""


def fastest(entries: list[Ranked]) -> tuple[Ranked, Ranked | None, bool]:
    """The fastest entry, the runner-up and whether their interquartile ranges are apart. One
    run has no spread (its quartiles are its value), so it is never apart from anything."""
    ranked = sorted(entries, key=lambda e: e.median, reverse=True)
    best, second = ranked[0], (ranked[1] if len(ranked) > 1 else None)
    if second is None or min(best.n, second.n) < 2:
        return best, second, False
    return best, second, best.q1 > second.q3


def spread(entry: Ranked) -> str:
    if entry.n < 2:
        return "one run"
    return f"IQR over {entry.n} seeds {rate(entry.q1)}–{rate(entry.q3)}"


def speed_sentence(what: str, entries: list[Ranked]) -> str | None:
    """ "<framework> <what> fastest: ..." with the runner-up and whether the seeds separate them."""
    if not entries:
        return None
    best, second, apart = fastest(entries)
    lead = f"{best.framework} {what} fastest: {rate(best.median)} samples/s{best.detail} ({spread(best)})"
    if second is None:
        return lead + "."
    ratio = best.median / second.median
    if min(best.n, second.n) < 2:
        verdict = "one run has no spread over seeds, so this does not show which is faster"
    elif apart:
        verdict = (
            "the interquartile ranges do not overlap, so the difference exceeds the seeds' spread"
        )
    else:
        verdict = "the interquartile ranges overlap, so the seeds do not separate the two"
    return (
        f"{lead}, {ratio:.2f}× the next, {second.framework} ({rate(second.median)}{second.detail}; "
        f"{spread(second)}); {verdict}."
    )


def training_entries(group: Group) -> list[Ranked]:
    return [
        Ranked(row["framework"], *(float(row[f"train_samples_per_s_{k}"]) for k in ("median", "q1", "q3")),
               int(float(row["n_ok"])))
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
                int(float(r["n_ok"])),
                f" with {r['api']}",
            )
            for fw, r in rows.items()
        ]  # fmt: skip
        for batch, rows in sorted(best.items())
    }


def accuracy_sentences(group: Group) -> list[str]:
    """The accuracy range with intervals, then what McNemar's tests (Holm) say. A test that
    finds nothing is absence of evidence, said as such: it does not show the accuracies equal."""
    rows = [r for r in group.quality if r["accuracy_mean"] != ""]
    if not rows:
        return ["Every run diverged: there is no accuracy to compare."]
    rows.sort(key=lambda r: float(r["accuracy_mean"]))
    low, high = rows[0], rows[-1]

    def interval(row):
        if row["accuracy_ci_low"] == "":
            return "one run, no interval"
        return f"95 % CI {pct(float(row['accuracy_ci_low']))}–{pct(float(row['accuracy_ci_high']))}"

    text = [
        f"Mean test accuracy ranges from {pct(float(low['accuracy_mean']))} "
        f"({low['framework']}, {interval(low)}) to {pct(float(high['accuracy_mean']))} "
        f"({high['framework']}, {interval(high)})."
    ]
    tests = [r for r in group.significance if r["p_holm"] != ""]
    if not tests:
        return [*text, "No McNemar test could be made: no two frameworks have a finished run of "
                       "the same seed, so nothing is said about their accuracies' difference."]  # fmt: skip
    significant = [r for r in tests if float(r["p_holm"]) < ALPHA]
    if not significant:
        smallest = min(tests, key=lambda r: float(r["p_holm"]))
        return [
            *text,
            f"None of the {len(tests)} McNemar tests (framework pairs × seeds, "
            f"{int(float(tests[0]['n_test'])):,} test samples each) is significant at {ALPHA:g} "
            f"after Holm's correction (smallest adjusted p = {float(smallest['p_holm']):.3g}, "
            f"{smallest['framework_a']} vs {smallest['framework_b']}, seed {smallest['seed']}): "
            "the tests could not tell these frameworks apart at this sample size, which does "
            "not show that their accuracies are the same.",
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
    """How each framework's idiomatic path trains against its tuned trainer (samples/s)."""
    rows = [
        r for r in group.throughput
        if r["variant"] == "idiomatic" and r["slowdown_vs_tuned"] != ""
    ]  # fmt: skip
    if not rows:
        return None
    rows.sort(key=lambda r: float(r["slowdown_vs_tuned"]), reverse=True)

    def against(slowdown: float) -> str:  # slowdown: the tuned median over the idiomatic one
        return f"{slowdown:.2f}× slower" if slowdown >= 1 else f"{1 / slowdown:.2f}× faster"

    parts = [
        f"{r['framework']} {against(float(r['slowdown_vs_tuned']))} "
        f"({rate(float(r['samples_per_s_median']))} samples/s)"
        for r in rows
    ]
    # bench.idiomatic_seeds: 1 (the default) gives one idiomatic run against the tuned median.
    one_run = all(int(float(r["n_seeds"])) == 1 for r in rows)
    over = (
        "the tuned median over seeds against one idiomatic run" if one_run else "medians over seeds"
    )
    return f"Against the tuned trainer, the idiomatic path trains ({over}): {names(parts)}."


# The idiomatic path "reaches the tuned accuracy" only where the 95 % interval of the seed-paired
# difference lies inside +- this many points (an equivalence margin, as issue 27's "within 0.2
# points" of the best recipe).
SAME_ACCURACY_POINTS = 0.2


def idiomatic_accuracy_sentence(row: dict) -> str | None:
    """Does one framework's convenient path reach the tuned run's test accuracy, and at what
    training time? ``row``: idiomatic.csv's, the seed-paired difference with its 95 % interval
    (blank with one pair: one run is called one run, and no difference is claimed from it)."""
    diff, low, high = (
        cell_number(row[f"accuracy_diff_points{k}"]) for k in ("", "_ci_low", "_ci_high")
    )
    ratio = cell_number(row["train_time_ratio"])
    if diff is None or ratio is None:
        return None
    fw, cost = row["framework"], f"at {ratio:.2f}× the tuned training time"
    margin = f"±{SAME_ACCURACY_POINTS:g} points"
    if low is None:
        runs = int(float(row["n_seeds"]))
        which = "one run" if runs == 1 else f"one finished pair of its {runs} seeds"
        side = f"{abs(diff):.2f} points {'above' if diff > 0 else 'below'}" if diff else "exactly"
        return (
            f"{fw}'s idiomatic path, {which}, scored {side} the tuned run's accuracy "
            f"of the same seed, {cost}; one run gives no interval, so this does not show "
            "whether the two paths differ in accuracy."
        )
    interval = f"{diff:+.2f} points (95 % CI {low:+.2f} to {high:+.2f})"
    if max(abs(low), abs(high)) <= SAME_ACCURACY_POINTS:
        return (
            f"{fw}'s idiomatic path reaches the tuned test accuracy within "
            f"{SAME_ACCURACY_POINTS:g} points: {interval}, the interval inside {margin}, {cost}."
        )
    if low <= 0 <= high:
        return (
            f"{fw}'s idiomatic path differs from the tuned test accuracy by {interval}, {cost}: "
            f"the interval includes zero but extends beyond {margin}, so the seeds "
            "show neither a difference nor that the two are the same."
        )
    verb = "misses" if high < 0 else "exceeds"
    return (
        f"{fw}'s idiomatic path {verb} the tuned test accuracy by {interval}, {cost}: the "
        "interval over its seed pairs excludes zero (what causes it is not tested here)."
    )


def group_section(group: Group) -> dict:
    """The conclusions of one dataset x architecture: a title and its sentences."""
    sentences = [speed_sentence("trains", training_entries(group))]
    for batch, entries in inference_entries(group).items():
        sentence = speed_sentence("infers", entries)
        sentences.append(f"At inference batch {batch}, {sentence}" if sentence else None)
    sentences += accuracy_sentences(group)
    sentences.append(idiomatic_sentence(group))
    sentences += [idiomatic_accuracy_sentence(row) for row in group.idiomatic]
    return {
        "title": f"{group.dataset} · {group.arch}",
        "sentences": [s for s in sentences if s],
    }
