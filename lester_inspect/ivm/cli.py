"""``lester-inspect capture | runs | changes | affected | forget | rectify | verify | audit | demo``: the artifact store on the command line."""
from __future__ import annotations

import os
import re
import sys
import time

_CARD_NUMBER = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")


def add_ivm_commands(commands) -> None:
    def with_store(parser):
        parser.add_argument("--store", default=".lester", metavar="DIR", help="artifact store (default .lester)")
        return parser

    from lester_inspect.commandline import PIPELINE_ARGUMENTS_HELP

    capture = with_store(commands.add_parser(
        "capture", help="run a pipeline and capture its artifacts",
        usage="lester-inspect capture --name NAME [--store DIR] PIPELINE [ARGS ...] [-- ARGS ...]"))
    capture.add_argument("--name", required=True, help="a name for the deployed pipeline")
    capture.add_argument("pipeline")
    capture.add_argument("args", nargs="*", help=PIPELINE_ARGUMENTS_HELP)
    capture.set_defaults(handler=_capture)

    runs = with_store(commands.add_parser("runs", help="list the captured runs"))
    runs.set_defaults(handler=_table("runs", "no runs captured in"))

    changes = with_store(commands.add_parser("changes", help="list what forget changed in which run (counts, never values)"))
    changes.add_argument("--check", action="store_true",
                         help="verify the log's hash chain instead (exit 1 naming each edited line)")
    changes.set_defaults(handler=_changes)

    for name, helptext in (("affected", "list the runs that used the given rows (and column)"),
                           ("forget", "remove the given rows' data (or one column of it) from captured runs")):
        parser = with_store(commands.add_parser(name, help=helptext))
        parser.add_argument("--rows", required=True, metavar="FILE:KEY=V1,V2|FILE:@R1,R2",
                            help="source rows by key values or 0-based positions, e.g. customers.csv:customer_id=2,4,6")
        parser.add_argument("--column", metavar="FILE:COLUMN", help="only this leaked column (feature deletion)")
        parser.set_defaults(handler=_affected if name == "affected" else _forget)
        if name == "forget":
            add_change_options(parser)
            parser.add_argument("--max-residual", type=float, metavar="X",
                                help="linear models: measure the updated model's gradient residual on the corrected "
                                     "training data and fit the model again there when it exceeds X")

    verify = with_store(commands.add_parser(
        "verify", help="compare a run's updated model with one fitted from scratch on its corrected training data"))
    verify.add_argument("--run", required=True, metavar="ID", help="the run to verify")
    verify.set_defaults(handler=_verify)

    audit = with_store(commands.add_parser(
        "audit", help="search every file of the store for values in every encoding it writes (exit 1 if any is found)",
        usage="lester-inspect audit [--store DIR] (--value TEXT ... | --values-from FILE)"))
    values = audit.add_mutually_exclusive_group(required=True)
    values.add_argument("--value", action="append", metavar="TEXT", help="a value that must not be in the store")
    values.add_argument("--values-from", metavar="FILE", help="a file with one such value per line")
    audit.set_defaults(handler=_audit)

    from lester_inspect.ivm.rectify import add_rectify_command

    add_rectify_command(commands, with_store)  # rectify (ivm/rectify.py)

    demo = with_store(commands.add_parser("demo", help="the credit card leak story on generated data"))
    demo.add_argument("--mails", type=int, default=2000, help="number of generated mails (default 2000)")
    demo.add_argument("--verbose", action="store_true", help="also print every step of the pipeline's DAG")
    demo.set_defaults(handler=_demo)


def add_change_options(parser) -> None:
    """The options of a command that changes captured runs (forget, rectify): which runs, which model update."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", action="append", metavar="ID", help="a run to change (repeatable)")
    which.add_argument("--all-affected", action="store_true", help="change every affected run")
    parser.add_argument("--order", choices=("first", "second"), default="first",
                        help="model update: first-order (default) or second-order")
    parser.add_argument("--tau", type=float, help="first-order step (default 1 / training rows)")


def report_incomplete(incomplete) -> int:
    """Print the report of a forget or rectify that could not change every run; its exit code."""
    print(incomplete.report)
    for problem in incomplete.report.problems:
        print(f"lester-inspect: {problem}", file=sys.stderr)
    return incomplete.report.exit_code


def _fail(message: str) -> int:
    print(f"lester-inspect: {message}", file=sys.stderr)
    return 2


def _capture(arguments) -> int:
    from lester_inspect.inspections import ArtifactCapture
    from lester_inspect.inspector import PipelineInspector
    from lester_inspect.instrumentation.source import PipelineSourceError

    capture = ArtifactCapture(store=arguments.store, name=arguments.name)
    from lester_inspect.commandline import report_pipeline_error, users_output

    try:
        with users_output():
            result = (PipelineInspector.on_pipeline(arguments.pipeline, args=arguments.args)
                      .add_inspection(capture).execute())
    except PipelineSourceError as error:
        return _fail(str(error))
    except (Exception, SystemExit) as error:
        return report_pipeline_error(error, arguments.pipeline)
    run_id = ArtifactCapture.run_id_of(result)
    problems = [p for p in result.internal_errors if "ArtifactCapture" in p or "ivm" in p]
    if run_id is None or problems:
        return _fail("capture failed: " + ("; ".join(problems) or "the pipeline fitted no model"))
    print(run_id)
    return 0


def _table(method: str, when_empty: str):
    """A handler that prints ``ArtifactStore(store).<method>()`` (runs, changes) as a table."""
    def handler(arguments) -> int:
        from lester_inspect.ivm import ArtifactStore

        try:
            table = getattr(ArtifactStore(arguments.store), method)()
        except FileNotFoundError as error:
            return _fail(str(error))
        print(table.to_string(index=False) if len(table) else f"{when_empty} {arguments.store}")
        return 0
    return handler


def _changes(arguments) -> int:
    if not arguments.check:
        return _table("changes", "forget has changed nothing in")(arguments)
    from lester_inspect.ivm import ArtifactStore

    try:
        problems, notes = ArtifactStore(arguments.store).check_changes()
    except FileNotFoundError as error:
        return _fail(str(error))
    for line in problems + notes:
        print(line)
    if problems:
        print(f"lester-inspect: the change log of {arguments.store} was tampered with ({len(problems)} break(s) in "
              "its hash chain)", file=sys.stderr)
        return 1
    print(f"the change log's hash chain is whole ({len(ArtifactStore(arguments.store).changes())} entries), and it "
          "holds the entry of every request the runs record as completed")
    return 0


def _specs(arguments):
    from lester_inspect.ivm import ColumnSpec, RowSpec

    return RowSpec.parse(arguments.rows), ColumnSpec.parse(arguments.column) if arguments.column else None


def _affected(arguments) -> int:
    from lester_inspect.ivm import ArtifactStore, SpecError

    try:
        rows, column = _specs(arguments)
        runs = ArtifactStore(arguments.store).affected(rows, column)
    except (SpecError, FileNotFoundError) as error:
        return _fail(str(error))
    print("\n".join(map(str, runs)) if runs else "no captured run used these rows" + (" and column" if column else ""))
    return 0


def _forget(arguments) -> int:
    from lester_inspect.ivm import ArtifactStore, ForgetIncomplete, SpecError

    try:
        rows, column = _specs(arguments)
        report = ArtifactStore(arguments.store).forget(rows, column, None if arguments.all_affected else arguments.run,
                                                       order=arguments.order, tau=arguments.tau,
                                                       max_residual=arguments.max_residual)
    except (SpecError, FileNotFoundError) as error:
        return _fail(str(error))
    except ForgetIncomplete as incomplete:
        return report_incomplete(incomplete)
    print(report)
    return 0


def _verify(arguments) -> int:
    from lester_inspect.ivm import ArtifactStore

    try:
        print(ArtifactStore(arguments.store).verify(arguments.run))
    except (FileNotFoundError, KeyError, ValueError) as error:
        return _fail(str(error).strip("'\""))
    return 0


def _audit(arguments) -> int:
    """Print every file and artifact that still holds one of the values (numbered, not repeated)."""
    from lester_inspect.ivm.audit import ENCODINGS, find_values

    if not os.path.isdir(arguments.store):
        return _fail(f"{arguments.store}: no artifact store here")
    if arguments.values_from:
        try:
            with open(arguments.values_from, encoding="utf-8") as handle:
                values = [line.rstrip("\r\n") for line in handle if line.strip()]
        except OSError as error:
            return _fail(f"{arguments.values_from}: {error.strerror}")
    else:
        values = arguments.value
    if not values:
        return _fail(f"{arguments.values_from}: holds no value to search for")
    findings, searched = find_values(arguments.store, values)
    number = {value: index for index, value in enumerate(values, start=1)}
    for finding in findings:
        print(f"{finding.path}  ({finding.artifact}): value #{number[finding.value]} in {finding.encoding}")
    held = {finding.value for finding in findings}
    print(f"searched {searched} files of {arguments.store} byte-wise for {len(values)} value(s) in "
          f"{', '.join(ENCODINGS)} (as given, lower and upper case): "
          + (f"{len(held)} value(s) are still held" if held else "none is held"))
    return 1 if held else 0


def _demo(arguments) -> int:
    """Generate data, capture the credit card pipeline, find the leak, forget it, and prove it is gone.

    Each step prints the command a user would type for it; the demo itself runs them in one process.
    """
    import contextlib
    import importlib.util
    import io

    import pandas as pd

    from lester_inspect.checks import NoBiasIntroducedFor, NoIllegalFeatures
    from lester_inspect.inspections import ArtifactCapture
    from lester_inspect.inspector import PipelineInspector
    from lester_inspect.ivm import ArtifactStore, ColumnSpec, RowSpec
    from lester_inspect.report.outline import dag_outline
    from lester_inspect.ivm.audit import find_values

    example = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "example_pipelines", "creditcard")
    if not os.path.isdir(example):
        return _fail(f"the credit card example is not at {example}; run the demo from a source checkout")
    # Beside the store, not in it: the audit searches every file of the store.
    data = os.path.join(os.path.dirname(os.path.abspath(arguments.store)), "lester-demo-data")
    pipeline = _short_path(os.path.join(example, "pipeline.py"))
    spec = importlib.util.spec_from_file_location("creditcard_data", os.path.join(example, "generate_data.py"))
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    generator.write(data, arguments.mails)
    shown = _short_path(data)
    print(f"1. Made up {arguments.mails} customer mails in {shown}; some subjects contain credit card numbers.")

    checks = [("no-bias-introduced-for=country", NoBiasIntroducedFor(["country"])),
              ("no-illegal-features", NoIllegalFeatures())]
    print("2. Run the sentiment pipeline, check it and save what it trained on (done here in one run):")
    print(f"   $ lester-inspect run {' '.join('--check ' + name for name, _ in checks)} {pipeline} {shown}")
    print(f"   $ lester-inspect capture --name creditcard {pipeline} {shown}")
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the pipeline's own "Test accuracy" line
        result = (PipelineInspector.on_pipeline(os.path.join(example, "pipeline.py"), args=[data])
                  .add_inspection(ArtifactCapture(store=arguments.store, name="creditcard"))
                  .add_checks([check for _, check in checks]).execute())
    run_id = ArtifactCapture.run_id_of(result)
    if run_id is None:
        return _fail("capture failed: " + "; ".join(result.internal_errors))
    print(f"   It ran {dag_outline(result)}.")
    if arguments.verbose:
        print("   " + result.dag_text().replace("\n", "\n   "))
    for (name, check) in checks:
        outcome = result.check_to_check_results[check]
        print(f"   Check {name.split('=')[0]}: {'passed' if outcome.status.name == 'SUCCESS' else 'FAILED'}. "
              f"{outcome.description}")
        if outcome.status.name != "SUCCESS":
            print(f"   Why it matters: {_WHY[name.split('=')[0]]}")
    print(f"   Saved as run {run_id} in {arguments.store} ({time.perf_counter() - started:.0f} s).")

    mails_path, customers_path = os.path.join(data, "mails.csv"), os.path.join(data, "customers.csv")
    mails = pd.read_csv(mails_path)
    leaked = mails[mails["mail_subject"].str.contains(_CARD_NUMBER, na=False)]
    secrets = set(leaked["mail_subject"].str.findall(_CARD_NUMBER).sum())
    customers = sorted(leaked["customer_id"].unique().tolist())
    stored = {finding.value for finding in find_values(arguments.store, secrets)[0]}
    print(f"3. The leak: {len(secrets)} card numbers in the mails of {len(customers)} customers; {len(stored)} of "
          f"them are in the saved run (the others were in mails the pipeline left out).")
    ids = ",".join(map(str, customers))
    selection = (f"--rows {os.path.join(shown, 'customers.csv')}:customer_id={ids} "
                 f"--column {os.path.join(shown, 'mails.csv')}:mail_subject")
    rows = RowSpec(customers_path, key="customer_id", values=tuple(str(c) for c in customers))
    column = ColumnSpec(mails_path, "mail_subject")
    store = ArtifactStore(arguments.store)
    print("4. Which saved runs used these customers' mail subjects?")
    print(f"   $ lester-inspect affected {_shorten(selection)}")
    print("   " + (", ".join(store.affected_runs(rows, column)) or "none"))
    print("5. Remove the subjects, and everything computed from them, from those runs, without re-running them:")
    print(f"   $ lester-inspect forget {_shorten(selection)} --all-affected")
    report = store.forget(rows, column)
    for change in report.runs:
        if change.status not in ("changed", "resumed"):
            print(f"   Run {change.run_id}: {change.status}" + (f" ({change.problem})" if change.problem else ""))
            continue
        rows_changed = " and ".join(f"{count} {group}" for group, count in sorted(change.rows.items(), reverse=True))
        print(f"   Run {change.run_id}: blanked the subjects of {rows_changed} rows and the "
              f"{sum(change.cells.values()):,} stored values derived from them; {_model_words(change.model)} "
              f"({sum(report.timings.values()):.1f} s).")
    numbers = os.path.join(os.path.dirname(data), "lester-demo-card-numbers.txt")
    with open(numbers, "w", encoding="utf-8") as handle:
        handle.write("".join(f"{secret}\n" for secret in sorted(secrets)))
    print(f"6. Are they gone? Search every file of {arguments.store} for the {len(secrets)} card numbers "
          "(UTF-8, UTF-16, UTF-32):")
    print(f"   $ lester-inspect audit --store {arguments.store} --values-from {_short_path(numbers)}")
    findings, searched = find_values(arguments.store, secrets)
    print(f"   {searched} files searched: none is left." if not findings else
          "   STILL PRESENT in " + ", ".join(sorted({f.path for f in findings})))
    return 0 if not findings else 1


_WHY = {
    "no-bias-introduced-for": "a filter or join removed a group's rows (here: customers outside DE, FR, GB and "
                              "NL), so the model knows nothing about them. Intended here; check it in yours.",
    "no-illegal-features": "the model uses a protected attribute (such as race or gender) to decide.",
}


def _model_words(model) -> str:
    if not model:
        return "the model did not need a change"
    if "order" in model:
        return f"updated the model's weights without retraining ({model['parameters_changed']:,} weights changed)"
    if "skipped" in model:
        return "the model was already updated for this request"
    return "; ".join(f"{what} ({why})" for what, why in model.items())


def _short_path(path: str) -> str:
    relative = os.path.relpath(path)
    return relative if len(relative) < len(path) else path


def _shorten(selection: str, limit: int = 110) -> str:
    """A command line cut to fit the screen; the cut part is the customer ids' tail."""
    return selection if len(selection) <= limit else selection[:limit - 3] + "..."
