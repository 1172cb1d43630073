"""The HTML report in a real headless Chromium: the DAG and the failing check are visible, clicks work.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages ended by NUL on file descriptors 3 and 4), which lets the test ask the laid-out page
where things are, click like a user and take the screenshot, with no extra package. The
screenshot is kept in the test's tmp folder and copied to ``$LESTER_TEST_ARTIFACTS`` if set.
"""
import base64
import json
import os
import select
import shutil
import struct
import subprocess
import time

import pytest

from lester_inspect.checks import NoBiasIntroducedFor, NoIllegalFeatures, NoTrainTestOverlap
from lester_inspect.ci.config import PipelineConfig
from lester_inspect.ci.gate import run_pipeline
from lester_inspect.report.html import html_report

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1400, 1800
DEMO = os.path.join(os.path.dirname(__file__), os.pardir, "example_pipelines", "ci_demo")


class Chromium:
    """A headless Chromium answering DevTools protocol commands."""

    def __init__(self, profile: str, timeout: float = 60.0):
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        def on_pipes():  # runs in the child: the protocol is on fds 3 (commands) and 4 (replies)
            commands, replies = os.dup(commands_read), os.dup(replies_write)
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-pipe",
             "about:blank"],
            preexec_fn=on_pipes, pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(commands_read)
        os.close(replies_write)
        self._buffer, self._last_id, self._events, self.timeout = b"", 0, [], timeout

    def send(self, method: str, params: dict = None, session: str = None) -> dict:
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self._events.append(reply)

    def wait_for(self, method: str, session: str) -> dict:
        while True:
            for event in self._events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self._events.remove(event)
                    return event
            self._events.append(self._read())

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._replies], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium exited with status {self.process.poll()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.process.wait(10)
        except Exception:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._replies)


@pytest.fixture(scope="module")
def biased_report(tmp_path_factory):
    checks = (("no-bias-introduced-for", NoBiasIntroducedFor(["race", "age_group"])),
              ("no-illegal-features", NoIllegalFeatures()), ("no-train-test-overlap", NoTrainTestOverlap()))
    report = run_pipeline(PipelineConfig(name="loan-approval", path=os.path.abspath(
        os.path.join(DEMO, "pull_requests", "train.py")), checks=checks))
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(html_report([report]), encoding="utf-8")
    return report, path


@pytest.fixture
def browser(tmp_path):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    chromium = Chromium(str(tmp_path / "profile"))
    yield chromium
    chromium.close()


def open_page(chromium: Chromium, url: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    target = chromium.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = chromium.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    chromium.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
    chromium.send("Page.enable", {}, session)
    chromium.send("Page.navigate", {"url": url}, session)
    chromium.wait_for("Page.loadEventFired", session)
    return session


def evaluate(chromium: Chromium, session: str, expression: str):
    reply = chromium.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
    assert "exceptionDetails" not in reply, reply
    return reply["result"].get("value")


# Where an element is on the screen, whether it is rendered, and what is on top at its centre.
_VISIBLE = """
(selector) => {
  const element = document.querySelector(selector);
  if (!element) return null;
  const box = element.getBoundingClientRect();
  const style = getComputedStyle(element);
  const x = (box.left + box.right) / 2, y = Math.min((box.top + box.bottom) / 2, box.top + 20);
  const top = document.elementFromPoint(x, y);
  return {left: box.left, top: box.top, right: box.right, bottom: box.bottom,
          rendered: style.visibility === 'visible' && style.display !== 'none' && Number(style.opacity) > 0,
          onTop: !!top && (element.contains(top) || top.contains(element) || element === top),
          x: x, y: y, text: element.textContent};
}
"""


def visible(chromium, session, selector, whole=True):
    """The element's box; it is rendered, on top, and (``whole``ly, or its top part) in the first screen."""
    box = evaluate(chromium, session, f"({_VISIBLE})({json.dumps(selector)})")
    assert box is not None, f"{selector} is not in the page"
    assert box["rendered"], f"{selector} is hidden"
    bottom = box["bottom"] if whole else box["top"] + 1
    assert 0 <= box["top"] < bottom <= HEIGHT and 0 <= box["left"] < box["right"] <= WIDTH, \
        f"{selector} is outside the first screen: {box}"
    assert box["onTop"], f"{selector} is covered by another element"
    return box


def screenshot(chromium, session, path, size):
    """Save a PNG of the page's first screen; copied to $LESTER_TEST_ARTIFACTS when set (to look at)."""
    image = base64.b64decode(chromium.send("Page.captureScreenshot", {"format": "png"}, session)["data"])
    path.write_bytes(image)
    if os.environ.get("LESTER_TEST_ARTIFACTS"):
        os.makedirs(os.environ["LESTER_TEST_ARTIFACTS"], exist_ok=True)
        shutil.copy(path, os.path.join(os.environ["LESTER_TEST_ARTIFACTS"], path.name))
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", image[16:24]) == size


def click(chromium, session, x, y):
    for kind in ("mousePressed", "mouseReleased"):
        chromium.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                      session)


def test_the_report_shows_the_dag_and_the_failing_check(browser, biased_report, tmp_path):
    report, path = biased_report
    session = open_page(browser, path.as_uri())

    # The failing check, with its one-line reason naming the filter and its line.
    card = visible(browser, session, ".verdict-failed")
    failed = next(v for v in report.verdicts if v.status.value == "failed")
    assert failed.message.startswith("Selection at line 26:13 (Select: has_credit_history): race = 'race3'")
    assert failed.message in card["text"]
    assert "no-bias-introduced-for" in card["text"]

    # The DAG, with the failing operator drawn in the first screen and nothing covering it.
    visible(browser, session, "svg.dag", whole=False)
    assert evaluate(browser, session, "document.querySelectorAll('svg.dag a.op').length") == \
        report.result.dag.number_of_nodes()
    node = visible(browser, session, "svg.dag a.op-failed rect")
    assert evaluate(browser, session, "document.querySelector('svg.dag a.op-failed').getAttribute('href')") == \
        "#p0-op-4"
    fill = evaluate(browser, session, "getComputedStyle(document.querySelector('svg.dag a.op-failed rect')).fill")
    assert fill == "rgb(247, 178, 178)"
    assert 'train_data[train_data["has_credit_history"]]' in evaluate(
        browser, session, "document.querySelector('svg.dag a.op-failed title').textContent")

    screenshot(browser, session, tmp_path / "report_screenshot.png", (WIDTH, HEIGHT))

    # A click on the operator opens its details: code and inspection results.
    assert evaluate(browser, session, "document.getElementById('p0-op-4').open") is False
    click(browser, session, node["x"], node["y"])
    deadline = time.monotonic() + 60  # Chromium on a loaded machine
    while evaluate(browser, session, "document.getElementById('p0-op-4').open") is not True:
        assert time.monotonic() < deadline, "clicking the operator did not open its details"
        time.sleep(0.05)
    assert evaluate(browser, session, "location.hash") == "#p0-op-4"
    details = visible(browser, session, "#p0-op-4 pre.code")
    assert details["text"] == 'train_data[train_data["has_credit_history"]]'
    captions = "[...document.querySelectorAll('#p0-op-4 figure.chart figcaption')].map(c => c.textContent)"
    assert evaluate(browser, session, captions) == ["race", "age_group", "share of non-missing values"]


# The DAG's box, its frame's box, and whether the frame scrolls, for the n-th DAG of the page.
_DAG_GEOMETRY = """
(() => {
  const frame = document.querySelector('.dag-frame'), svg = frame.querySelector('svg.dag');
  const f = frame.getBoundingClientRect(), d = svg.getBoundingClientRect();
  return {frame: [f.left, f.right], dag: [d.left, d.right], width: d.width, scrollWidth: frame.scrollWidth,
          clientWidth: frame.clientWidth, scrollLeft: frame.scrollLeft, natural: Number(svg.getAttribute('width'))};
})()
"""


@pytest.mark.parametrize("width", [1400, 800])
def test_the_whole_dag_fits_the_page_and_zooms_and_pans(browser, creditcard_report, tmp_path, width):
    result, path = creditcard_report
    session = open_page(browser, path.as_uri(), width, 1000)
    geometry = evaluate(browser, session, _DAG_GEOMETRY)
    # Fitted: every operator, the test branch too, lies inside the frame; nothing to scroll to.
    assert geometry["frame"][0] <= geometry["dag"][0] and geometry["dag"][1] <= geometry["frame"][1], geometry
    assert geometry["scrollWidth"] <= geometry["clientWidth"] + 1, geometry
    boxes = evaluate(browser, session, "[...document.querySelectorAll('svg.dag a.op rect')].map(r => {"
                                       "const b = r.getBoundingClientRect(); return [b.left, b.right]; })")
    assert len(boxes) == result.dag.number_of_nodes()
    assert all(geometry["frame"][0] <= left and right <= geometry["frame"][1] for left, right in boxes)
    screenshot(browser, session, tmp_path / f"report_dag_{width}.png", (width, 1000))

    # Every label is whole: a box's text lines are its operator's full description.
    labels = evaluate(browser, session, "[...document.querySelectorAll('svg.dag a.op')].map(a => "
                                        "[...a.querySelectorAll('text.label')].map(t => t.textContent).join(' '))")
    assert labels == [node.description for node in result.nodes]

    # Zoom in twice: the drawing grows beyond the frame, which then scrolls; dragging pans it.
    tools = visible(browser, session, ".dag-tools button[data-zoom='in']")
    click(browser, session, tools["x"], tools["y"])
    click(browser, session, tools["x"], tools["y"])
    zoomed = evaluate(browser, session, _DAG_GEOMETRY)
    assert zoomed["width"] > geometry["width"] * 1.5 and zoomed["scrollWidth"] > zoomed["clientWidth"], zoomed
    frame = visible(browser, session, ".dag-frame", whole=False)
    start = (frame["left"] + 30, frame["top"] + 8)  # the frame's padding: background, not an operator
    browser.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": start[0], "y": start[1], "button": "left",
                                              "clickCount": 1}, session)
    browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": start[0] - 200, "y": start[1],
                                              "button": "left", "buttons": 1}, session)
    browser.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": start[0] - 200, "y": start[1],
                                              "button": "left", "clickCount": 1}, session)
    panned = evaluate(browser, session, _DAG_GEOMETRY)
    assert panned["scrollLeft"] > zoomed["scrollLeft"] + 100, (zoomed, panned)
    screenshot(browser, session, tmp_path / f"report_dag_{width}_zoomed.png", (width, 1000))

    # A click on an operator (after zooming) opens its details: the full description and the code.
    target = result.nodes[-1]
    box = evaluate(browser, session, f"(() => {{ const a = document.querySelector('svg.dag a.op[data-operator=\"{target.node_id}\"]');"
                                     " a.scrollIntoView({block: 'center', inline: 'center'});"
                                     " const b = a.querySelector('rect').getBoundingClientRect();"
                                     " return [b.left + b.width / 2, b.top + 10]; })()")
    click(browser, session, box[0], box[1])
    details = f"p0-op-{target.node_id}"
    deadline = time.monotonic() + 60  # Chromium on a loaded machine
    while evaluate(browser, session, f"document.getElementById('{details}').open") is not True:
        assert time.monotonic() < deadline, "clicking the operator did not open its details"
        time.sleep(0.05)
    opened = visible(browser, session, f"#{details} summary", whole=False)
    assert target.description in opened["text"]
    assert evaluate(browser, session, f"document.querySelector('#{details} pre.code').textContent") == \
        target.source_code

    # Fit brings the whole drawing back.
    fit = evaluate(browser, session, "(() => { document.querySelector('.dag-tools button[data-zoom=fit]').click(); "
                                     "return 0; })()")
    assert fit == 0 and evaluate(browser, session, _DAG_GEOMETRY)["width"] == pytest.approx(geometry["width"], abs=1)


def test_a_report_without_checks_shows_no_verdict_badge(browser, creditcard_report, tmp_path):
    _, path = creditcard_report
    session = open_page(browser, path.as_uri(), 800, 600)
    badges = evaluate(browser, session, "[...document.querySelectorAll('.badge')].map(b => b.textContent)")
    assert badges and set(badges) == {"no checks"}
    assert "No checks configured." in evaluate(browser, session, "document.body.textContent")


@pytest.fixture(scope="module")
def creditcard_report(tmp_path_factory):
    """The credit card pipeline (40 operators, a wide test branch) without checks."""
    report = run_pipeline(PipelineConfig(name="creditcard", path=os.path.abspath(
        os.path.join(os.path.dirname(__file__), os.pardir, "example_pipelines", "creditcard", "pipeline.py"))))
    path = tmp_path_factory.mktemp("creditcard_report") / "report.html"
    path.write_text(html_report([report]), encoding="utf-8")
    return report.result, path
