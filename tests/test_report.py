"""The HTML report: one self-contained, escaped page whose numbers are the result files'."""

import base64
import csv
import re
import shutil
import zipfile
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT, snakemake
from dry_runs import DryRun, dry_run_all
from fake_results import ASSETS, config, every_file, render, write_results
from test_report_browser import assert_renders_cleanly, chromium, inspect  # noqa: F401

from mlpcompare import frameworks
from mlpcompare.io import read_csv
from mlpcompare.presenting import figures, report

TEMPLATE = ASSETS / "templates" / "report.html.j2"
STYLE = ASSETS / "style.css"
N_FW = len(frameworks.NAMES)  # fake_results and the tiny run compare every framework

SECTIONS = (
    "run", "summary", "references", "data", "results", "throughput", "significance", "roofline",
    "code", "environment", "conclusions", "devexp", "rules",
)  # fmt: skip


class Page(HTMLParser):
    """The parts of a page the tests look at: element ids, images, summary cells, all text."""

    def __init__(self, html: str):
        super().__init__()
        self.ids: set[str] = set()
        self.images: list[dict] = []
        self.cells: list[dict] = []  # summary cells: attributes and text
        self.text: list[str] = []
        self._cell: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs)
        if tag == "td" and "data-raw" in attrs:
            self._cell = {**attrs, "text": ""}

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._cell["text"] = self._cell["text"].strip()
            self.cells.append(self._cell)
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell["text"] += data


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A results tree where keras seed 1 diverged, and the page rendered from it."""
    results = tmp_path_factory.mktemp("report") / "results"
    cfg = config(mirror="<script>alert('mirror')</script>")
    keys = write_results(results, cfg, diverged={("keras", 1)})
    html = render(results, cfg, keys)
    return {"results": results, "config": cfg, "keys": keys, "html": html, "page": Page(html)}


def check_summary(page: Page, summary_csv: Path) -> int:
    """Every summary.csv value appears in the page's summary table: raw text in data-raw, shown
    formatted by report.fmt (status as a badge with the text). Returns the cells checked."""
    rows = read_csv(summary_csv)
    shown = {(c["data-dataset"], c["data-arch"], c["data-framework"], c["data-column"]): c
             for c in page.cells}  # fmt: skip
    checked = 0
    for row in rows:
        for column, raw in row.items():
            if column in ("dataset", "arch", "framework"):
                continue
            cell = shown[(row["dataset"], row["arch"], row["framework"], column)]
            assert cell["data-raw"] == raw, (row["framework"], column)
            assert cell["text"] == (raw if column == "status" else report.fmt(raw))
            checked += 1
    assert checked == len(shown)
    return checked


def test_number_format():
    assert report.fmt("0.946296") == "0.9463"
    assert report.fmt("0.00578241") == "0.005782"
    assert report.fmt("30.0") == "30"
    assert report.fmt("7302.67") == "7,303"
    assert report.fmt(581210.0) == "581,210"
    assert report.fmt("") == "—" and report.fmt(None) == "—"
    assert report.fmt("diverged (1 of 3 seeds)") == "diverged (1 of 3 seeds)"
    assert report.fmt("nan") == "nan"


def test_percent_format():
    assert report.percent("0.1234") == "12.3 %"
    assert report.percent(1) == "100.0 %"
    assert report.percent("") == "—" and report.percent(None) == "—"


def throughput_section(html: str) -> str:
    return re.search(r'<section id="throughput">.*?</section>', html, re.S)[0]


def test_throughput_table_labels_each_variant_and_idiomatic_api(fake):
    rows = read_csv(fake["results"] / "throughput.csv")
    assert [r["variant"] for r in rows] == ["tuned", "idiomatic"] * N_FW
    section = throughput_section(fake["html"])
    for row in rows:
        fw, variant = row["framework"], row["variant"]
        tr = re.search(rf'data-framework="{fw}" data-variant="{variant}">(.*?)</tr>', section, re.S)
        cells = tr[1]
        assert f'<span class="badge {variant}">{variant}</span>' in cells
        assert f'<td class="t api">{escape(row["api"])}</td>' in cells
        assert f">{report.fmt(row['samples_per_s_median'])}<" in cells
        assert f">{report.percent(row['roofline_fraction'])}<" in cells
        assert f">{report.fmt(row['slowdown_vs_tuned'])}<" in cells
        # an interquartile range over one seed is no spread: shown as a dash
        spread = f"{report.fmt(row['samples_per_s_q1'])} – {report.fmt(row['samples_per_s_q3'])}"
        assert (spread in cells) == (int(row["n_seeds"]) > 1), (fw, variant)
    idiomatic = [r for r in rows if r["variant"] == "idiomatic"]
    assert {r["api"] for r in idiomatic} == {f"{fw} convenient path" for fw in frameworks.NAMES}
    # fake_results: the idiomatic rate is a third of the tuned one; keras' tuned median has only
    # seed 0 (5000/s; seed 1 diverged), its idiomatic one both seeds' (5050/3 samples/s)
    slowdowns = {r["framework"]: r["slowdown_vs_tuned"] for r in idiomatic}
    assert slowdowns == {fw: "2.9703" if fw == "keras" else "3.0" for fw in frameworks.NAMES}
    assert "no-idiomatic" not in fake["page"].ids


def test_the_idiomatic_accuracy_table_shows_an_interval_only_where_there_is_one(tmp_path):
    cfg = config()
    keys = write_results(tmp_path / "results", cfg)

    def table() -> str:
        html = render(tmp_path / "results", cfg, keys)
        return re.search(r'<table class="data idiomatic".*?</table>', html, re.S)[0]

    assert table().count(" [") == 3 * N_FW  # two seeds: tuned, idiomatic and difference
    path = tmp_path / "results" / "idiomatic.csv"
    rows = read_csv(path)
    for row in rows:  # one idiomatic seed (bench.idiomatic_seeds: 1): no intervals
        row |= {key: "" for key in row if key.endswith(("_ci_low", "_ci_high"))}
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert " [" not in table() and "[—" not in table()


def test_report_renders_without_the_idiomatic_variant(tmp_path):
    cfg = config()
    cfg["bench"]["idiomatic"] = False
    keys = write_results(tmp_path / "results", cfg, idiomatic=False)
    html = render(tmp_path / "results", cfg, keys)
    page = Page(html)
    assert "throughput" in page.ids and "no-idiomatic" in page.ids
    section = throughput_section(html)
    assert (
        section.count('data-variant="tuned"') == N_FW and 'data-variant="idiomatic"' not in section
    )
    assert len(page.images) == 3 + len(figures.FIGURES)


def test_autoescape_is_on_for_the_html_template():
    env = report.environment_for(TEMPLATE.parent, {})
    assert env.autoescape(TEMPLATE.name) is True
    rendered = env.from_string("{{ x }}").render(x="<b>")
    assert rendered == "&lt;b&gt;"


def test_one_self_contained_file(fake):
    html, page = fake["html"], fake["page"]
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", html)
    assert not re.search(r"<(script|link|iframe|object|embed)\b", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert f'content="{report.CONTENT_SECURITY_POLICY}"' in html.replace("&#39;", "'")
    assert len(page.images) == 3 + len(figures.FIGURES)  # EDA figures + the comparison figures
    for img in page.images:
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix) and img["alt"]
        assert base64.b64decode(img["src"][len(prefix) :])[:4] == b"\x89PNG"


def test_every_section_is_there(fake):
    assert set(SECTIONS) <= fake["page"].ids
    text = " ".join(fake["page"].text)
    for needle in (
        "Reference, different setups",
        "0.8762", "0.9773", "0.9766", "4.24", "7.96", "6.12",  # the notebook's figures
        "3-layer NN, 500+150 hidden units", "2.95", "784-2500-2000-1500-1000-500-10", "0.35",
        "McNemar", "fake GEMM timings", "test CPU", "openblas", "not installed",
        "by hand", "provided", "Conclusions", "When to use which",
    ):  # fmt: skip
        assert needle in text, needle


def test_summary_numbers_are_those_of_summary_csv(fake):
    assert check_summary(fake["page"], fake["results"] / "summary.csv") == N_FW * 19


def test_development_table_comes_from_devexp_csv(fake):
    rows = read_csv(fake["results"] / "devexp.csv")
    table = re.search(r'<table class="data" id="devexp">.*?</table>', fake["html"], re.S)[0]
    first = (rows[0]["dataset"], rows[0]["arch"])
    for row in (r for r in rows if (r["dataset"], r["arch"]) == first):
        tr = re.search(
            rf'data-framework="{row["framework"]}" data-variant="{row["variant"]}">(.*?)</tr>',
            table, re.S,
        )[1]  # fmt: skip
        assert f">{report.fmt(row['code_lines'])}</td>" in tr
        assert f">{row['backward_pass']}" in tr and f">{row['checkpointing']}" in tr


def test_per_class_table_shows_every_class_and_framework(fake):
    rows = read_csv(fake["results"] / "digits" / "mlp-8" / "per_class.csv")
    table = re.search(r'<table class="data per-class">.*?</table>', fake["html"], re.S)[0]
    assert table.count('<tr><th class="t">') == len({r["class"] for r in rows})
    for row in rows:
        assert f'title="{row["f1_mean"]}"' in table


def test_sanity_checks_show_pass_and_fail(fake):
    table = re.search(r'id="sanity-digits">.*?</table>', fake["html"], re.S)[0]
    assert table.count("badge ok") == 1 and "FAIL" in table


def test_diverged_run_is_flagged_not_broken(fake):
    page = fake["page"]
    assert "diverged-flag" in page.ids
    text = " ".join(" ".join(page.text).split())
    assert "1 run diverged" in text
    assert "keras · seed 1: diverged at epoch 4" in text
    status = [c for c in page.cells if c["data-column"] == "status"]
    assert {c["data-framework"]: c["text"] for c in status}["keras"] == "diverged (1 of 2 seeds)"


def test_like_for_like_run_has_no_flags(tmp_path):
    cfg = config()
    keys = write_results(tmp_path / "results", cfg)
    page = Page(render(tmp_path / "results", cfg, keys))
    assert "overrides-flag" not in page.ids and "diverged-flag" not in page.ids


def test_framework_overrides_are_flagged(fake):
    cfg = config(framework_overrides={"numpy": {"optimizer": "sgd", "lr": 0.001}})
    page = Page(render(fake["results"], cfg, fake["keys"]))
    assert "overrides-flag" in page.ids
    text = " ".join(" ".join(page.text).split())
    assert "Not a like-for-like comparison." in text
    assert "optimizer = sgd" in text


def test_config_strings_are_escaped(fake):
    html = fake["html"]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;mirror&#39;)&lt;/script&gt;" in html


def test_captions_come_from_the_caption_files(fake):
    text = " ".join(" ".join(fake["page"].text).split())
    for name in figures.FIGURES:
        caption = report.Assets(ASSETS).caption(name, dataset="digits", arch="mlp-8")
        assert "{{" not in caption and "``" not in caption
        assert caption in text, name
    assert "Learning curves on digits with mlp-8" in text


def test_column_labels_and_references_come_from_the_data_files(fake):
    assets = report.Assets(ASSETS)
    assert assets.labels["n_seeds"] == "seeds"
    assert {ref["framework"] for ref in assets.references["notebook"]} <= set(frameworks.NAMES)
    text = " ".join(fake["page"].text)
    assert "macro F1, mean" in text


def test_every_framework_has_its_registry_colour_in_the_page(fake):
    for name, fw in frameworks.REGISTRY.items():
        assert f".fw-{name} {{ border-color: {fw.colour}; }}" in fake["html"]


def test_write_report_writes_the_page(fake, tmp_path):
    output = tmp_path / "out" / "report.html"
    report.write_report(
        inputs={"summary": str(fake["results"] / "summary.csv"),
                "files": every_file(fake["results"])},
        assets=str(ASSETS), config=fake["config"],
        runs=fake["keys"], output=str(output),
    )  # fmt: skip
    assert output.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in output.parent.iterdir()] == ["report.html"]  # no temporary left


def test_stylesheet_cannot_close_the_style_element(fake, tmp_path):
    assets = tmp_path / "report"
    shutil.copytree(ASSETS, assets)
    (assets / "style.css").write_text("b {} </style><script>")
    with pytest.raises(ValueError, match="</style"):
        report.load_context(
            report.Results(fake["results"], every_file(fake["results"])), report.Assets(assets),
            config=fake["config"],
            runs=fake["keys"],
        )  # fmt: skip


def test_plots_rule_makes_the_figures_the_report_embeds():
    rules = (ROOT / "rules" / "report.smk").read_text()
    plots_rule, report_rule = rules.split("rule report:")
    assert "for name, figure in figures.FIGURES.items()" in plots_rule
    assert "for name in figures.FIGURES" in report_rule
    for name in figures.FIGURES:
        assert (ROOT / "report" / "captions" / f"{name}.rst").is_file()


# --- The rules, end to end on a tiny digits run ----------------------------------------------


@pytest.mark.slow
def test_workflow_report_matches_summary(tiny_run):
    html = (tiny_run / "results" / "report.html").read_text()
    assert not re.search(r"https?://", html)
    assert check_summary(Page(html), tiny_run / "results" / "summary.csv") == N_FW * 19


@pytest.mark.slow
def test_workflow_report_in_chromium(tiny_run, chromium):  # noqa: F811 - the fixture
    results = tiny_run / "results"
    check = inspect(chromium, results / "report.html", results / "report.png")
    assert_renders_cleanly(check, n_images=3 + len(figures.FIGURES))


FIGURES_ONLY = {"plots": 1, "report": 1, "all": 1}
# The edits the two tests below make to the tiny run, each alone, and the plan each must give.
REPORT_EDITS = {
    TEMPLATE.relative_to(ROOT): ("{# edited #}\n", {"report": 1, "all": 1}),
    STYLE.relative_to(ROOT): ("/* edited */\n", {"report": 1, "all": 1}),
}
PLOT_CODE_EDITS = {
    Path("scripts/plots.py"): ("# edited\n", FIGURES_ONLY),
    # the eda job runs the figure registry too, which names every drawing module
    Path("src/mlpcompare/presenting/plots.py"): ("# edited\n", {"eda": 1, **FIGURES_ONLY}),
    Path("src/mlpcompare/presenting/perf_plots.py"): ("# edited\n", {"eda": 1, **FIGURES_ONLY}),
}


@pytest.fixture(scope="module")
def edit_plans(tiny_run, tmp_path_factory) -> dict[Path | None, DryRun]:
    """The tiny run's dry run after each edit above (None: after them all, undone), in one
    process (tests/dry_runs.py), every edit undone after its run."""
    tiny = ("--configfile", "tiny.yaml")
    runs = {
        relative: DryRun(tiny, ((tiny_run / relative, line),))
        for relative, (line, _) in {**REPORT_EDITS, **PLOT_CODE_EDITS}.items()
    }
    runs[None] = DryRun(tiny)
    dry_run_all(tiny_run, list(runs.values()), tmp_path_factory.mktemp("report-edits"))
    return runs


@pytest.mark.slow
def test_editing_the_template_or_the_stylesheet_rerenders_only_the_report(edit_plans):
    for relative, (_, planned) in REPORT_EDITS.items():
        assert edit_plans[relative].jobs() == planned, relative
    assert edit_plans[None].jobs() == {}


@pytest.mark.slow
def test_editing_plot_code_reruns_the_figures_and_the_report_only(edit_plans):
    for relative, (_, planned) in PLOT_CODE_EDITS.items():
        assert edit_plans[relative].jobs() == planned, relative
    assert edit_plans[None].jobs() == {}


@pytest.mark.slow
def test_snakemake_report_zip(tiny_run):
    made = snakemake(tiny_run, "--configfile", "tiny.yaml", "--report", "report.zip")
    assert made.returncode == 0, made.stderr[-2000:]
    with zipfile.ZipFile(tiny_run / "report.zip") as archive:
        files = {Path(name).name for name in archive.namelist()}
    assert {f"{name}.png" for name in figures.FIGURES} <= files
    assert "report.html" in files


def test_credentials_in_a_mirror_url_never_reach_the_page(fake):
    cfg = config(mirror="https://reader:s3cret-pass@data.example/m?token=t0ken-value")
    html = render(fake["results"], cfg, fake["keys"])
    assert "s3cret-pass" not in html and "t0ken-value" not in html
    assert "data.example" in html  # the mirror itself is still named


def test_the_report_reads_only_what_its_rule_declares(fake):
    results = report.Results(fake["results"], [str(fake["results"] / "summary.csv")])
    assert results.rows(results.layout.top("summary.csv"))
    with pytest.raises(ValueError, match="not an input of the rule"):
        results.rows(results.layout.top("throughput.csv"))
