"""Feature selections inside the featuriser are not maintained: forget says so, loudly, for them and for the
statistics of the steps they share a part with, and still maintains the other parts."""
import numpy as np
import pandas as pd

from lester_inspect.inspections import ArtifactCapture
from lester_inspect.inspector import PipelineInspector
from lester_inspect.ivm import ArtifactStore, RowSpec

PIPELINE = '''
import sys
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectKBest, VarianceThreshold
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

data = pd.read_csv(sys.argv[1])
features = ColumnTransformer([
    ("kept", StandardScaler(), ["a"]),
    ("variance", Pipeline([("scale", StandardScaler()), ("select", VarianceThreshold(0.5))]), ["b", "c"]),
    ("best", SelectKBest(k=1), ["d", "e"])])
Pipeline([("features", features), ("model", LogisticRegression())]).fit(data, data["y"])
'''


def test_forget_reports_selections_in_the_featuriser_as_not_maintained(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(80, 5)).round(4), columns=list("abcde"))
    frame["y"] = (frame["a"] + frame["d"] > 0).astype(int)
    frame.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "pipeline.py").write_text(PIPELINE)
    result = (PipelineInspector.on_pipeline(str(tmp_path / "pipeline.py"), args=[str(tmp_path / "data.csv")])
              .add_inspection(ArtifactCapture(store=str(tmp_path / ".lester"))).execute())
    assert ArtifactCapture.run_id_of(result)
    monkeypatch.chdir(tmp_path)
    text = str(ArtifactStore(".lester").forget(RowSpec("data.csv", positions=(1, 2, 3))))
    assert "NOT MAINTAINED: featuriser variance/select (VarianceThreshold): variances_ stay as fitted" in text, text
    assert "NOT MAINTAINED: featuriser variance/scale (StandardScaler): mean_, scale_, var_ stay as fitted" in text
    assert "NOT MAINTAINED: featuriser best/best (SelectKBest): pvalues_, scores_ stay as fitted" in text
    assert "featuriser kept (StandardScaler): fitted again on the 77 remaining training rows" in text
