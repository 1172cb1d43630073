"""`rewrite_pipeline` end to end: the real openai client, a local chat-completions server, scripted answers.

The messy pipeline is the credit card example's; the scripted answers in
``rewrite_fixtures/answers`` are a correct rewrite, one with a syntax error, one
with a wrong (left) join and one with prose around code blocks. Pipelines run
on a small generated data set, with both runs of a validation in parallel.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from example_generators import load_generator
from lester_inspect import PipelineInspector
from lester_inspect.inspections.capture import ArtifactCapture
from lester_inspect.rewrite import LLMError, OfflineCacheMiss, OriginalPipelineError, RetryPolicy, rewrite_pipeline
from lester_inspect.rewrite.cli import add_rewrite_command, run_rewrite
from lester_inspect.rewrite.sandbox import Limits, child_environment
from lester_inspect.rewrite.sandbox import kill as sandbox_kill
from lester_inspect.rewrite.validation import Validator
from rewrite_fixtures.fake_openai import FakeOpenAIServer, answer, error

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "example_pipelines" / "creditcard"
MESSY = EXAMPLE / "messy_pipeline.py"
ANSWERS = Path(__file__).parent / "rewrite_fixtures" / "answers"
FAST_RETRY = RetryPolicy(max_retries=3, backoff_seconds=0.01, request_timeout=20)
LIMITS = Limits(memory_mb=4096)  # the default 300 s: a pipeline importing torch takes 40 s on a loaded machine
KEPT_COUNTRIES = ["DE", "FR", "GB", "NL"]


def scripted(name):
    return (ANSWERS / f"{name}.md").read_text()


def train_rows(data_dir, how):
    """Rows the model is trained on when mails are joined to the kept customers with ``how``."""
    mails = pd.read_csv(data_dir / "mails.csv")
    customers = pd.read_csv(data_dir / "customers.csv")
    joined = mails[mails["date"] >= "2021-01-01"].merge(customers[customers["country"].isin(KEPT_COUNTRIES)],
                                                        on="customer_id", how=how)
    return len(joined) - math.ceil(0.2 * len(joined))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("creditcard_data")
    load_generator("creditcard").write(folder, 600, seed=3)
    return folder


def run(server, folder, data_dir, messages=None, **options):
    settings = dict(output=folder / "pipeline.py", args=[str(data_dir)], base_url=server.base_url,
                    api_key="test-key", cache_dir=folder / "cache", retry=FAST_RETRY, limits=LIMITS)
    if messages is not None:
        settings["progress"] = messages.append
    settings.update(options)
    return rewrite_pipeline(MESSY, **settings)


@pytest.fixture(scope="module")
def correct(tmp_path_factory, data_dir):
    """One rewrite whose first answer is correct: its folder, result, the requests served and progress."""
    folder = tmp_path_factory.mktemp("correct")
    messages = []
    with FakeOpenAIServer([answer(scripted("correct_rewrite"))]) as server:
        result = run(server, folder, data_dir, messages)
    return folder, result, server.requests, messages


# -- a correct answer ---------------------------------------------------------------------------------------

def test_correct_rewrite_passes_at_the_first_attempt_and_is_written(correct, data_dir):
    folder, result, requests, _ = correct
    assert result.ok and result.passed_attempt == 1 and result.failure is None
    assert len(result.attempts) == 1 and len(requests) == 1
    assert (result.llm_calls, result.cache_hits) == (1, 0)
    rows = train_rows(data_dir, "inner")
    # The scripted rewrite orders the ColumnTransformer differently from the messy feature matrix.
    summary = result.attempts[0].validation.summary
    assert summary == f"{rows} rows x 166 features agree (same row order, columns permuted)"
    assert (folder / "pipeline.py").read_text() == result.code
    code = scripted("correct_rewrite").split("```python\n")[1].split("```")[0]
    assert result.code == code + "\n\n# Rewritten from messy_pipeline.py by `lester-inspect rewrite` (model: gpt-4o).\n"
    attempt = result.attempts[0]
    assert attempt.answer == scripted("correct_rewrite") and not attempt.cached
    assert attempt.completion_tokens == len(scripted("correct_rewrite").split())
    assert attempt.prompt_tokens == sum(len(m["content"].split()) for m in requests[0]["body"]["messages"])
    assert (result.prompt_tokens, result.completion_tokens) == (attempt.prompt_tokens, attempt.completion_tokens)
    assert result.summary().startswith(f"attempt 1 of 1 passed: {rows} rows x 166 features agree")


def test_request_asks_for_the_declarative_parts_with_the_annotated_messy_code(correct):
    _, result, requests, _ = correct
    request = requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer test-key"
    body = request["body"]
    assert body["model"] == "gpt-4o" and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    prompt = body["messages"][1]["content"]
    for required in ["`prepare_data(customers_path, mails_path)`", "`encode_features()`", "`extract_label(df)`",
                     'if __name__ == "__main__":', "no `iterrows`", "# === data preparation ===",
                     "# === feature encoding ===", "# === label extraction ===", "# === model training ===",
                     "customers[parts[0]] = (parts[4], parts[5], parts[6])",
                     "`mails.csv` starts with the header line:\n```\nmail_id,customer_id,date,mail_subject,mail_text,"
                     "sentiment\n```"]:
        assert required in prompt, required
    assert body["messages"] == result.attempts[0].messages


def test_progress_names_step_attempt_and_elapsed_time(correct):
    _, _, _, messages = correct
    assert messages[0].startswith("[") and "setup: sandbox: bubblewrap" in messages[0]
    assert "setup: split messy_pipeline.py: data preparation: lines" in messages[1]
    assert any("attempt 1/4: asking gpt-4o for the rewrite" in m for m in messages)
    assert any("attempt 1/4: running the rewrite in a sandbox" in m for m in messages)
    assert any("attempt 1/4: passed:" in m for m in messages)
    elapsed = [float(m[1:m.index("s]")]) for m in messages]
    assert elapsed == sorted(elapsed)


def test_every_request_is_cached_on_disk(correct):
    folder, result, requests, _ = correct
    entries = list((folder / "cache").rglob("*.json"))
    assert len(entries) == 1
    entry = json.loads(entries[0].read_text())
    assert entries[0].name == f"{entry['key']}.json" and entries[0].parent.name == entry["key"][:2]
    assert entry["request"] == {"model": "gpt-4o", "messages": requests[0]["body"]["messages"],
                                "params": {"temperature": 0}}
    assert entry["response"]["content"] == scripted("correct_rewrite")


def test_rewrite_runs_under_pipeline_inspector_with_join_filters_and_column_transformer(correct, data_dir,
                                                                                      tmp_path):
    folder, _, _, _ = correct
    # In this process, as the user's own Python would run it (a new process would import torch again).
    store = tmp_path / "store"
    inspector = PipelineInspector.on_pipeline(str(folder / "pipeline.py"), args=[str(data_dir)])
    result = inspector.add_inspection(ArtifactCapture(str(store))).execute()
    assert (store / "runs" / ArtifactCapture.run_id_of(result)).is_dir()
    nodes = [[n.operator_type.name, n.function.name, n.description] for n in result.nodes]
    assert ["JOIN", "DataFrame.merge", "Inner join on ['customer_id']"] in nodes
    assert ["SELECTION", "DataFrame.__getitem__", "Select: date >= '2021-01-01'"] in nodes
    assert ["SELECTION", "DataFrame.__getitem__", f"Select: country isin {KEPT_COUNTRIES}"] in nodes
    assert ["CONCATENATION", "ColumnTransformer.fit_transform", "Concatenate ColumnTransformer outputs"] in nodes
    assert ["ESTIMATOR", "TorchMLPClassifier.fit", "TorchMLPClassifier: fit"] in nodes


# -- answers that need repairs ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def repaired(tmp_path_factory, data_dir):
    """One rewrite that needs two repairs: a wrong (left) join, then a syntax error, then the code inside prose.

    One rewrite runs the original once for all three (each run in the sandbox imports torch anew).
    """
    folder = tmp_path_factory.mktemp("repaired")
    replies = [answer(scripted(name)) for name in ("wrong_join", "syntax_error", "prose_around_code")]
    with FakeOpenAIServer(replies) as server:
        result = run(server, folder, data_dir)
    assert result.ok and result.passed_attempt == 3 and result.llm_calls == 3
    return result, [request["body"]["messages"] for request in server.requests]


def test_wrong_join_is_caught_by_the_differential_check_and_repaired(repaired, data_dir):
    result, requests = repaired
    first = result.attempts[0].validation
    inner, left = train_rows(data_dir, "inner"), train_rows(data_dir, "left")
    assert left > inner
    assert first.stage == "compare"
    assert first.summary == f"the model's training data differs: {left} rows instead of {inner}"
    assert (f"- rows: the original passes {inner} rows to TorchMLPClassifier.fit, the rewrite {left} "
            f"({left - inner} more). Check the filters, the join") in first.evidence
    # The left join keeps customers of other countries, whose missing country becomes a one-hot column.
    assert "- feature columns: the original passes 166, the rewrite 167." in first.evidence
    assert first.evidence in requests[1][-1]["content"]
    assert 'how="left"' in result.attempts[0].answer and 'how="left"' not in result.code


def test_syntax_error_is_reported_with_its_line_and_repaired(repaired):
    result, requests = repaired
    second = result.attempts[1].validation
    assert second.stage == "static" and not second.passed
    assert second.evidence.startswith(
        "- line 40: syntax error: '(' was never closed\n        return ColumnTransformer(")
    repair = requests[2]
    assert repair[:4] == requests[1]
    assert repair[4] == {"role": "assistant", "content": scripted("syntax_error")}
    assert repair[5]["role"] == "user" and "failed validation at the static check" in repair[5]["content"]
    assert second.evidence in repair[5]["content"]


def test_code_blocks_are_taken_out_of_prose(repaired):
    result, _ = repaired
    assert result.attempts[2].validation.passed
    assert "Sure!" not in result.code and "python pipeline.py data/" not in result.code
    assert result.code.index("def prepare_data") < result.code.index("class NumWords") < result.code.index(
        "def extract_label") < result.code.index('if __name__ == "__main__":')


def test_no_passing_attempt_reports_why_and_writes_nothing(tmp_path, data_dir):
    replies = [answer(scripted("syntax_error")), answer(scripted("syntax_error"))]
    with FakeOpenAIServer(replies) as server:
        result = run(server, tmp_path, data_dir, max_repairs=1)
    assert not result.ok and result.code is None and result.passed_attempt is None
    assert [a.validation.stage for a in result.attempts] == ["static", "static"]
    assert result.failure == ("attempt 2 failed at the static check: 1 static problem(s), first: line 40: syntax "
                              "error: '(' was never closed")
    assert not (tmp_path / "pipeline.py").exists()
    assert len(server.requests) == 2


def test_truncated_answer_is_sent_back_as_cut_off(tmp_path, data_dir):
    with FakeOpenAIServer([answer("Here is the rewrite:\n\n```python\nimport pandas as pd\n\n\ndef prepare_d",
                                  finish_reason="length")]) as server:
        result = run(server, tmp_path, data_dir, max_repairs=0)
    validation = result.attempts[0].validation
    assert validation.stage == "static"
    assert validation.evidence.endswith("- the answer was cut off at the length limit; answer with the complete "
                                        "script only, no prose")


# -- the endpoint ---------------------------------------------------------------------------------------------

def test_rate_limit_and_server_errors_are_retried_with_backoff(tmp_path, data_dir):
    messages = []
    replies = [error(429, "Rate limit reached for gpt-4o", headers={"Retry-After": "0"}),
               error(503, "The server is overloaded"), answer(scripted("syntax_error"))]
    with FakeOpenAIServer(replies) as server:
        result = run(server, tmp_path, data_dir, messages, max_repairs=0)
    assert len(server.requests) == 3 and result.llm_calls == 1
    assert result.attempts[0].answer == scripted("syntax_error")
    retries = [m for m in messages if "retrying" in m]
    assert len(retries) == 2
    assert "HTTP 429 (Rate limit reached for gpt-4o)" in retries[0] and "retrying in 0.0 s (retry 1 of 3)" in retries[0]
    assert "HTTP 503 (The server is overloaded)" in retries[1] and "retrying in 0.0 s (retry 2 of 3)" in retries[1]


def test_authentication_error_stops_at_once(tmp_path, data_dir, monkeypatch):
    from lester_inspect.rewrite import validation

    killed = []
    monkeypatch.setattr(validation, "kill", lambda process: killed.append(process) or sandbox_kill(process))
    with FakeOpenAIServer([error(401, "Incorrect API key provided: test-key", code="invalid_api_key")]) as server:
        with pytest.raises(LLMError) as raised:
            run(server, tmp_path, data_dir)
    assert len(server.requests) == 1
    assert str(raised.value) == (f"{server.base_url}: authentication failed (HTTP 401: Incorrect API key provided: "
                                 "test-key); check OPENAI_API_KEY")
    assert raised.value.partial_result.attempts == []
    # The original's run (seconds of work) was still going when the error came: it is killed, not waited for.
    assert killed, "the original's run must be stopped, not waited for"


def test_unknown_model_stops_at_once(tmp_path, data_dir):
    reply = error(404, "The model `gpt-9` does not exist or you do not have access to it.", code="model_not_found")
    with FakeOpenAIServer([reply]) as server:
        with pytest.raises(LLMError, match=r"model 'gpt-9' not found \(HTTP 404: The model `gpt-9` does not exist"):
            run(server, tmp_path, data_dir, model="gpt-9")
    assert len(server.requests) == 1


def test_retries_run_out(tmp_path, data_dir):
    with FakeOpenAIServer([error(500, "boom")] * 4) as server:
        with pytest.raises(LLMError, match=r"giving up after 4 attempts; the last one failed with HTTP 500 \(boom\)"):
            run(server, tmp_path, data_dir)
    assert len(server.requests) == 4


def test_offline_with_a_cold_cache_fails_without_calling_the_network(tmp_path, data_dir):
    with FakeOpenAIServer([answer(scripted("correct_rewrite"))]) as server:
        with pytest.raises(OfflineCacheMiss, match="offline, and the cache .* has no answer for this request"):
            run(server, tmp_path, data_dir, offline=True)
    assert server.requests == []


def test_original_that_fails_on_its_own_is_reported(tmp_path):
    broken = tmp_path / "messy.py"
    broken.write_text("rows = open('missing.csv').read()\n")
    validator = Validator(broken, tmp_path / "pipeline.py", limits=LIMITS)
    with pytest.raises(OriginalPipelineError) as raised:
        validator.reference()
    message = str(raised.value)
    assert message.startswith(f"{broken} fails on its own, so there is nothing to compare a rewrite with:\n")
    assert "FileNotFoundError: [Errno 2] No such file or directory: 'missing.csv'" in message
    assert f'File "{broken}", line 1, in <module>' in message


# -- the command line -------------------------------------------------------------------------------------------

def parse(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="lester-inspect")
    add_rewrite_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_command_line_options():
    arguments = parse(["rewrite", "messy.py", "data", "-o", "out.py", "--model", "m", "--base-url", "http://x/v1",
                       "--max-repairs", "1", "--cache", "c", "--offline", "--sample", "50", "--timeout", "9",
                       "--memory-limit", "512", "--strict-column-order", "-q"])
    assert (arguments.pipeline, arguments.args, arguments.output) == ("messy.py", ["data"], "out.py")
    assert (arguments.model, arguments.base_url, arguments.max_repairs, arguments.cache) == ("m", "http://x/v1", 1, "c")
    assert arguments.offline and arguments.strict_column_order and arguments.quiet
    assert (arguments.sample, arguments.timeout, arguments.memory_limit) == (50, 9.0, 512)
    assert arguments.handler is run_rewrite
    defaults = parse(["rewrite", "messy.py", "-o", "out.py"])
    assert (defaults.args, defaults.model, defaults.max_repairs, defaults.offline) == ([], None, 3, False)
    with pytest.raises(SystemExit):
        parse(["rewrite", "messy.py", "-o", "out.py", "--max-repairs", "-1"])


def test_command_line_exit_status_when_the_rewrite_cannot_start(tmp_path, capsys):
    missing = parse(["rewrite", str(tmp_path / "nope.py"), "-o", str(tmp_path / "out.py"), "-q"])
    assert run_rewrite(missing) == 2
    assert "No such file or directory" in capsys.readouterr().err
    cold = parse(["rewrite", str(MESSY), "-o", str(tmp_path / "out.py"), "--offline", "--cache",
                  str(tmp_path / "cache"), "-q"])
    assert run_rewrite(cold) == 2
    assert "offline, and the cache" in capsys.readouterr().err
    assert not (tmp_path / "out.py").exists()


def test_rerun_with_a_warm_cache_makes_no_network_call_and_draws_a_bar_on_a_terminal(correct, data_dir, tmp_path):
    from test_progress import run_command

    folder, first, _, _ = correct
    with FakeOpenAIServer([]) as server:
        stdout, drawn = run_command([sys.executable, "-m", "lester_inspect.rewrite.cli", "rewrite", str(MESSY),
                                     str(data_dir), "-o", str(tmp_path / "pipeline.py"), "--base-url",
                                     server.base_url, "--cache", str(folder / "cache")], stderr_is_a_terminal=True)
    assert server.requests == []
    assert (tmp_path / "pipeline.py").read_text() == first.code
    assert stdout.startswith(f"{tmp_path / 'pipeline.py'}: attempt 1 of 1 passed:")
    assert "; 1 request(s): 0 sent, 1 from the cache;" in stdout
    # A bar of attempts showing the latest step, and the messages still written above it.
    assert "rewrite messy_pipeline.py:" in drawn and "/4 [" in drawn and "attempt/s" in drawn and "validating" in drawn
    assert any("lester-inspect rewrite: [" in line and "attempt 1/4: answer from the cache" in line
               for line in drawn.split("\n"))


def test_command_line_module_reports_failed_attempts(tmp_path, data_dir):
    replies = [answer(scripted("syntax_error")), answer(scripted("syntax_error"))]
    environment = dict(child_environment(), OPENAI_API_KEY="test-key")
    with FakeOpenAIServer(replies) as server:
        process = subprocess.run(
            [sys.executable, "-m", "lester_inspect.rewrite.cli", "rewrite", str(MESSY), str(data_dir), "-o",
             str(tmp_path / "pipeline.py"), "--base-url", server.base_url, "--cache", str(tmp_path / "cache"),
             "--max-repairs", "1", "--model", "local-model"],
            capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120)
    assert process.returncode == 1, process.stderr
    assert [r["body"]["model"] for r in server.requests] == ["local-model", "local-model"]
    assert server.requests[0]["headers"]["authorization"] == "Bearer test-key"
    prompt_tokens = sum(len(m["content"].split()) for r in server.requests for m in r["body"]["messages"])
    tokens = prompt_tokens + 2 * len(scripted("syntax_error").split())
    problem = "1 static problem(s), first: line 40: syntax error: '(' was never closed"
    assert process.stderr.splitlines()[-3:] == [
        f"lester-inspect rewrite: no rewrite passed validation: attempt 2 failed at the static check: {problem}"
        f"; 2 request(s): 2 sent, 0 from the cache; {tokens} tokens",
        f"  attempt 1: static: {problem}",
        f"  attempt 2: static: {problem}",
    ]
    assert process.stdout == "" and not (tmp_path / "pipeline.py").exists()
    # In a pipe no bar is drawn: every line is a message.
    assert all(line.startswith(("lester-inspect rewrite: ", "  attempt ")) for line in process.stderr.splitlines())
