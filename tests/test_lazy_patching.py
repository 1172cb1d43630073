"""Issue 10 §4: a library is imported and patched only when the pipeline imports it."""
import json
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = textwrap.dedent("""
    import json, sys
    from lester_inspect import PipelineInspector
    before = set(sys.meta_path)
    result = PipelineInspector.on_pipeline(sys.argv[1]).execute()
    print(json.dumps({"sklearn_imported": "sklearn" in sys.modules,
                      "meta_path_restored": set(sys.meta_path) == before,
                      "nodes": [n.operator_type.name for n in result.nodes]}))
    """)


def _run(tmp_path, code):
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(textwrap.dedent(code))
    completed = subprocess.run([sys.executable, "-c", RUNNER, str(pipeline)], capture_output=True, text=True,
                               env=dict(os.environ, PYTHONPATH=ROOT), check=True, timeout=300)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_a_pandas_script_does_not_import_scikit_learn(tmp_path):
    seen = _run(tmp_path, """
        import pandas as pd
        df = pd.DataFrame({"a": [1, 2, 3]})
        print(df[df["a"] > 1].shape)
        """)
    assert seen == {"sklearn_imported": False, "meta_path_restored": True, "nodes": ["DATA_SOURCE", "SELECTION"]}


def test_scikit_learn_imported_by_the_pipeline_is_patched_before_it_is_used(tmp_path):
    seen = _run(tmp_path, """
        import pandas as pd
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split
        df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 5, "y": [0, 1] * 10})
        train, test = train_test_split(df, random_state=0)
        model = LogisticRegression().fit(train[["a"]], train["y"])
        print(model.score(test[["a"]], test["y"]))
        """)
    assert seen["sklearn_imported"] and seen["meta_path_restored"]
    assert {"TRAIN_TEST_SPLIT", "ESTIMATOR", "TRAIN_DATA", "SCORE"} <= set(seen["nodes"])
