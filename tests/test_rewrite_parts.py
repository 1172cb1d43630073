"""The parts of the rewrite: split, answer extraction, static checks, the comparison rule, cache and sandbox."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lester_inspect.rewrite.answers import NoCodeError, assemble, code_blocks, extract_code
from lester_inspect.rewrite.cache import ResponseCache, request_key
from lester_inspect.rewrite.client import ChatClient, RetryPolicy
from lester_inspect.rewrite.errors import OfflineCacheMiss
from lester_inspect.rewrite.compare import FitInputs, Tolerance, compare_fit_inputs
from lester_inspect.rewrite.prompts import input_headers
from lester_inspect.rewrite.sandbox import Limits, Sandbox, child_environment, run_captured, sandbox_inputs
from lester_inspect.rewrite.split import split_pipeline
from lester_inspect.rewrite.static_checks import check_static
from rewrite_fixtures.fake_openai import FakeOpenAIServer, answer

REPO = Path(__file__).resolve().parents[1]
MESSY = REPO / "example_pipelines" / "creditcard" / "messy_pipeline.py"
PARAMS = {"epochs": "10", "random_state": "0"}


# -- split -------------------------------------------------------------------------------------------------

def part_of(split, snippet):
    """The part of the statement whose first line contains ``snippet``."""
    lines = split.source.splitlines()
    (statement,) = [s for s in split.statements if snippet in lines[s.lineno - 1]]
    return statement.part


def test_split_of_the_messy_credit_card_pipeline():
    split = split_pipeline(MESSY.read_text(), str(MESSY))
    assert split.input_files == ("customers.csv", "mails.csv")
    assert split.fit_line == MESSY.read_text().splitlines().index("model.fit(X_train, y_train)") + 1
    expected = {
        "import numpy as np": "setup",
        "if len(sys.argv) > 1:": "data preparation",
        "customers = {}": "data preparation",
        "for line in lines[1:]:": "data preparation",
        "for line in f:": "data preparation",
        "perm = rng.permutation(len(rows))": "data preparation",
        "train = [rows[i] for i in perm[n_test:]]": "data preparation",
        "def hash_words(texts, n):": "feature encoding",
        "countries = sorted(set([r[2] for r in train]))": "feature encoding",
        "def features(rs):": "feature encoding",
        "X_train = features(train)": "feature encoding",
        "X_test = features(test)": "feature encoding",
        "y_train = np.array(": "label extraction",
        "y_test = np.array(": "label extraction",
        "model = TorchMLPClassifier(": "model training",
        "model.fit(X_train, y_train)": "model training",
        "accuracy = np.mean(": "model training",
        'print(f"Test accuracy': "model training",
    }
    assert {snippet: part_of(split, snippet) for snippet in expected} == expected
    annotated = split.annotated()
    assert annotated.count("# === data preparation ===") == 1
    # The marker goes above the comment that introduces the first statement of a part.
    assert "# === data preparation ===\nif len(sys.argv) > 1:" in annotated
    assert "# === feature encoding ===\ndef hash_words(texts, n):" in annotated
    assert annotated.replace("# === data preparation ===\n", "").count("===") == 2 * annotated.count("# === ") - 2


def test_split_of_a_main_function_and_of_a_script_without_fit():
    code = textwrap.dedent("""
        import pandas as pd

        def main():
            df = pd.read_csv("a.csv")
            df = df[df.x > 0]
            X = df[["x"]]
            y = df["y"]
            model = Model()
            model.fit(X, y)

        if __name__ == "__main__":
            main()
    """)
    split = split_pipeline(code)
    assert [s.part for s in split.statements] == ["data preparation", "data preparation", "feature encoding",
                                                  "label extraction", "model training", "model training"]
    assert split.describe() == ("data preparation: lines 5-6; feature encoding: line 7; label extraction: line 8; "
                                "model training: lines 9-10")
    no_fit = split_pipeline("import os\nprint(os.getcwd())\n")
    assert [s.part for s in no_fit.statements] == ["setup", "pipeline"] and no_fit.fit_line is None


def test_input_headers_are_looked_up_in_argument_folders_then_next_to_the_script(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "given").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x,y\n1,2\n")
    (tmp_path / "data" / "b.csv").write_text("default\n")
    (tmp_path / "given" / "b.csv").write_text("p,q\r\nsecret,row\n")
    headers = input_headers(["a.csv", "b.csv", "c.csv"], str(tmp_path / "messy.py"), [str(tmp_path / "given")])
    assert headers == {"a.csv": "x,y", "b.csv": "p,q"}


# -- answers -----------------------------------------------------------------------------------------------

def test_code_blocks_skip_other_languages_and_run_to_the_end_when_unclosed():
    text = "Intro\n```python\na = 1\n```\ntext\n```bash\nls\n```\n```\nb = 2\n```\n```py\nc = 3"
    assert code_blocks(text) == ["a = 1", "b = 2", "c = 3"]


def test_extract_code_prefers_a_complete_script_and_joins_parts_otherwise():
    complete = "def prepare_data(p): pass\ndef encode_features(): pass\ndef extract_label(df): pass"
    answer = f"First a sketch:\n```python\ndef prepare_data(p): pass\n```\nThe script:\n```python\n{complete}\n```"
    assert extract_code(answer) == complete + "\n"
    parts = "```python\nimport os\n```\nthen\n```python\nx = os.sep\n```"
    assert extract_code(parts) == "import os\n\n\nx = os.sep\n"
    assert extract_code("def f():\n    return 1\n") == "def f():\n    return 1\n"
    with pytest.raises(NoCodeError):
        extract_code("Sorry")
    with pytest.raises(NoCodeError, match="no ```python code block"):
        extract_code("I cannot help with that.")


def test_assemble_calls_main_and_notes_the_provenance_last():
    code = assemble("def main():\n    pass\n", "messy.py", "m")
    assert code == ('def main():\n    pass\n\n\nif __name__ == "__main__":\n    main()\n\n\n'
                    "# Rewritten from messy.py by `lester-inspect rewrite` (model: m).\n")
    guarded = 'def main():\n    pass\n\nif __name__ == "__main__":\n    main()\n'
    assert assemble(guarded, "messy.py", "m").count("__main__") == 1
    assert assemble(guarded, "messy.py", "m").startswith(guarded)


# -- static checks -----------------------------------------------------------------------------------------

VALID = textwrap.dedent("""
    import pandas as pd
    from sklearn.compose import ColumnTransformer


    class Lengths:
        def transform(self, X):
            return [[len(value)] for value in X["title"]]


    def prepare_data(mails_path):
        df = pd.read_csv(mails_path)
        df["title"] = df["subject"].str.lower()
        return df


    def encode_features():
        return ColumnTransformer([])


    def extract_label(df):
        return df["label"]


    if __name__ == "__main__":
        data = prepare_data("mails.csv")
        for column in data.columns:
            print(column)
""")


def problems(code):
    return [str(problem) for problem in check_static(code, "candidate.py")]


def test_a_valid_candidate_has_no_static_problems():
    assert problems(VALID) == []


@pytest.mark.parametrize("change, expected", [
    (("def encode_features():", "def encode_features_(x):"),
     "the script defines no top-level function `encode_features`"),
    (("def extract_label(df):", "def extract_label():"),
     "line 21: `extract_label(df)` must take the DataFrame as its argument"),
    (("df = pd.read_csv(mails_path)", "df = pd.DataFrame(open(mails_path).readlines())"),
     "line 11: `prepare_data` must read its inputs with `pd.read_csv`"),
    (('if __name__ == "__main__":', "if True:"),
     "line 25: runs the pipeline when the script is imported; move it into the "
     '`if __name__ == "__main__":` block'),
    (("import pandas as pd", "import pandas as pd\nimport lester"),
     "line 3: module `lester` cannot be imported (it is not installed); use pandas, numpy and scikit-learn"),
    (('df["title"] = df["subject"].str.lower()', 'df["title"] = [s.lower() for s in df["subject"]]'),
     "line 13: `[s.lower() for s in df[\"subject\"]]` loops over the rows of a DataFrame; use vectorised pandas "
     "operations instead (selections, merge, one assignment per new column)"),
    (('return df["label"]', 'return [row.label for row in df.itertuples()]'),
     "line 22: `[row.label for row in df.itertuples()]` loops over the rows of a DataFrame; use vectorised pandas "
     "operations instead (selections, merge, one assignment per new column)"),
    (("for column in data.columns:", "for i in range(len(data)):"),
     "line 27: `for i in range(len(data)):` loops over the rows of a DataFrame; use vectorised pandas "
     "operations instead (selections, merge, one assignment per new column)"),
    (('df["title"] = df["subject"].str.lower()', 'df["title"] = df.apply(lambda r: r.subject.lower(), axis=1)'),
     "line 13: `df.apply(lambda r: r.subject.lower(), axis=1)` calls a Python function per row; use vectorised "
     "pandas operations instead (selections, merge, one assignment per new column)"),
])
def test_static_problems(change, expected):
    old, new = change
    assert old in VALID
    assert expected in problems(VALID.replace(old, new))


def test_syntax_error_names_line_and_column():
    (problem,) = problems(VALID.replace("def encode_features():", "def encode_features(:"))
    assert problem == "line 17: syntax error: invalid syntax\n    def encode_features(:\n                        ^"


# -- the comparison rule -----------------------------------------------------------------------------------

def inputs(X, y, params=PARAMS, names=()):
    return FitInputs(np.asarray(X, dtype=float), np.asarray(y), "Model", dict(params), tuple(names))


@pytest.fixture(scope="module")
def matrix():
    rng = np.random.default_rng(0)
    onehot = np.eye(3)[rng.integers(0, 3, 200)]
    scaled = rng.normal(size=(200, 1))
    hashed = rng.integers(-2, 3, size=(200, 5)) / 3.0
    return np.hstack([onehot, scaled, hashed]), rng.integers(0, 2, 200)


def test_rows_and_columns_in_any_order_agree(matrix):
    X, y = matrix
    rows, columns = np.random.default_rng(1).permutation(200), [4, 5, 0, 6, 1, 7, 8, 3, 2]
    result = compare_fit_inputs(inputs(X, y), inputs(X[rows][:, columns], y[rows]))
    assert result.equal and result.summary == "200 rows x 9 features agree (rows reordered, columns permuted)"
    assert result.column_map == tuple(columns)
    same = compare_fit_inputs(inputs(X, y), inputs(X.copy(), y.copy()))
    assert same.equal and same.summary == "200 rows x 9 features agree, in the same order"


def test_strict_column_order_rejects_a_permutation(matrix):
    X, y = matrix
    result = compare_fit_inputs(inputs(X, y), inputs(X[:, [1, 0, 2, 3, 4, 5, 6, 7, 8]], y),
                                allow_column_permutation=False)
    assert not result.equal
    assert result.differences[0] == ("feature columns of the rewrite that equal no column of the original (rows "
                                     "compared in canonical order): 2 of 9, namely 0, 1.")
    assert "the columns must keep the original order" in result.evidence()


def test_tolerance_is_relative_to_the_original(matrix):
    X, y = matrix
    inside, outside = X.copy(), X.copy()
    inside[:, 3] *= 1 + 0.9e-5
    outside[:, 3] *= 1 + 1.1e-5
    assert compare_fit_inputs(inputs(X, y), inputs(inside, y)).equal
    result = compare_fit_inputs(inputs(X, y), inputs(outside, y))
    assert not result.equal and result.summary == "different feature values"
    assert result.differences[0].endswith("columns in any order): 1 of 9, namely 3.")
    assert result.differences[1].startswith("rewrite column 3 (min ") and "differs from original column 3" in \
        result.differences[1] and result.differences[1].endswith("; no original column has its values.")
    assert compare_fit_inputs(inputs(X, y), inputs(outside, y), Tolerance(rtol=1e-4)).equal


def test_nan_equals_nan_and_labels_compare_as_numbers():
    X = np.array([[np.nan, 1.0], [2.0, 3.0]])
    assert compare_fit_inputs(inputs(X, [0, 1]), inputs(X[::-1], np.array([True, False]))).equal
    strings = compare_fit_inputs(inputs(X, [0, 1]), inputs(X, ["negative", "positive"]))
    assert strings.differences == ("labels: the original has 0 x 1, 1 x 1, the rewrite 'negative' x 1, "
                                   "'positive' x 1.",)


def test_row_count_difference_shows_the_unmatched_rows(matrix):
    X, y = matrix
    result = compare_fit_inputs(inputs(X, y), inputs(np.vstack([X, X[:2] + 5]), np.concatenate([y, y[:2]])))
    assert result.summary == "202 rows instead of 200"
    assert result.differences[0].startswith("rows: the original passes 200 rows to Model.fit, the rewrite 202 "
                                            "(2 more).")
    assert result.differences[2].startswith("rows of the rewrite without an equal row in the original: 2, e.g. "
                                            "row 200: ")


def test_swapped_labels_are_found_in_their_rows(matrix):
    X, y = matrix
    swapped = y.copy()
    first_one, first_zero = np.flatnonzero(y == 1)[0], np.flatnonzero(y == 0)[0]
    swapped[[first_one, first_zero]] = swapped[[first_zero, first_one]]
    rows = np.random.default_rng(2).permutation(200)
    result = compare_fit_inputs(inputs(X, y), inputs(X[rows], swapped[rows]))
    assert result.summary == "different labels"
    assert result.differences[0] == ("labels: rows whose label differs from that of the equal row of the original: "
                                     "2.")


def test_a_different_model_is_a_difference(matrix):
    X, y = matrix
    result = compare_fit_inputs(inputs(X, y), inputs(X, y, {"epochs": "5", "random_state": "0"}))
    assert not result.equal
    assert result.differences == ("model parameters of Model differ (original vs rewrite): epochs=10 vs 5; keep the "
                                  "model unchanged.",)


def test_column_count_difference_names_the_rewrites_transformers():
    X = np.zeros((3, 2))
    result = compare_fit_inputs(inputs(X, [0, 1, 0]), inputs(np.zeros((3, 3)), [0, 1, 0],
                                                             names=["text__a", "text__b", "country__DE"]))
    assert result.differences == ("feature columns: the original passes 2, the rewrite 3. The rewrite's columns come "
                                  "from: text (2), country (1).",)


# -- the response cache ------------------------------------------------------------------------------------

def test_cache_key_depends_on_model_messages_and_parameters_only(tmp_path):
    messages = [{"role": "user", "content": "hi"}]
    key = request_key("m", messages, {"temperature": 0})
    assert key == request_key("m", [dict(messages[0])], {"temperature": 0})
    assert len({key, request_key("n", messages, {"temperature": 0}), request_key("m", [], {"temperature": 0}),
                request_key("m", messages, {"temperature": 1})}) == 4
    cache = ResponseCache(tmp_path)
    assert cache.get(key) is None
    cache.put(key, {"model": "m", "messages": messages, "params": {"temperature": 0}}, {"content": "answer"})
    assert cache.get(key) == {"content": "answer"}
    assert [p.name for p in tmp_path.rglob("*")] == [key[:2], f"{key}.json"]
    Path(cache.path(key)).write_text("{truncated")
    assert cache.get(key) is None
    assert cache.rejected == [f"{cache.path(key)}: unreadable (Expecting property name enclosed in double quotes: "
                              "line 1 column 2 (char 1))"]


def test_cache_entries_are_checked_against_their_request_when_read(tmp_path):
    cache = ResponseCache(tmp_path)
    requests = {content: {"model": "m", "messages": [{"role": "user", "content": content}], "params": {}}
                for content in ["first", "second"]}
    keys = {content: request_key(r["model"], r["messages"], r["params"]) for content, r in requests.items()}
    for content, request in requests.items():
        cache.put(keys[content], request, {"content": f"answer to {content}"})
    entry = json.loads(Path(cache.path(keys["first"])).read_text())
    # An edited answer ...
    Path(cache.path(keys["first"])).write_text(json.dumps(dict(entry, response={"content": "import os; os.system('x')"})))
    # ... and a valid entry filed under another request's key.
    Path(cache.path(keys["second"])).write_text(json.dumps(entry))
    assert cache.get(keys["first"]) is None and cache.get(keys["second"]) is None
    assert cache.rejected == [
        f"{cache.path(keys['first'])}: its response does not match the hash stored with it (edited or corrupt)",
        f"{cache.path(keys['second'])}: its request does not hash to the key it is filed under"]


def test_offline_client_answers_from_the_cache_without_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    messages = [{"role": "user", "content": "rewrite this"}]
    cache = ResponseCache(tmp_path)
    cache.put(request_key("m", messages, {"temperature": 0}), {"model": "m", "messages": messages,
                                                               "params": {"temperature": 0}},
              {"content": "answer", "finish_reason": "stop", "prompt_tokens": 3, "completion_tokens": 1})
    client = ChatClient("m", cache=cache, offline=True)
    completion = client.complete(messages)
    assert (completion.content, completion.cached, completion.prompt_tokens) == ("answer", True, 3)
    assert (client.network_calls, client.cache_hits) == (0, 1)
    with pytest.raises(OfflineCacheMiss):
        client.complete([{"role": "user", "content": "something else"}])
    with pytest.raises(OfflineCacheMiss):
        ChatClient("other-model", cache=cache, offline=True).complete(messages)


def test_a_timed_out_request_is_retried(tmp_path):
    messages = []
    # 1.5 s, not less: on a loaded machine the second request must still come back in time.
    with FakeOpenAIServer([answer("too late", delay=3), answer("in time")]) as server:
        client = ChatClient("m", base_url=server.base_url, api_key="k", cache=ResponseCache(tmp_path),
                            retry=RetryPolicy(max_retries=1, backoff_seconds=0.01, request_timeout=1.5),
                            progress=messages.append)
        completion = client.complete([{"role": "user", "content": "hi"}])
    assert completion.content == "in time" and len(server.requests) == 2
    assert messages == [f"a timeout from {server.base_url}; retrying in 0.0 s (retry 1 of 1)"]


# -- the sandbox -------------------------------------------------------------------------------------------

def test_sandbox_allow_lists_the_environment_and_keeps_the_working_directory_path(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://user:pw@db/prod")
    for passed in ["TZ", "LC_ALL"]:
        monkeypatch.delenv(passed, raising=False)
    (tmp_path / "policies.csv").write_text("a,b\n")
    (tmp_path / "shared" / "cache").mkdir(parents=True)
    (tmp_path / "shared" / "cache" / "entry.json").write_text("{}")
    (tmp_path / "shared" / "claims.csv").write_text("c\n")
    script = textwrap.dedent(f"""
        import json, os, sys
        open("written.txt", "w").write("x")
        print(json.dumps({{"names": sorted(os.environ), "home": os.environ["HOME"], "cwd": os.getcwd(),
                          "listing": sorted(os.listdir(".")), "file": __file__, "argv": sys.argv,
                          "shared": sorted(os.listdir("{tmp_path}/shared")),
                          "cache": os.listdir("{tmp_path}/shared/cache")}}))
    """)
    # The cache lies under an input, and is masked.
    sandbox = Sandbox((str(tmp_path / "policies.csv"), str(tmp_path / "shared")), str(tmp_path),
                      (str(tmp_path / "shared" / "cache"),))
    outcome = run_captured(script, str(tmp_path / "pipeline.py"), ["a", "b"], Limits(seconds=60), sandbox)
    assert outcome.error == ("the pipeline ran to the end without fitting a model: no estimator's fit was called "
                             "from the script")
    seen = json.loads(outcome.stdout)
    # KMP_* are set inside the run by the OpenMP runtime that the libraries load.
    assert [n for n in seen["names"] if not n.startswith("KMP_")] == ["HOME", "LANG", "LOGNAME", "MKL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                             "PATH", "PWD", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "PYTHONNOUSERSITE",
                             "PYTHONPATH", "TMPDIR", "USER"]
    assert seen["home"] == "/.lester-sandbox/tmp/home"
    # The script runs in the user's working directory, sees its input there, and writes to a scratch copy.
    assert seen["cwd"] == str(tmp_path) and seen["listing"] == ["policies.csv", "shared", "written.txt"]
    assert seen["shared"] == ["cache", "claims.csv"] and seen["cache"] == []
    assert seen["file"] == str(tmp_path / "pipeline.py") and seen["argv"] == [str(tmp_path / "pipeline.py"), "a", "b"]
    assert not (tmp_path / "written.txt").exists()


def test_sandbox_inputs_are_arguments_and_paths_the_script_names(tmp_path):
    for folder in ["data/dataset", "given", "cwd/reviews"]:
        (tmp_path / folder).mkdir(parents=True)
    for name in ["data/dataset/products-0.tsv", "given/x.csv", "cwd/policies.csv", "cwd/reviews/r.tsv", "helpers.py",
                 "notes.txt"]:
        (tmp_path / name).write_text("x\n")
    source = textwrap.dedent("""
        import helpers, os
        policies = open("policies.csv")
        reviews = [open(f"reviews/part-{i}.tsv") for i in range(2)]
        products = "./data/dataset/products-{0}.tsv"
        everything = os.listdir(".")
        here = os.path.join(os.path.dirname(__file__), ".")
        up = open("../notes.txt")
        home = os.path.expanduser("~")
    """)
    found = sandbox_inputs(source, str(tmp_path / "messy.py"), [str(tmp_path / "given"), "--flag"],
                           str(tmp_path / "cwd"))
    assert sorted(found) == sorted(str(tmp_path / p) for p in ["given", "helpers.py", "cwd/policies.csv",
                                                               "cwd/reviews", "data/dataset", "notes.txt"])
    # The user may hand over the working directory itself; the script's text may not.
    assert sandbox_inputs("open('.')", str(tmp_path / "messy.py"), ["."], str(tmp_path / "cwd")) == (
        str(tmp_path / "cwd"),)


def test_sandbox_limits_time_and_memory(tmp_path):
    slow = run_captured("import time\ntime.sleep(30)\n", str(tmp_path / "p.py"), [], Limits(seconds=3))
    assert slow.error == "the script did not finish within the time limit of 3 s"
    assert slow.seconds < 30  # stopped, not waited for: the sleep takes 30 s
    greedy = run_captured("import numpy as np\nx = np.ones((40000, 40000))\n", str(tmp_path / "p.py"), [],
                          Limits(memory_mb=2000))
    assert greedy.error.startswith("the script ran out of memory (limit 2000 MB)\nTraceback (most recent call last):")
    assert f'File "{tmp_path / "p.py"}", line 2, in <module>' in greedy.error
    # The CPU limit (time limit x cores) is named when it strikes; here the script lowers it itself.
    busy = run_captured("import resource\nresource.setrlimit(resource.RLIMIT_CPU, (1, 5))\nwhile True: pass\n",
                        str(tmp_path / "p.py"), [], Limits(seconds=60))
    assert busy.error == "the script used up its CPU time limit (60 s per core)"


def test_sandbox_samples_the_first_rows_of_each_input(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n" + "".join(f"{i},{i % 2}\n" for i in range(100)))
    script = textwrap.dedent("""
        import sys
        import pandas as pd
        from sklearn.linear_model import LogisticRegression
        df = pd.read_csv(sys.argv[1])
        LogisticRegression().fit(df[["a"]], df["b"])
    """)
    sandbox = Sandbox((str(tmp_path / "data.csv"),), str(tmp_path))
    full = run_captured(script, str(tmp_path / "p.py"), [str(tmp_path / "data.csv")], Limits(), sandbox)
    sampled = run_captured(script, str(tmp_path / "p.py"), [str(tmp_path / "data.csv")], Limits(sample_rows=10),
                           sandbox)
    assert full.inputs.X.shape == (100, 1) and sampled.inputs.X.shape == (10, 1)
    np.testing.assert_array_equal(sampled.inputs.X[:, 0], np.arange(10))
    assert sampled.inputs.model == "LogisticRegression" and sampled.inputs.feature_names == ("a",)


def test_the_command_line_part_imports_nothing_heavy(tmp_path):
    code = ("import sys, lester_inspect, lester_inspect.rewrite, lester_inspect.rewrite.cli; "
            "print(sorted(m for m in ('openai', 'numpy', 'pandas', 'sklearn', 'torch') if m in sys.modules))")
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_environment(),
                             cwd=tmp_path, timeout=60)
    assert process.stdout == "[]\n", process.stderr
