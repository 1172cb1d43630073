"""The example pipelines' data generators, imported by path (``example_pipelines`` is not a package)."""
import importlib.util
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "example_pipelines"


def load_generator(example):
    """Import ``example_pipelines/<example>/generate_data.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"generate_data_{example}", EXAMPLES_DIR / example / "generate_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
