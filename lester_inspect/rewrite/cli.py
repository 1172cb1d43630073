"""The ``lester-inspect rewrite`` sub-command: a thin layer over :func:`lester_inspect.rewrite.rewrite_pipeline`.

Exit status: 0 when a rewrite passed validation (and was written), 1 when no
attempt passed, 2 when the rewrite could not be tried (missing file, no
sandbox, the original fails, the endpoint refuses, an offline cache miss).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def add_rewrite_command(subparsers) -> None:
    """Add ``rewrite`` to the ``lester-inspect`` sub-commands."""
    parser = subparsers.add_parser(
        "rewrite", help="rewrite a messy pipeline into validated declarative pandas + scikit-learn code",
        description="Rewrite a messy pipeline into declarative pandas + scikit-learn code with an LLM, and "
                    "validate each rewrite by running both scripts on the same inputs and comparing what their "
                    "model is trained on. ARGS right after the script are passed to both scripts (put options "
                    "first and ARGS after -- if an argument starts with a dash).",
        usage="lester-inspect rewrite MESSY.py [ARGS ...] -o OUTPUT.py [options]")
    parser.add_argument("pipeline", help="the messy pipeline script")
    parser.add_argument("args", nargs="*", help="command-line arguments for both pipelines, e.g. a data folder")
    parser.add_argument("-o", "--output", required=True, help="where to write the validated rewrite")
    parser.add_argument("--model", help="model name (default: gpt-4o)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, else OpenAI)")
    parser.add_argument("--max-repairs", type=_non_negative, default=3, metavar="N",
                        help="repair requests after a failed validation (default: 3)")
    parser.add_argument("--cache", metavar="DIR", help="response cache (default: ~/.cache/lester-inspect/llm)")
    parser.add_argument("--offline", action="store_true", help="use only cached answers, never the network")
    parser.add_argument("--sample", type=_positive, metavar="ROWS",
                        help="validate on the first ROWS rows of each input file")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="time limit of each pipeline run (default: 300)")
    parser.add_argument("--memory-limit", type=_positive, default=4096, metavar="MB",
                        help="memory limit of each pipeline run (default: 4096)")
    parser.add_argument("--strict-column-order", action="store_true",
                        help="require the feature columns in the original order")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="where bubblewrap cannot isolate the pipelines, run the generated code anyway, with only "
                             "an allow-listed environment, limits and a scratch working directory")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    parser.set_defaults(handler=run_rewrite)


def run_rewrite(arguments: argparse.Namespace) -> int:
    from lester_inspect.rewrite.client import DEFAULT_MODEL
    from lester_inspect.rewrite.errors import RewriteError
    from lester_inspect.rewrite.repair_loop import rewrite_pipeline
    from lester_inspect.rewrite.sandbox import Limits

    progress = None if arguments.quiet else _print_progress
    if arguments.quiet and arguments.unsafe_no_sandbox:
        from lester_inspect.rewrite.sandbox import isolation

        isolated = isolation()
        if not isolated.available:
            # Said even with -q: the user must know generated code runs unisolated.
            print(f"lester-inspect rewrite: WARNING: no sandbox ({isolated.description}); running generated "
                  f"code without isolation, as --unsafe-no-sandbox asks", file=sys.stderr)
    try:
        result = rewrite_pipeline(
            arguments.pipeline, output=arguments.output, args=arguments.args,
            model=arguments.model or DEFAULT_MODEL, base_url=arguments.base_url,
            max_repairs=arguments.max_repairs, cache_dir=arguments.cache, offline=arguments.offline,
            limits=Limits(arguments.timeout, arguments.memory_limit, arguments.sample),
            allow_column_permutation=not arguments.strict_column_order, progress=progress,
            unsafe_no_sandbox=arguments.unsafe_no_sandbox)
    except (RewriteError, OSError, SyntaxError) as error:
        print(f"lester-inspect rewrite: {error}", file=sys.stderr)
        return 2
    if result.ok:
        print(f"{arguments.output}: {result.summary()}")
        return 0
    print(f"lester-inspect rewrite: {result.summary()}", file=sys.stderr)
    for attempt in result.attempts:
        print(f"  attempt {attempt.number}: {attempt.validation.stage}: {attempt.validation.summary}",
              file=sys.stderr)
    return 1


def _print_progress(message: str) -> None:
    from lester_inspect.progress import say

    say(f"lester-inspect rewrite: {message}")


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m lester_inspect.rewrite.cli rewrite ...``, the same command without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="lester-inspect")
    add_rewrite_command(parser.add_subparsers(dest="command", required=True))
    arguments = parser.parse_args(argv)
    return arguments.handler(arguments)


if __name__ == "__main__":
    sys.exit(main())
