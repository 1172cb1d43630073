"""JUnit XML: a test suite per pipeline, a test case per check and model condition.

Follows the common JUnit schema (Jenkins' ``junit-10.xsd``, which GitHub, GitLab and most
CI test reporters read): ``testsuites > testsuite > (properties?, testcase*, system-out?,
system-err?)`` and ``testcase > (skipped?, error*, failure*, system-out?)``. JUnit knows
no warnings: a warning is a passing test case with the reason in its ``system-out``, or
a failure of type ``warning`` when warnings fail the job.
"""
from __future__ import annotations

import datetime
import re
import socket
import xml.etree.ElementTree as ET
from typing import Sequence

from lester_inspect.report.model import PipelineReport, Status, Verdict, split_details

# XML 1.0 forbids most control characters, which a pipeline's error message may contain.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MAX_DETAIL_ROWS = 20


def junit_xml(reports: Sequence[PipelineReport], fail_on_warning: bool = False) -> str:
    """The JUnit XML document for ``reports``."""
    timestamp = datetime.datetime.now().replace(microsecond=0).isoformat()
    root = ET.Element("testsuites", name="lester-inspect")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for index, report in enumerate(reports):
        suite = ET.SubElement(root, "testsuite", name=_text(report.name), id=str(index), package="lester-inspect",
                              timestamp=timestamp, hostname=_text(socket.gethostname() or "localhost"),
                              time=f"{report.seconds:.3f}")
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="path", value=_text(report.path))
        verdicts = report.verdicts or [Verdict("run", "check", Status.ERROR if report.error else Status.PASSED,
                                               report.error or "the pipeline ran")]
        counted = {"tests": len(verdicts), "failures": 0, "errors": 0, "skipped": 0}
        for verdict in verdicts:
            outcome = _add_testcase(suite, report, verdict, fail_on_warning)
            if outcome:
                counted[outcome] += 1
        if report.error:
            ET.SubElement(suite, "system-err").text = _text(report.error)
        for key, value in counted.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(r.seconds for r in reports):.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _add_testcase(suite: ET.Element, report: PipelineReport, verdict: Verdict, fail_on_warning: bool) -> str:
    """Add the test case; returns which counter it adds to ('' for a passing case)."""
    case = ET.SubElement(suite, "testcase", name=_text(verdict.name), classname=_text(f"lester-inspect.{report.name}"),
                         time="0")
    message = _text(verdict.message)
    if verdict.status is Status.SKIPPED:
        ET.SubElement(case, "skipped", message=message)
        return "skipped"
    if verdict.status is Status.ERROR:
        ET.SubElement(case, "error", message=message, type="error").text = _body(verdict)
        return "errors"
    if verdict.status is Status.FAILED or (verdict.status is Status.WARNING and fail_on_warning):
        ET.SubElement(case, "failure", message=message, type=verdict.status.value).text = _body(verdict)
        return "failures"
    if verdict.status is Status.WARNING:
        ET.SubElement(case, "system-out").text = _text(f"WARNING: {verdict.message}")
    return ""


def _body(verdict: Verdict) -> str:
    """The message, the code at fault and the detail tables, as plain text."""
    parts = [verdict.message]
    node = verdict.operator
    if node is not None:
        location = node.code_location or "unknown location"
        parts.append(f"operator {node.node_id}: {node.operator_type.value} at {location}")
        if node.source_code:
            parts.append("    " + node.source_code.replace("\n", "\n    "))
    shown, folded = split_details(verdict)
    for name, frame in (shown or folded).items():
        table = frame.head(_MAX_DETAIL_ROWS).to_string(index=False)
        more = f"\n({len(frame) - _MAX_DETAIL_ROWS} more rows)" if len(frame) > _MAX_DETAIL_ROWS else ""
        parts.append(f"{name}:\n{table}{more}")
    if shown and folded:
        parts.append(f"({len(folded)} more detail tables, on operators the check found fine, in the HTML report)")
    return _text("\n\n".join(parts))


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", str(value))
