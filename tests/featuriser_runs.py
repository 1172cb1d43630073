"""Shared by the featuriser maintenance tests: a pipeline captured once per module, copied per test, and the
stored fitted featuriser of a run."""
import os
import shutil

from lester_inspect.inspections import ArtifactCapture
from lester_inspect.inspector import PipelineInspector
from lester_inspect.ivm import ArtifactStore
from lester_inspect.ivm.rectify import load_featuriser


def capture(folder, *arguments) -> str:
    """Capture ``folder/pipeline.py`` (run with ``arguments``) into ``folder/.lester``; the run's id."""
    result = (PipelineInspector.on_pipeline(str(folder / "pipeline.py"), args=[str(a) for a in arguments])
              .add_inspection(ArtifactCapture(store=str(folder / ".lester"))).execute())
    return ArtifactCapture.run_id_of(result)


def work_copy(root, tmp_path, monkeypatch):
    """A copy of a captured folder to change, made the working directory."""
    shutil.copytree(root, tmp_path / "work")
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "work"


def stored_featuriser(store_path, run_id):
    run_folder = os.path.join(str(store_path), "runs", run_id)
    return load_featuriser(run_folder, ArtifactStore(str(store_path)).load(run_id)["manifest"]["pipeline"])


def captured_folder(root, pipeline: str, write_data):
    """``root`` with ``pipeline.py`` and the ``data.csv`` ``write_data`` writes, captured: ``(root, run id)``."""
    write_data(root / "data.csv")
    (root / "pipeline.py").write_text(pipeline)
    return root, capture(root, root / "data.csv")
