"""Reports: JUnit XML (against the common schema), the Markdown summary, the HTML page and its SVG DAG."""
import html.parser
import os
import re
import xml.etree.ElementTree as ET

import pytest

from lester_inspect.checks import NoBiasIntroducedFor, NoIllegalFeatures, NoLabelShift
from lester_inspect.ci.config import PipelineConfig
from lester_inspect.ci.gate import run_pipeline
from lester_inspect.instrumentation.dag import CodeLocation, DagNode, FunctionInfo, OperatorType
from lester_inspect.report.html import html_report
from lester_inspect.report.junit import junit_xml
from lester_inspect.report.markdown import markdown_summary
from lester_inspect.report.model import PipelineReport, Status, Verdict
from lester_inspect.report.svg import BOX_HEIGHT, BOX_WIDTH, dag_svg

HEALTHCARE = os.path.join(os.path.dirname(__file__), os.pardir, "example_pipelines", "healthcare", "pipeline.py")
SELECTION = 'data[data["county"].isin(COUNTIES_OF_INTEREST)]'


@pytest.fixture(scope="module")
def healthcare():
    checks = (("no-bias-introduced-for", NoBiasIntroducedFor(["age_group", "race"])),
              ("no-illegal-features", NoIllegalFeatures()), ("no-label-shift", NoLabelShift()))
    return run_pipeline(PipelineConfig(name="healthcare", path=os.path.abspath(HEALTHCARE), checks=checks,
                                       report_columns=("income",)))


BROKEN = PipelineReport("broken", "broken.py", [Verdict("no-illegal-features", "check", Status.ERROR,
                                                        "the pipeline raised KeyError: 'income'")],
                        error="the pipeline raised KeyError: 'income'", seconds=0.5)
MIXED = PipelineReport("mixed | odd <name>", "mixed.py", [
    Verdict("condition: d < 0.1 +/- 0.05", "condition", Status.WARNING, "not evaluated: no captured run"),
    Verdict("condition: n > 0.7 +/- 0.05", "condition", Status.SKIPPED, "not evaluated: captured"),
    Verdict("no-duplicate-rows", "check", Status.PASSED, "a | b\nc <d> \x1b[31m"),
], seconds=1.25)


# -- JUnit -------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def assert_common_junit_schema(root):
    """The rules of the common JUnit schema (Jenkins' junit-10.xsd) that a reader relies on."""
    assert root.tag == "testsuites"
    assert set(root.attrib) <= {"name", "time", "tests", "failures", "errors", "skipped", "disabled"}
    for suite in root:
        assert suite.tag == "testsuite"
        assert {"name", "tests"} <= set(suite.attrib)
        assert set(suite.attrib) <= {"name", "tests", "failures", "errors", "skipped", "time", "disabled", "timestamp",
                                     "hostname", "id", "package", "file", "log", "url", "version", "group"}
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", suite.get("timestamp"))
        order = {"properties": 0, "testcase": 1, "system-out": 2, "system-err": 3}
        positions = [order[child.tag] for child in suite]
        assert positions == sorted(positions) and positions.count(0) <= 1 and positions.count(2) <= 1
        for prop in suite.iter("property"):
            assert set(prop.attrib) == {"name", "value"}
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(len(c.findall("failure")) for c in cases)
        assert int(suite.get("errors")) == sum(len(c.findall("error")) for c in cases)
        assert int(suite.get("skipped")) == sum(len(c.findall("skipped")) for c in cases)
        assert _NUMBER.match(suite.get("time"))
        for case in cases:
            assert "name" in case.attrib and set(case.attrib) <= {"name", "classname", "time", "assertions", "status"}
            assert _NUMBER.match(case.get("time"))
            case_order = {"skipped": 0, "error": 1, "failure": 2, "system-out": 3, "system-err": 4}
            positions = [case_order[child.tag] for child in case]
            assert positions == sorted(positions) and positions.count(0) <= 1
            for child in case:
                assert set(child.attrib) <= ({"message"} if child.tag == "skipped" else {"message", "type"})
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key)) == sum(int(suite.get(key)) for suite in root)


def test_junit_has_a_test_case_per_pipeline_and_check(healthcare):
    root = ET.fromstring(junit_xml([healthcare, BROKEN, MIXED]))
    assert_common_junit_schema(root)
    assert [(s.get("name"), s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped")) for s in root] == [
        ("healthcare", "3", "2", "0", "0"), ("broken", "1", "0", "1", "0"), ("mixed | odd <name>", "3", "0", "0", "1")]
    cases = root[0].findall("testcase")
    assert [c.get("name") for c in cases] == ["no-bias-introduced-for", "no-illegal-features", "no-label-shift"]
    assert {c.get("classname") for c in cases} == {"lester-inspect.healthcare"}
    assert cases[2].find("failure") is None


def test_a_junit_failure_names_the_operator_and_code_location(healthcare):
    failure = ET.fromstring(junit_xml([healthcare]))[0].find("testcase").find("failure")
    assert failure.get("message").startswith("Selection at line 71:7 (Select: county isin ['county2', 'county3']): "
                                             "age_group = 'group4' went from 24.3% to 9.5% of the rows")
    text = failure.text
    assert "operator 7: Selection at line 71:7" in text
    assert SELECTION in text
    assert re.search(r"\n7: age_group:\n +group +count_before", text)
    assert "2: age_group" not in text  # tables about operators the check found fine stay in the HTML report
    assert text.endswith("(8 more detail tables, on operators the check found fine, in the HTML report)")


def test_junit_errors_skips_and_warnings():
    root = ET.fromstring(junit_xml([BROKEN, MIXED]))
    broken, mixed = root
    assert broken.find("testcase/error").get("message") == "the pipeline raised KeyError: 'income'"
    assert broken.find("system-err").text == "the pipeline raised KeyError: 'income'"
    warning, skipped, passed = mixed.findall("testcase")
    assert warning.find("system-out").text == "WARNING: not evaluated: no captured run"
    assert warning.find("failure") is None
    assert skipped.find("skipped").get("message") == "not evaluated: captured"
    assert passed.find("system-out") is None and passed.find("failure") is None


def test_warnings_fail_in_junit_when_they_fail_the_job():
    root = ET.fromstring(junit_xml([MIXED], fail_on_warning=True))
    assert_common_junit_schema(root)
    assert root.get("failures") == "1"
    assert root.find("testsuite/testcase/failure").get("type") == "warning"


def test_control_characters_do_not_break_the_xml():
    (case,) = [c for c in ET.fromstring(junit_xml([PipelineReport("p", "p.py", [
        Verdict("v", "check", Status.FAILED, "bad \x1b[31m colour \x00")])])).iter("testcase")]
    assert case.find("failure").get("message") == "bad \ufffd[31m colour \ufffd"


def test_a_pipeline_without_checks_still_has_a_test_case():
    root = ET.fromstring(junit_xml([PipelineReport("plain", "plain.py", []),
                                    PipelineReport("down", "down.py", [], error="it broke")]))
    assert_common_junit_schema(root)
    assert [(c.get("name"), c.find("error") is not None) for c in root.iter("testcase")] == [("run", False),
                                                                                              ("run", True)]


# -- Markdown ----------------------------------------------------------------------------------------

def test_markdown_summary_is_a_table_of_pipelines_and_checks(healthcare):
    lines = markdown_summary([healthcare, BROKEN, MIXED]).splitlines()
    assert lines[:4] == ["## lester-inspect: 💥 2 of 3 pipelines failed", "",
                         "| pipeline | check | status | reason |", "|---|---|---|---|"]
    assert lines[4] == ("| healthcare | no-bias-introduced-for | ❌ failed | Selection at line 71:7 (Select: county isin "
                        "['county2', 'county3']): age_group = 'group4' went from 24.3% to 9.5% of the rows (-61%), "
                        "below the allowed -30% |")
    assert lines[5].startswith("| healthcare | no-illegal-features | ❌ failed | Projection at line 79:16")
    assert lines[6] == ("| healthcare | no-label-shift | ✅ passed | Training and test labels are alike "
                        "(chi-squared p = 0.91). |")
    assert lines[7] == "| broken | no-illegal-features | 💥 error | the pipeline raised KeyError: 'income' |"
    assert lines[8:11] == [
        "| mixed \\| odd &lt;name&gt; | condition: d &lt; 0.1 +/- 0.05 | ⚠️ warning | not evaluated: no captured run |",
        "| mixed \\| odd &lt;name&gt; | condition: n &gt; 0.7 +/- 0.05 | ⏭️ skipped | not evaluated: captured |",
        "| mixed \\| odd &lt;name&gt; | no-duplicate-rows | ✅ passed | a \\| b c &lt;d&gt; \x1b[31m |",
    ]
    assert lines[11:] == ["", "- **broken**: the pipeline raised KeyError: 'income'"]


def test_markdown_headline_counts_warnings_only_when_they_fail():
    assert markdown_summary([MIXED]).startswith("## lester-inspect: ⚠️ all 1 pipelines passed\n")
    assert markdown_summary([MIXED], fail_on_warning=True).startswith("## lester-inspect: ⚠️ 1 of 1 pipelines failed")


# -- HTML --------------------------------------------------------------------------------------------

class _Balance(html.parser.HTMLParser):
    VOID = {"meta", "br", "img", "input", "hr", "link", "path", "rect", "stop"}

    def __init__(self):
        super().__init__()
        self.stack, self.problems = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


@pytest.fixture(scope="module")
def page(healthcare):
    return html_report([healthcare, BROKEN])


def test_the_html_report_is_well_formed_and_self_contained(page):
    checker = _Balance()
    checker.feed(page)
    assert checker.problems == [] and checker.stack == []
    assert re.findall(r"https?://[^\"' )]+", page) == ["http://www.w3.org/2000/svg"] * page.count("<svg")
    for needs_network in ("<link", " src=", "@import", "url(http"):
        assert needs_network not in page


def svg_of(page, index=0):
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    return ET.fromstring(svgs[index])


def test_the_dag_colours_operators_by_the_worst_verdict_touching_them(page, healthcare):
    svg = svg_of(page)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    operators = {int(a.get("data-operator")): a for a in svg.findall("svg:a", ns)}
    assert sorted(operators) == list(range(34))
    state = {i: a.get("class").split()[1] for i, a in operators.items()}
    assert state[7] == "op-failed"    # the county filter that biases age_group
    assert state[13] == "op-failed"   # the projection feeding 'race' to the model
    assert state[2] == state[9] == "op-passed"  # bias check looked at them and found them fine
    assert state[0] == "op-unchecked"
    assert operators[7].get("href") == "#p0-op-7"
    tooltip = operators[7].find("svg:title", ns).text
    assert tooltip.startswith("7: Selection line 71:7\nSelect: county isin ['county2', 'county3']")
    assert tooltip.endswith(SELECTION)
    assert len(svg.findall("svg:path[@class='edge']", ns)) == healthcare.result.dag.number_of_edges()


def test_the_html_report_shows_every_verdict_with_its_details(page, healthcare):
    start = page.index('<div class="verdict verdict-failed" id="p0-verdict-0">')
    card = page[start:page.index('<div class="verdict ', start + 1)]
    assert "no-bias-introduced-for" in card
    assert "age_group = &#x27;group4&#x27; went from 24.3% to 9.5% of the rows" in card
    assert '<a href="#p0-op-7">7 · Selection at line 71:7</a>' in card
    assert "<h5>7: age_group</h5><table>" in card
    assert "<summary>8 more detail tables</summary>" in card
    assert 'class="verdict verdict-passed" id="p0-verdict-2"' in page
    assert '<div class="error-box"><b>Error:</b> the pipeline raised KeyError: &#x27;income&#x27;</div>' in page


def operator_section(page, node_id):
    return re.search(rf'<details class="operator" id="p0-op-{node_id}">.*?</details>', page, flags=re.S).group(0)


def test_operators_show_code_histograms_first_rows_and_completeness(page):
    selection = operator_section(page, 7)
    assert f'<pre class="code">{SELECTION.replace(chr(34), "&quot;")}</pre>' in selection
    assert 'Inputs: <a href="#p0-op-6">6 · Projection</a>' in selection
    # HistogramForColumns: a bar chart per column, largest value first.
    chart = re.search(r"<figure class=\"chart\"><figcaption>age_group</figcaption>.*?</figure>", selection).group(0)
    values = re.findall(r'bar-label" title="([^"]+)"', chart)
    counts = [int(c.replace(",", "")) for c in re.findall(r'bar-value">([\d,]+) \(', chart)]
    assert sorted(values) == ["group1", "group2", "group3", "group4"] and counts == sorted(counts, reverse=True)
    assert sum(counts) == 370  # the rows left after the county filter
    # CompletenessOfColumns of the report column 'income', and the first rows.
    assert "<figcaption>share of non-missing values</figcaption>" in selection
    assert re.search(r'<span class="bar-label">income</span>.*?<span class="bar-value">\d+\.\d%</span>', selection)
    assert "<h5>MaterializeFirstOutputRows</h5><table><thead><tr><th>smoker</th><th>last_name</th>" in selection
    assert selection.count("<tr><td") == 5


def test_the_html_report_of_a_pipeline_that_raised_has_no_dag():
    page = html_report([BROKEN])
    assert "<svg" not in page and "error-box" in page


# -- the SVG layout ----------------------------------------------------------------------------------

def node(node_id, kind=OperatorType.PROJECTION):
    location = CodeLocation(node_id + 1, 0, node_id + 1, 5)
    return DagNode(node_id, kind, FunctionInfo("m", "f"), location, f"code {node_id}", f"operator {node_id}", ())


def layout(parents):
    nodes = [node(i) for i in range(len(parents))]
    svg = ET.fromstring(dag_svg(nodes, lambda n: [nodes[p] for p in parents[n.node_id]], {nodes[0]: Status.FAILED},
                                lambda n: f"#op-{n.node_id}"))
    ns = {"svg": "http://www.w3.org/2000/svg"}
    boxes = {int(a.get("data-operator")): a.find("svg:rect", ns) for a in svg.findall("svg:a", ns)}
    xy = {i: (float(r.get("x")), float(r.get("y"))) for i, r in boxes.items()}
    return svg, xy, [p.get("d") for p in svg.findall("svg:path[@class='edge']", ns)]


def test_layers_follow_the_longest_path_and_boxes_never_overlap():
    # 0 -> 2 -> 3 -> 4, 1 -> 3 (a second source joining in), 0 -> 4 (a long edge)
    svg, xy, edges = layout([[], [], [0], [2, 1], [3, 0]])
    rows = {i: round((y - 16) / (BOX_HEIGHT + 46)) for i, (_, y) in xy.items()}
    assert rows == {0: 0, 1: 0, 2: 1, 3: 2, 4: 3}
    for a in xy:
        for b in xy:
            if a < b:
                (ax, ay), (bx, by) = xy[a], xy[b]
                assert abs(ax - bx) >= BOX_WIDTH or abs(ay - by) >= BOX_HEIGHT, (a, b)
    assert len(edges) == 5
    # Long edges pass a waypoint in every layer they cross: 1 -> 3 one, 0 -> 4 two.
    assert sorted(d.count(" C ") for d in edges) == [1, 1, 1, 2, 3]
    assert float(svg.get("width")) >= 2 * BOX_WIDTH


def test_every_edge_goes_down_from_its_parent_to_its_child():
    parents = [[], [0], [0], [1, 2], [3], [0, 4]]
    _, xy, edges = layout(parents)
    for d in edges:
        numbers = [float(n) for n in re.findall(r"-?\d+\.\d", d)]
        assert numbers[1] < numbers[-1]  # starts above where it ends
    starts = sorted((float(d.split()[1]), float(d.split()[2])) for d in edges)
    bottoms = sorted((x, y + BOX_HEIGHT) for (x, y) in xy.values())
    assert all(any(bx <= sx <= bx + BOX_WIDTH and abs(sy - by) < 0.2 for bx, by in bottoms) for sx, sy in starts)


def test_an_empty_dag_is_an_empty_drawing():
    svg = ET.fromstring(dag_svg([], lambda n: [], {}, lambda n: ""))
    assert svg.findall("{http://www.w3.org/2000/svg}a") == []
