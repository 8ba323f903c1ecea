"""docs/benchmarks.md and bench/README.md show the same fault-benchmark figures, docs/benchmarks.md and
bench/generated/README.md the same test-split figures and split counts, and both say what those figures are;
README.md's one out-of-sample figure is the newest test split's, as measured.

Each figure docs/benchmarks.md or README.md quotes is checked where it is claimed: the sentence that quotes it is
matched, and the number is looked up in the one table row (and column) of the results it claims to come from, so
a figure cannot pass because the same number stands elsewhere in the section. Every percentage in a checked bullet
must belong to one of the checked sentences: a figure added to the bullet needs a claim here."""

from __future__ import annotations

import ast
import functools
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "docs" / "benchmarks.md"  # where the README's benchmark section moved (issue 28)
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}


def _flat(text: str) -> str:
    return " ".join(text.split())


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end, text.index(start))]


def _table(text: str) -> tuple[list, dict]:
    """The first markdown table in `text`: its header cells and its rows by their first cell."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return block[0], {row[0]: row for row in block[2:]}


def _cell(table: tuple, row: str, column: str) -> str:
    """The cell of the one row whose label starts with `row`, in the one column whose header starts with `column`."""
    header, rows = table
    labels = [label for label in rows if label.startswith(row)]
    columns = [k for k, name in enumerate(header) if name.startswith(column)]
    assert len(labels) == 1, f"{len(labels)} rows start with {row!r}: {labels}"
    assert len(columns) == 1, f"{len(columns)} columns start with {column!r}: {header}"
    return rows[labels[0]][columns[0]]


def _header(table: tuple, column: str) -> str:
    """The one header cell of `table` that starts with `column`."""
    names = [name for name in table[0] if name.startswith(column)]
    assert len(names) == 1, f"{len(names)} columns start with {column!r}: {table[0]}"
    return names[0]


def _claims(bullet: str, claims: list) -> None:
    """Match each claim's sentence once in the bullet and run its checks; every percentage of the bullet must lie
    inside a matched sentence."""
    spans = []
    for pattern, check in claims:
        found = list(re.finditer(pattern, bullet))
        assert len(found) == 1, f"the bullet states {len(found)} times (not once): {pattern}"
        check(found[0])
        spans.append(found[0].span())
    unchecked = [m.group() for m in re.finditer(r"\d+(?:\.\d+)?%", bullet)
                 if not any(a <= m.start() and m.end() <= b for a, b in spans)]
    assert not unchecked, f"the bullet quotes figures no claim checks: {unchecked}"


def _holds(cell: str, pattern: str, what: str) -> None:
    assert re.search(pattern, cell), f"{what}: the quoted figure {pattern!r} is not what the table says: {cell!r}"


# ---------------------------------------------------------------------------------------------- fault benchmark

def _fault_bullet() -> str:
    return _flat(_section(BENCHMARKS.read_text(), "- **Fault benchmark**", "- **Generated fault benchmark**"))


def check_fault_benchmark(bullet: str, bench_readme: str) -> None:
    latest_text = bench_readme.split("### Results", 1)[1].split("\n### ", 1)[0]
    latest = _table(latest_text)
    e = re.escape

    def after(row):
        return _cell(latest, row, "after")

    def earlier(date):
        part = bench_readme.split(f"### Earlier results ({date}", 1)
        assert len(part) == 2, f"bench/README.md has no earlier results of {date}"
        return _table(part[1].split("\n### ", 1)[0])

    claims = [
        (r"code of commit (\w+)", lambda m: _holds(_header(latest, "after"), rf"^after \(commit {e(m[1])}\)",
                                                  "latest results' commit")),
        (r"cause recall \*\*([\d.]+%)\*\* \((\d+/\d+) injected real causes",
         lambda m: _holds(after("cause recall"), rf"^\*\*{e(m[1])}\*\* \({e(m[2])}\)", "recall")),
        (r"precision \*\*([\d.]+%)\*\* \((\d+/\d+);",
         lambda m: _holds(after("cause precision"), rf"^\*\*{e(m[1])}\*\* \({e(m[2])}\)", "precision")),
        (r"no error-level finding on the (\d+) healthy controls",
         lambda m: _holds(after(f"error-level findings on the {m[1]} healthy controls"), r"^0$", "controls")),
        (r"verdict accuracy ([\d.]+%), median",
         lambda m: _holds(after("verdict accuracy"), rf"^{e(m[1])} ", "verdict accuracy")),
        (r"median \*\*([\d.]+) s\*\* per diagnosis \(max ([\d.]+) s\)",
         lambda m: _holds(after("seconds per diagnosis, wall"), rf"^\*\*median {e(m[1])}\*\*, max {e(m[2])}$",
                          "seconds per diagnosis")),
        (r"quick mode \(250 steps\) median ([\d.]+) s with verdict accuracy ([\d.]+%) \(([\d.]+%) at 500 steps\)",
         lambda m: (_holds(after("`--quick`"), rf"^\**{e(m[1])}\** / [\d.]+ s; {e(m[2])}$", "quick mode"),
                    _holds(after("verdict accuracy"), rf"^{e(m[3])} ", "verdict accuracy at 500 steps"))),
        (r"the run before, (\w+), had ([\d.]+%) recall",
         lambda m: (_holds(_header(latest, "before"), rf"^before \(commit {e(m[1])}", "the run before's commit"),
                    _holds(_cell(latest, "cause recall", "before"), rf"^{e(m[2])} ", "the run before's recall"))),
        (r"Repair was not rerun: \*\*([\d.]+%)\*\* \((\d+/\d+) cases with a real fault; target (\d+%)\) in the "
         r"([\d-]+) run",
         lambda m: (_holds(after("repair rate"), rf"^\*\*{e(m[1])}\*\* \({e(m[2])}\), not rerun since {e(m[4])}$",
                           "repair rate"),
                    _holds(_cell(earlier(m[4]), "repair rate", "measured"), rf"^\*\*{e(m[1])}\*\* \({e(m[2])}\)$",
                           f"repair rate of {m[4]}"),
                    _holds(_cell(earlier(m[4]), "repair rate", "target"), rf"^>= {e(m[3])}$", "repair target"))),
    ]
    _claims(bullet, claims)


def test_benchmarks_page_shows_bench_readmes_current_figures():
    check_fault_benchmark(_fault_bullet(), (ROOT / "bench" / "README.md").read_text())


# ---------------------------------------------------------------------------------------------- generated benchmark

def _generated_bullet() -> str:
    return _flat(_section(BENCHMARKS.read_text(), "- **Generated fault benchmark**", "- **Streaming**"))


def _split_results(results: str, split: str) -> str:
    """The subsection of "Test-split results" whose heading names `split` (in backticks)."""
    parts = [p for p in results.split("\n### ")[1:] if f"`{split}`" in p.splitlines()[0]]
    assert len(parts) == 1, f"bench/generated/README.md has {len(parts)} test-split subsections for `{split}`"
    return parts[0]


@functools.lru_cache(maxsize=None)
def _generated_splits() -> tuple[dict, dict]:
    """generate.SPLITS (the seeds, read from the file as committed) and each split's design as (cases, healthy,
    one fault, two faults): a stratified split's count follows from its design, so the generator computes it."""
    tree = ast.parse((ROOT / "bench" / "generated" / "generate.py").read_text())
    splits = next(ast.literal_eval(node.value) for node in tree.body
                  if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                  and node.targets[0].id == "SPLITS")
    code = ("import json, sys; sys.path.insert(0, %r); import generate as G; print(json.dumps({s: [G.design(s).cases, "
            "G.design(s).healthy, G.design(s).single, G.design(s).double] for s in G.SPLITS}))"
            % str(ROOT / "bench" / "generated"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    designs = json.loads(out.stdout)
    assert set(designs) == set(splits)
    return splits, designs


def check_generated_benchmark(bullet: str, generated_readme: str, splits: dict, designs: dict) -> None:
    results = generated_readme.split("## Test-split results", 1)[1].split("\n## ", 1)[0]
    e = re.escape
    out = {}

    def table(split):
        return _table(_split_results(results, split))

    def value(split, row):
        return _cell(table(split), row, "value")

    def out_of_sample(m):
        out["split"] = m[1]
        part = _split_results(results, m[1])
        text = _flat(part)
        assert f"run {m[2]})" in part.splitlines()[0], f"{m[1]}'s subsection heading does not date its run {m[2]}"
        assert f"commit {m[3]}'s" in text, f"{m[1]}'s subsection does not name commit {m[3]}"
        assert f"for all {m[4]} cases" in text, f"{m[1]}'s subsection does not say all {m[4]} cases"

    def earlier(m):
        text = _flat(_split_results(results, m[3]))
        _holds(value(m[3], "cause recall"), rf"^{e(m[1])} ", f"{m[3]} recall")
        _holds(value(m[3], "cause precision"), rf"^{e(m[2])} ", f"{m[3]} precision")
        assert f"commit {m[4]}'s" in text, f"{m[3]}'s subsection does not name commit {m[4]}"

    def counts(m):
        tests = [s for s in splits if s.startswith("test")]
        assert "dev" in splits and int(m[1]) == designs["dev"][0], "the development split's size"
        assert NUMBER_WORDS.get(m[2]) == len(tests), f"the page says {m[2]} test splits; generate.SPLITS has {tests}"
        sized = [s for s in tests if designs[s][0] == int(m[4])]
        assert NUMBER_WORDS.get(m[3]) == len(sized), f"the page says {m[3]} test splits of {m[4]}; they are {sized}"

    def stratified(m):
        assert m[1] in splits and designs[m[1]][0] == int(m[2]), f"the page says `{m[1]}` has {m[2]} cases"

    def unscored(m):
        assert m[1] in splits, f"the page names a split generate.SPLITS lacks: {m[1]}"
        assert not any(f"`{m[1]}`" in p.splitlines()[0] for p in results.split("\n### ")[1:]), (
            f"the page calls {m[1]} unscored, but bench/generated/README.md has its test-split results")

    def s():
        return out["split"]  # the out-of-sample split, known once its claim (the second) is matched

    claims = [
        (r"(\d+) development cases and (\w+) test splits, (\w+) of (\d+) ", counts),
        (r"and `(\w+)` of (\d+), stratified by cause", stratified),
        (r"\(`(\w+)`'s run is incomplete, unscored\)", unscored),
        (r"\(the \w+ test split `(\w+)`, never tuned on; ([\d-]+), code of commit (\w+), all (\d+) cases",
         out_of_sample),
        (r"cause recall ([\d.]+%) \[([\d.]+-[\d.]+%)\] \((\d+/\d+) real injected causes\)",
         lambda m: _holds(value(s(), "cause recall"), rf"^{e(m[1])} \[{e(m[2])}\] \({e(m[3])}\)$", "recall")),
        (r"precision ([\d.]+%) \[([\d.]+-[\d.]+%)\],",
         lambda m: _holds(value(s(), "cause precision"), rf"^{e(m[1])} \[{e(m[2])}\] ", "precision")),
        (r"no error finding on the (\d+) healthy controls that train and a warning or info finding confirmed on "
         r"(\d+) of them \(([\d.]+%)\)",
         lambda m: (_holds(value(s(), "healthy controls: error finding"), rf"^0/{m[1]} ", "controls' errors"),
                    _holds(value(s(), "healthy controls: warning/info"), rf"^{m[2]}/{m[1]} \({e(m[3])}\)",
                           "controls' warnings"))),
        (r"verdict accuracy ([\d.]+%),",
         lambda m: _holds(value(s(), "verdict accuracy"), rf"^{e(m[1])} ", "verdict accuracy")),
        (r"repair rate ([\d.]+%) \((\d+/\d+) cases with a real fault\)",
         lambda m: _holds(value(s(), "repair rate"), rf"^{e(m[1])} \[[^\]]*\] \({e(m[2])}\)", "repair rate")),
        (r"median ([\d.]+) s per diagnosis \(loaded machine; CPU median ([\d.]+) s\)",
         lambda m: _holds(value(s(), "seconds per diagnosis"), rf"^median {e(m[1])}, max [\d.]+ \(CPU median "
                          rf"{e(m[2])}\)$", "seconds per diagnosis")),
        (r"Targets \((\d+%)\) missed",
         lambda m: [_holds(_cell(table(s()), row, "target"), rf"^>= {e(m[1])}$", f"{row} target")
                    for row in ("cause recall", "cause precision", "repair rate")]),
        (r"gave ([\d.]+%) recall, ([\d.]+%) precision \(`(\w+)`, commit (\w+)\)", earlier),
        (r"and ([\d.]+%), ([\d.]+%) \(`(\w+)`, commit (\w+)\): within", earlier),
    ]
    _claims(bullet, claims)
    assert "never tuned on" in bullet and s().startswith("test"), "the out-of-sample figure is not a test split's"


def test_benchmarks_page_quotes_the_generated_test_split_as_measured():
    splits, designs = _generated_splits()
    check_generated_benchmark(_generated_bullet(), (ROOT / "bench" / "generated" / "README.md").read_text(),
                              splits, designs)


def _front_door_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return _flat(_section(readme, "## How well it works", "\n## "))


def check_front_door_figure(section: str, generated_readme: str) -> None:
    """README.md's one figure: the newest scored test split (the first subsection of "Test-split results"), its
    run's date and commit, and its recall and precision with their intervals, as that subsection's table says."""
    results = generated_readme.split("## Test-split results", 1)[1].split("\n## ", 1)[0]
    newest = re.search(r"`(\w+)`", results.split("\n### ", 2)[1].splitlines()[0])[1]
    e = re.escape
    out = {}

    def value(row):
        return _cell(_table(_split_results(results, out["split"])), row, "value")

    def split(m):
        out["split"] = m[1]
        assert m[1] == newest, f"README quotes `{m[1]}`; the newest scored test split is `{newest}`"
        part = _split_results(results, m[1])
        text = _flat(part)
        assert f"run {m[2]})" in part.splitlines()[0], f"{m[1]}'s subsection heading does not date its run {m[2]}"
        assert f"commit {m[3]}'s" in text, f"{m[1]}'s subsection does not name commit {m[3]}"
        assert f"for all {m[4]} cases" in text, f"{m[1]}'s subsection does not say all {m[4]} cases"

    claims = [
        (r"the \w+ test split `(\w+)`, ([\d-]+), code of commit (\w+), all (\d+) cases", split),
        (r"cause recall ([\d.]+%) \[([\d.]+-[\d.]+%)\] \((\d+/\d+) real injected causes\)",
         lambda m: _holds(value("cause recall"), rf"^{e(m[1])} \[{e(m[2])}\] \({e(m[3])}\)$", "recall")),
        (r"precision ([\d.]+%) \[([\d.]+-[\d.]+%)\]",
         lambda m: _holds(value("cause precision"), rf"^{e(m[1])} \[{e(m[2])}\] ", "precision")),
        (r"\(Wilson (\d+%) intervals\)",
         lambda m: _holds(_header(_table(_split_results(results, out["split"])), "value"), rf"\[Wilson {e(m[1])}\]",
                          "interval")),
    ]
    _claims(section, claims)
    assert "never tuned on" in section and out["split"].startswith("test"), "the figure is not a test split's"
    assert "[docs/benchmarks.md](docs/benchmarks.md)" in section, "README's figure does not link the benchmarks page"


def test_readme_quotes_the_newest_test_split_as_measured():
    check_front_door_figure(_front_door_section(), (ROOT / "bench" / "generated" / "README.md").read_text())


@pytest.mark.parametrize("old, new", [("precision 77.7%", "precision 78.4%"),  # the recall
                                      ("[69.5-85.3%]", "[68.7-84.6%]"),  # precision's interval
                                      ("(80/102 real", "(80/103 real"),
                                      ("code of commit 8bab3f9", "code of commit ef63df5"),  # test2's
                                      ("split `test3`, 2026-12-03", "split `test2`, 2026-12-02")])
def test_a_stale_front_door_figure_fails(old, new):
    section = _edited(_front_door_section(), old, new)
    with pytest.raises(AssertionError):
        check_front_door_figure(section, (ROOT / "bench" / "generated" / "README.md").read_text())


def check_generated_counts(text: str, splits: dict, designs: dict) -> None:
    """bench/generated/README.md's intro counts and its "Splits and seeds" table are the generator's: the seeds of
    generate.SPLITS and each split's design (cases, healthy, one fault, two faults)."""
    intro = _flat(text.split("\n| file |", 1)[0])
    m = re.search(r"([\d,]+) CAE cases in (\w+) splits \(([^)]*)\)", intro)
    assert m, "bench/generated/README.md's intro does not count its cases and splits"
    sizes = {int(n): NUMBER_WORDS.get(word) for word, n in re.findall(r"(\w+) of (\d+)", m[3])}
    assert (int(m[1].replace(",", "")), NUMBER_WORDS.get(m[2]), sizes) == (
        sum(d[0] for d in designs.values()), len(splits), dict(Counter(d[0] for d in designs.values()))), (
        f"the intro says {m[0]!r}; generate.py has {designs}")
    named = re.findall(r"`(\w+)`", intro[m.end():intro.index("Splits and seeds")])
    assert set(named) >= set(splits), f"the intro names {named}, not every split of {sorted(splits)}"
    header, rows = _table(text.split("## Splits and seeds", 1)[1])
    assert {split: tuple(int(cell.split()[0]) for cell in row[1:6]) for split, row in rows.items()} == {
        split: (seed, *designs[split]) for split, seed in splits.items()}, (
        "the Splits and seeds table is not generate.SPLITS and the splits' designs")


def test_generated_readme_counts_the_splits_the_generator_has():
    splits, designs = _generated_splits()
    check_generated_counts((ROOT / "bench" / "generated" / "README.md").read_text(), splits, designs)


@functools.lru_cache(maxsize=None)
def _generated_summary() -> dict:
    """`generate.py --summary` (no training) and the real rates the stratified design read."""
    folder = ROOT / "bench" / "generated"
    out = subprocess.run([sys.executable, str(folder / "generate.py"), "--summary"], capture_output=True, text=True,
                         check=True)
    return {"summary": json.loads(out.stdout),
            "rates": json.loads((folder / "ground_truth" / "real_rates.json").read_text())["rates"]}


def check_stratified_tables(text: str, summary: dict, rates: dict) -> None:
    """Each stratified split's table in "Splits and seeds" is the generator's: the measured rates, the slots its
    schedule drew per cause and severity, the expected real counts and the chance of each floor."""
    stratified = [split for split, doc in summary.items() if doc["design"] == "stratified"]
    assert stratified, "no stratified split in generate.py --summary"
    for split in stratified:
        marker = f"**`{split}`: stratified by cause"
        assert text.count(marker) == 1, f"bench/generated/README.md has no single paragraph {marker!r}"
        header, rows = _table(text.split(marker, 1)[1])
        doc, want = summary[split], {}
        for cause, e in doc["expected_real"]["per_cause"].items():
            drawn = doc["causes"].get(cause, {})
            slots = [str(drawn.get(s, 0)) for s in ("mild", "strong")]
            if e["chance_of_floor"] is None:
                want[f"{cause} (static)"] = ["-", "-", *slots, "-", "-"]
            else:
                real = [f"{rates[cause][s]['real']}/{rates[cause][s]['judged']}" for s in ("mild", "strong")]
                want[cause] = [*real, *slots, f"{e['expected']:.1f}",
                               f"{round(100 * e['chance_of_floor'])}% (>= {e['floor']})"]
        got = {label: row[2:] for label, row in rows.items()}
        assert got == want, f"{split}'s table is not what generate.py --summary says"


def test_generated_readme_shows_the_stratified_design_the_generator_has():
    s = _generated_summary()
    check_stratified_tables((ROOT / "bench" / "generated" / "README.md").read_text(), s["summary"], s["rates"])


@pytest.mark.parametrize("old, new", [
    ("| kernel_too_large | yes | 0/12 | 5/12 | 0 | 24 | 10.3 |",
     "| kernel_too_large | yes | 0/12 | 5/12 | 0 | 23 | 10.3 |"),
    ("| overfitting | yes | 3/12 | 7/12 | 11 | 12 | 10.0 |", "| overfitting | yes | 3/12 | 7/12 | 11 | 12 | 10.3 |"),
    ("| capacity_mismatch | yes | 3/12 | 6/12 |", "| capacity_mismatch | yes | 3/12 | 7/12 |"),
])
def test_a_stale_stratified_table_fails(old, new):
    s = _generated_summary()
    text = _edited((ROOT / "bench" / "generated" / "README.md").read_text(), old, new)
    with pytest.raises(AssertionError):
        check_stratified_tables(text, s["summary"], s["rates"])


# ---------------------------------------------------------------------------------------------- what the figures are

def test_both_say_the_fault_cases_are_the_development_set():
    bench = (ROOT / "bench" / "README.md").read_text()
    intro = _flat(_section(bench, "## Fault benchmark", "\n### "))
    assert "41 cases are the development set" in intro and "were tuned on them" in intro
    assert "not an estimate of how it does on new models" in intro
    bullet = _fault_bullet()
    assert "41 cases are the development set" in bullet and "were tuned on them" in bullet
    assert "not what to expect on new models" in bullet


# ---------------------------------------------------------------------------------------------- the checks can fail

# Each edit leaves the wrong figure standing elsewhere in the same section, so a search of the whole section passes.
FAULT_EDITS = [
    ("page", "precision **92.9%**", "precision **83.9%**"),  # the recall
    ("page", "had 83.9% recall", "had 92.9% recall"),  # the run before's precision
    ("bench", "| verdict accuracy | 100% (41/41) | 100% (41/41) |",
     "| verdict accuracy | 100% (41/41) | 95.1% (39/41) |"),  # the README's 100% now stands only in "before"
]
GENERATED_EDITS = [
    ("page", "precision 77.7%", "precision 78.4%"),  # test3's recall
    ("page", "80.0%, 73.8% (`test2`", "80.0%, 77.7% (`test2`"),  # test3's precision
    ("page", "150 development cases and five test splits", "150 development cases and four test splits"),
    ("page", "five test splits, four of 150", "five test splits, five of 150"),
    ("page", "`test5` of 270", "`test5` of 150"),
    ("page", "(`test4`'s run is incomplete, unscored)", "(`test3`'s run is incomplete, unscored)"),
    ("bench", "| verdict accuracy | 86.5% [79.9-91.2%]", "| verdict accuracy | 89.7% [79.9-91.2%]"),  # test2's
]


def _edited(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, f"the edit's text is gone: {old!r}"
    return text.replace(old, new, 1)


@pytest.mark.parametrize("where, old, new", FAULT_EDITS)
def test_a_fault_benchmark_figure_wrong_in_its_own_row_fails(where, old, new):
    bullet, bench = _fault_bullet(), (ROOT / "bench" / "README.md").read_text()
    bullet, bench = (_edited(bullet, old, new), bench) if where == "page" else (bullet, _edited(bench, old, new))
    with pytest.raises(AssertionError):
        check_fault_benchmark(bullet, bench)


@pytest.mark.parametrize("where, old, new", GENERATED_EDITS)
def test_a_generated_benchmark_figure_wrong_in_its_own_row_fails(where, old, new):
    bullet, text = _generated_bullet(), (ROOT / "bench" / "generated" / "README.md").read_text()
    bullet, text = (_edited(bullet, old, new), text) if where == "page" else (bullet, _edited(text, old, new))
    splits, designs = _generated_splits()
    with pytest.raises(AssertionError):
        check_generated_benchmark(bullet, text, splits, designs)


@pytest.mark.parametrize("old, new", [("1,020 CAE cases in six splits", "750 CAE cases in five splits"),
                                      ("five of 150 and one of 270", "six of 150"),
                                      ("| test4 | 15005 | 150 |", "| test4 | 15006 | 150 |"),
                                      ("| test5 | 15006 | 270 |", "| test5 | 15006 | 150 |"),
                                      ("| test5 | 15006 | 270 | 36 (13%) | 173 | 61 |",
                                       "| test5 | 15006 | 270 | 36 (13%) | 163 | 71 |")])
def test_a_stale_split_count_fails(old, new):
    splits, designs = _generated_splits()
    text = _edited((ROOT / "bench" / "generated" / "README.md").read_text(), old, new)
    with pytest.raises(AssertionError):
        check_generated_counts(text, splits, designs)
