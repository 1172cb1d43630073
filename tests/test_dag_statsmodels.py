"""statsmodels fits as ESTIMATOR nodes with TRAIN_DATA/TRAIN_LABELS of the rows the model used."""
import pytest

from conftest import locate, summarize
from lester_inspect import PipelineInspector
from lester_inspect.inspections import RowLineage

pytest.importorskip("statsmodels", reason="statsmodels is in the [test] extra")
LINEAGE = RowLineage(RowLineage.ALL_ROWS)
DATA = """\
import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
df = pd.DataFrame({"a": [1.0, 2.0, None, 4.0, 5.0, 6.0, 7.0, 8.0], "b": [0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0],
                   "y": [1.2, 2.9, 3.1, 5.2, 6.1, 6.8, 8.4, 8.9], "hit": [0, 1, 0, 1, 1, 0, 0, 1]})
"""


def run(code):
    result = PipelineInspector.on_pipeline_from_string(code).add_inspection(LINEAGE).execute()
    assert result.internal_errors == []
    return result


def rows(result, node):
    return [sorted(r for _, r in p.variables()) for p in result.dag_node_to_inspection_results[node][LINEAGE]["lineage"]]


def test_ols_with_add_constant_fit_and_predict():
    code = DATA + """\
X = sm.add_constant(df[["b"]])
results = sm.OLS(df["y"], X).fit()
print(results.predict(X).round(3).tolist())
"""
    result = run(code)
    assert summarize(result)[1:] == [
        (1, "PROJECTION", "Project: ['b']", [0]),
        (2, "PROJECTION_MODIFY", "Add constant column", [1]),
        (3, "TRAIN_DATA", "Train data", [2]),
        (4, "PROJECTION", "Project: ['y']", [0]),
        (5, "TRAIN_LABELS", "Train labels", [4]),
        (6, "ESTIMATOR", "OLS: fit", [3, 5]),
        (7, "TEST_DATA", "Test data", [2]),
        (8, "PREDICT", "OLS: predict", [7, 6]),
    ]
    nodes = result.nodes
    assert nodes[2].columns == ("const", "b") and nodes[3].columns == ("const", "b")
    assert nodes[6].code_location == locate(code, 'sm.OLS(df["y"], X).fit()')
    assert nodes[6].function == ("statsmodels.regression.linear_model", "OLS.fit")
    assert rows(result, nodes[3]) == rows(result, nodes[5]) == [[i] for i in range(8)]


def test_logit_and_glm_on_arrays():
    result = run(DATA + """\
features = sm.add_constant(df[["b"]].to_numpy())
logit = sm.Logit(df["hit"], features).fit(disp=0)
glm = sm.GLM(df["y"], features, family=sm.families.Gaussian()).fit()
""")
    fits = [n for n in result.nodes if n.operator_type.name == "ESTIMATOR"]
    assert [n.description for n in fits] == ["Logit: fit", "GLM: fit"]
    for fit in fits:
        data, labels = result.parents(fit)
        assert (data.operator_type.name, labels.operator_type.name) == ("TRAIN_DATA", "TRAIN_LABELS")
        assert data.columns == ("const", "b")
        assert rows(result, data) == [[i] for i in range(8)]
    assert result.parents(result.parents(fits[0])[1])[0].description == "Project: ['hit']"


def test_formula_api_uses_the_rows_without_missing_values():
    result = run(DATA + """\
fitted = smf.ols("y ~ a + b", data=df).fit()
fitted.predict(df.tail(3))
""")
    data, labels, fit = result.nodes[1:4]
    assert [n.operator_type.name for n in (data, labels, fit)] == ["TRAIN_DATA", "TRAIN_LABELS", "ESTIMATOR"]
    assert data.columns == ("Intercept", "a", "b") and labels.columns == ("y",)
    # Brute force: the formula drops the row whose 'a' is missing.
    expected = [[i] for i in range(8) if i != 2]
    assert rows(result, data) == rows(result, labels) == expected
    predict = result.nodes[-1]
    assert predict.operator_type.name == "PREDICT" and [p.description for p in result.parents(predict)] == [
        "Test data", "OLS: fit"]
    assert rows(result, predict) == [[5], [6], [7]]
