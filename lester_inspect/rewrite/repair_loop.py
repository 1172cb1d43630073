"""The rewrite: ask for a declarative script, validate it, feed the evidence back, at most ``max_repairs`` times."""
from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence

from lester_inspect.progress import steps
from lester_inspect.rewrite.answers import NoCodeError, assemble, extract_code
from lester_inspect.rewrite.cache import ResponseCache
from lester_inspect.rewrite.client import DEFAULT_MODEL, ChatClient, Completion, RetryPolicy
from lester_inspect.rewrite.compare import Tolerance
from lester_inspect.rewrite.errors import RewriteError, SandboxUnavailable
from lester_inspect.rewrite.prompts import repair_messages, rewrite_messages
from lester_inspect.rewrite.sandbox import Limits, isolation
from lester_inspect.rewrite.split import PipelineSplit, split_pipeline
from lester_inspect.rewrite.validation import Validation, Validator


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One request to the model and the validation of its answer (attempt 1 is the rewrite, then repairs)."""

    number: int
    messages: List[Dict[str, str]]
    answer: str
    code: Optional[str]
    validation: Validation
    cached: bool
    prompt_tokens: int
    completion_tokens: int
    seconds: float


@dataclasses.dataclass(frozen=True)
class RewriteResult:
    """Everything a rewrite did: the validated code (or why there is none), each attempt, and the LLM costs.

    ``llm_calls`` counts requests that went over the network, ``cache_hits``
    those answered from the cache; the token counts cover all answers used,
    cached or not.
    """

    source_path: str
    output_path: Optional[str]
    split: PipelineSplit
    attempts: List[Attempt]
    code: Optional[str]
    passed_attempt: Optional[int]
    failure: Optional[str]
    llm_calls: int
    cache_hits: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.passed_attempt is not None

    @property
    def prompt_tokens(self) -> int:
        return sum(a.prompt_tokens for a in self.attempts)

    @property
    def completion_tokens(self) -> int:
        return sum(a.completion_tokens for a in self.attempts)

    def summary(self) -> str:
        calls = (f"{len(self.attempts)} request(s): {self.llm_calls} sent, {self.cache_hits} from the cache; "
                 f"{self.prompt_tokens + self.completion_tokens} tokens")
        if self.ok:
            passed = self.attempts[self.passed_attempt - 1].validation
            return f"attempt {self.passed_attempt} of {len(self.attempts)} passed: {passed.summary}; {calls}"
        return f"no rewrite passed validation: {self.failure}; {calls}"


def rewrite_pipeline(path: str, *, output: Optional[str] = None, args: Sequence[str] = (),
                     model: str = DEFAULT_MODEL, base_url: Optional[str] = None, api_key: Optional[str] = None,
                     max_repairs: int = 3, cache_dir: Optional[str] = None, offline: bool = False,
                     limits: Limits = Limits(), tolerance: Tolerance = Tolerance(),
                     allow_column_permutation: bool = True, retry: RetryPolicy = RetryPolicy(),
                     progress: Optional[Callable[[str], None]] = None, unsafe_no_sandbox: bool = False,
                     cwd: Optional[str] = None) -> RewriteResult:
    """Rewrite the messy pipeline at ``path`` into declarative pandas + scikit-learn code, validated.

    Parameters
    ----------
    path : str
        The messy pipeline script.
    output : str, optional
        Where to write the validated rewrite (default: nowhere). Candidates run as
        if they were a file of this name (default ``rewritten_<name>``) next to
        ``path``, so that paths relative to the script find the same inputs.
    args : sequence of str
        Command-line arguments for both pipelines; those naming existing files or
        folders (relative to ``cwd``) are made absolute.
    model, base_url, api_key : str
        The LLM; ``base_url`` and ``api_key`` default to ``OPENAI_BASE_URL`` and
        ``OPENAI_API_KEY``.
    max_repairs : int
        Repair requests after the first answer fails validation.
    cache_dir : str, optional
        The response cache (default: see :mod:`lester_inspect.rewrite.cache`).
    offline : bool
        Use only cached answers.
    limits, tolerance, allow_column_permutation, retry
        Sandbox limits, the comparison rule and the retries of transient API errors.
    progress : callable, optional
        Receives progress messages (step, attempt, elapsed time).
    unsafe_no_sandbox : bool
        Run the pipelines even where there is no strong isolation (see
        :mod:`~lester_inspect.rewrite.sandbox`); without it such a machine raises
        :class:`SandboxUnavailable` before anything is asked or run.
    cwd : str, optional
        The working directory the pipelines see (default: ours); their relative
        paths are resolved from it.

    Returns
    -------
    RewriteResult

    Raises
    ------
    RewriteError
        If there is no sandbox (:class:`SandboxUnavailable`), the original fails on its own, the endpoint refuses (authentication,
        unknown model), retries run out, or an offline request is not cached. The
        exception's ``partial_result`` holds the attempts made until then.
    """
    if max_repairs < 0:
        raise ValueError(f"max_repairs must be 0 or more, got {max_repairs}")
    started = time.monotonic()
    isolated = isolation()
    if not isolated.available and not unsafe_no_sandbox:
        raise SandboxUnavailable(f"no strong isolation for the generated code on this machine: "
                                 f"{isolated.description}. Nothing was run. Pass --unsafe-no-sandbox "
                                 f"(unsafe_no_sandbox=True) to run it with only an allow-listed environment, "
                                 f"resource limits and a scratch working directory.")
    cwd = os.path.abspath(cwd or os.getcwd())
    path = os.path.abspath(path)
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    split = split_pipeline(source, path)
    # Next to the original, so that paths relative to the script find the same inputs.
    run_as = os.path.join(os.path.dirname(path), os.path.basename(output or f"rewritten_{os.path.basename(path)}"))
    total = max_repairs + 1
    report = _Progress(progress, started, total)
    if isolated.available:
        report(f"sandbox: {isolated.description}")
    else:
        report(f"WARNING: no sandbox ({isolated.description}); running generated code with only an allow-listed "
               f"environment, limits and a scratch working directory, as --unsafe-no-sandbox asks")
    args = [_absolute_if_exists(a, cwd) for a in args]
    cache = ResponseCache(cache_dir)
    # Made now, so that the sandbox can mask it if it lies under an input (a later one would show).
    os.makedirs(cache.directory, mode=0o700, exist_ok=True)
    validator = Validator(path, run_as, args, limits, tolerance, allow_column_permutation, report, cwd=cwd,
                          hidden=[cache.directory], unsafe=not isolated.available)
    client = ChatClient(model, base_url=base_url, api_key=api_key, cache=cache, offline=offline, retry=retry,
                        progress=report)
    report(f"split {os.path.basename(path)}: {split.describe() or 'no model fit found'}")
    attempts: List[Attempt] = []

    def result(code=None, passed=None, failure=None) -> RewriteResult:
        return RewriteResult(path, output, split, list(attempts), code, passed, failure, client.network_calls,
                             client.cache_hits, time.monotonic() - started)

    messages = rewrite_messages(split, path, args)
    try:
        with steps(total, f"rewrite {os.path.basename(path)}", unit="attempt") as bar:
            report.bar = bar
            validator.start()
            for number in range(1, total + 1):
                report.attempt = number
                bar.step(f"attempt {number}")
                attempt_started = time.monotonic()
                report(f"asking {model}" + (" for a repair" if number > 1 else " for the rewrite"))
                completion = client.complete(messages)
                report(f"answer {'from the cache' if completion.cached else 'received'} "
                       f"({completion.completion_tokens} tokens); validating")
                code, validation = _validate_answer(completion, validator, os.path.basename(path), model)
                attempts.append(Attempt(number, messages, completion.content, code, validation, completion.cached,
                                        completion.prompt_tokens, completion.completion_tokens,
                                        time.monotonic() - attempt_started))
                report(("passed: " if validation.passed else f"failed at {validation.stage}: ") + validation.summary)
                if validation.passed:
                    if output:
                        _write_atomically(output, code)
                        report(f"wrote {output}")
                    return result(code, number)
                messages = repair_messages(messages, completion.content, validation.stage, validation.evidence)
    except RewriteError as error:
        error.partial_result = result(failure=str(error))
        raise
    finally:
        report.bar = None
        validator.close()
    last = attempts[-1].validation
    return result(failure=f"attempt {len(attempts)} failed at the {last.stage} check: {last.summary}")


class _Progress:
    """Passes messages on, prefixed with the elapsed time and the current attempt; the bar of attempts drawn on a
    terminal (``lester_inspect.progress``) shows the latest."""

    def __init__(self, say: Optional[Callable[[str], None]], started: float, total: int):
        self.say = say
        self.started = started
        self.total = total
        self.attempt = 0
        self.bar = None

    def __call__(self, message: str) -> None:
        if self.bar is not None:
            self.bar.note(message.splitlines()[0][:60] if message else "")
        if self.say is not None:
            where = f"attempt {self.attempt}/{self.total}" if self.attempt else "setup"
            self.say(f"[{time.monotonic() - self.started:6.1f}s] {where}: {message}")


def _validate_answer(completion: Completion, validator: Validator, original_name: str, model: str):
    try:
        code = assemble(extract_code(completion.content), original_name, model)
    except NoCodeError as error:
        evidence = str(error)
        if completion.finish_reason == "length":
            evidence += " (the answer was cut off at the length limit: answer with the script only)"
        return None, Validation(False, "answer", evidence, evidence)
    validation = validator.validate(code)
    if not validation.passed and completion.finish_reason == "length":
        validation = dataclasses.replace(validation, evidence=validation.evidence + "\n- the answer was cut off "
                                         "at the length limit; answer with the complete script only, no prose")
    return code, validation


def _absolute_if_exists(argument: str, cwd: str) -> str:
    absolute = os.path.join(cwd, argument)
    return os.path.normpath(absolute) if os.path.exists(absolute) else argument


def _write_atomically(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".rewrite-", suffix=".py", dir=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
