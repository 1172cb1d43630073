"""Results where teams already look: OpenLineage run events (``openlineage.py``) and MLflow runs (``mlflow.py``).

Each needs an optional package (``pip install lester-inspect[lineage]`` / ``[mlflow]``); without it, the
command or call fails with one line naming the package.
"""
from __future__ import annotations


class MissingPackageError(RuntimeError):
    """An optional package an export needs is not installed."""


def require(module: str, package: str, extra: str):
    """Import ``module``, or raise ``MissingPackageError`` with the pip command that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingPackageError(f"this needs the {package} package ({error}); install it with: pip install "
                                  f"'lester-inspect[{extra}]' (or: pip install {package})") from None
