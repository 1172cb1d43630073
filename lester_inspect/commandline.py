"""What every ``lester-inspect`` command shares: argument parsing, exit codes, errors and output.

* Options may come before or after the pipeline (``report PIPELINE -o FILE``); the other
  words after the pipeline are its ``sys.argv[1:]``. Arguments for the pipeline that start
  with ``-`` go after ``--``, so that they are never taken for ours.
* Exit codes: 0 everything passed, 1 a check failed, 2 an error (ours, the configuration's,
  or the pipeline's).
* A pipeline's exception is shown as ``python pipeline.py`` would show it (no frames of
  ours), with a hint to ``partial_result``.
* Any character survives our output: on the terminal and in files, what the encoding
  cannot hold is written as a backslash escape; files are written whole or not at all.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import traceback
from typing import List, Optional, Sequence

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
EXIT_CODES_HELP = "Exit code 0: every check passed; 1: a check failed; 2: an error (the reason is on stderr)."
PIPELINE_ARGUMENTS_HELP = ("arguments for the pipeline (its sys.argv[1:]); put those that start with '-' after "
                           "'--', e.g. PIPELINE -- --rows 100")
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def parse_arguments(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse a command line whose subcommand may take ``pipeline`` and ``args`` (its arguments).

    argparse hands the words after the first positional run to nobody; they are the pipeline's
    arguments, in order. Everything after ``--`` is the pipeline's too, verbatim.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    after = []
    if "--" in argv:
        at = argv.index("--")
        argv, after = argv[:at], argv[at + 1:]
    arguments, extras = parser.parse_known_args(argv)
    options = [word for word in extras if word.startswith("-") and word != "-"]
    if not hasattr(arguments, "args"):
        if extras or after:
            parser.error(f"unrecognized arguments: {' '.join(extras + after)}")
        return arguments
    if options:
        parser.error(f"unrecognized option {options[0]!r} for '{arguments.command}'; arguments for the pipeline "
                     f"that start with '-' go after '--' (lester-inspect {arguments.command} ... PIPELINE -- "
                     f"{options[0]} ...)")
    arguments.args = [*arguments.args, *extras, *after]
    return arguments


def tolerant_output() -> None:
    """Our own terminal output: a character the terminal's encoding lacks becomes a backslash escape."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


@contextlib.contextmanager
def users_output():
    """The terminal streams as the user had them (strict, usually) while their pipeline prints."""
    saved = [(stream, stream.errors) for stream in (sys.stdout, sys.stderr) if hasattr(stream, "reconfigure")]
    try:
        for stream, _ in saved:
            stream.reconfigure(errors=_ORIGINAL_ERRORS.get(id(stream), stream.errors))
        yield
    finally:
        for stream, errors in saved:
            stream.reconfigure(errors=errors)


_ORIGINAL_ERRORS = {id(stream): stream.errors for stream in (sys.stdout, sys.stderr) if hasattr(stream, "errors")}


def write_text(path: str, text: str, append: bool = False) -> None:
    """Write ``text`` as UTF-8 (unencodable characters, e.g. lone surrogates, as backslash escapes).

    A new file appears whole or not at all: it is written beside its place and moved there.
    Raises OSError naming the path.
    """
    data = text.encode("utf-8", "backslashreplace")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    if append:
        with open(path, "ab") as handle:
            handle.write(data)
        return
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".lester-inspect-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def pipeline_traceback(error: BaseException) -> str:
    """The exception as ``python pipeline.py`` would print it: lester-inspect's frames left out."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = 0
    for frame in frames:
        if not (frame.filename.startswith(_PACKAGE) or frame.filename.startswith("<frozen runpy")):
            break
        ours += 1
    tb = error.__traceback__
    for _ in range(ours):
        tb = tb.tb_next
    shown = traceback.TracebackException(type(error), error, tb)
    return "".join(shown.format())


def report_pipeline_error(error: BaseException, pipeline: str) -> int:
    """Print the pipeline's exception (its own frames only) and where its partial DAG is; exit code 2."""
    if isinstance(error, SystemExit):
        print(f"lester-inspect: {pipeline} exited with status {error.code}", file=sys.stderr)
        return EXIT_ERROR
    sys.stderr.write(pipeline_traceback(error))
    print(f"lester-inspect: {pipeline} raised {type(error).__name__}; nothing was checked. In Python, the "
          "exception's partial_result holds the DAG up to the failing line (err.partial_result.dag_text()).",
          file=sys.stderr)
    return EXIT_ERROR


def run_command(handler, arguments: argparse.Namespace) -> int:
    """Call a command's handler; a fault of lester-inspect itself is exit code 2 (never 1, a failed check)."""
    try:
        return handler(arguments)
    except KeyboardInterrupt:
        print("lester-inspect: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:  # our own bug: say so plainly, with the traceback to report
        traceback.print_exc(file=sys.stderr)
        print(f"lester-inspect: internal error ({type(error).__name__}: {error}); please report it with the "
              "traceback above", file=sys.stderr)
        return EXIT_ERROR


def main_with(parser: argparse.ArgumentParser, argv: Optional[List[str]] = None) -> int:
    """Parse ``argv`` and run the chosen command's handler, with tolerant output and our exit codes."""
    tolerant_output()
    arguments = parse_arguments(parser, argv)
    return run_command(arguments.handler, arguments)
