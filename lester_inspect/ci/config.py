"""The CI configuration: ``lester.toml``, or ``[tool.lester-inspect]`` in ``pyproject.toml``.

Every error names the file and the offending key (``lester.toml: pipelines[0].checks.
no-bias-introduced-for: unknown parameter 'colums'``). The format is documented in
``docs/ci.md`` and in the example ``lester-inspect init-ci`` writes.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, List, Optional, Tuple

from lester_inspect.ci.conditions import Condition, ConditionError

DEFAULT_STORE = ".lester"
PIPELINE_KEYS = ("path", "name", "args", "checks", "conditions", "store", "capture", "report_columns")
CONDITION_KEYS = ("condition", "reliability", "adaptivity", "steps", "mode")


class ConfigError(ValueError):
    """The configuration is missing, unreadable or wrong; the message names file and key."""


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """One configured pipeline, with absolute paths."""

    name: str
    path: str
    args: Tuple[str, ...] = ()
    checks: Tuple[Tuple[str, Any], ...] = ()
    conditions: Tuple[Condition, ...] = ()
    store: str = DEFAULT_STORE
    capture: bool = False
    report_columns: Tuple[str, ...] = ()

    @property
    def columns_of_interest(self) -> Tuple[str, ...]:
        """``report_columns`` and the columns the checks look at: histograms in the HTML report."""
        columns: List[str] = list(self.report_columns)
        for _, check in self.checks:
            columns += [c for c in getattr(check, "columns", ()) if c not in columns]
        return tuple(columns)


@dataclasses.dataclass(frozen=True)
class CiConfig:
    source: str
    pipelines: Tuple[PipelineConfig, ...]


def find_config(directory: str = ".") -> str:
    """``lester.toml`` in ``directory``, else its ``pyproject.toml`` if that has ``[tool.lester-inspect]``."""
    candidate = os.path.normpath(os.path.join(directory, "lester.toml"))
    if os.path.exists(candidate):
        return candidate
    pyproject = os.path.normpath(os.path.join(directory, "pyproject.toml"))
    if os.path.exists(pyproject) and "lester-inspect" in _read_toml(pyproject).get("tool", {}):
        return pyproject
    raise ConfigError(f"no configuration found in {os.path.abspath(directory)}: create lester.toml "
                      "(lester-inspect init-ci writes an example) or pass --config")


def load_config(path: Optional[str] = None) -> CiConfig:
    """Read and validate a configuration file (found with ``find_config`` when ``path`` is None)."""
    path = find_config() if path is None else path
    document = _read_toml(path)
    prefix = ""
    if os.path.basename(path) == "pyproject.toml":
        if "lester-inspect" not in document.get("tool", {}):
            raise ConfigError(f"{path}: no [tool.lester-inspect] table")
        document, prefix = document["tool"]["lester-inspect"], "tool.lester-inspect."
    where = _Where(path, prefix)
    unknown = [key for key in document if key != "pipelines"]
    if unknown:
        raise where.error(unknown[0], "unknown key; the configuration has a list of [[pipelines]]")
    pipelines = document.get("pipelines")
    if not isinstance(pipelines, list) or not pipelines or not all(isinstance(p, dict) for p in pipelines):
        raise where.error("pipelines", "expected at least one [[pipelines]] table with a path")
    base = os.path.dirname(os.path.abspath(path))
    parsed = tuple(_pipeline(table, base, where.key(f"pipelines[{index}]")) for index, table in enumerate(pipelines))
    names = [p.name for p in parsed]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise where.error(f"pipelines[{index}].name", f"{name!r} names two pipelines; give each its own name")
    return CiConfig(os.path.abspath(path), parsed)


class _Where:
    """A position in the configuration, for error messages."""

    def __init__(self, path: str, prefix: str):
        self.path, self.prefix = path, prefix

    def key(self, key: str) -> "_Where":
        return _Where(self.path, f"{self.prefix}{key}.")

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {self.prefix}{key}: {message}")


def _read_toml(path: str) -> Dict[str, Any]:
    import tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such configuration file") from error
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error


def _pipeline(table: Dict[str, Any], base: str, where: _Where) -> PipelineConfig:
    for key in table:
        if key not in PIPELINE_KEYS:
            raise where.error(key, f"unknown key; a pipeline takes {', '.join(PIPELINE_KEYS)}")
    written = table.get("path")
    if not isinstance(written, str) or not written:
        raise where.error("path", "expected the pipeline's file, relative to the configuration file or absolute")
    path = os.path.normpath(os.path.join(base, written))
    if not os.path.isfile(path):
        raise where.error("path", f"no such pipeline file: {path}")
    name = table.get("name", written)
    if not isinstance(name, str) or not name:
        raise where.error("name", "expected a non-empty string")
    args = _strings(table, "args", where)
    store = table.get("store", DEFAULT_STORE)
    if not isinstance(store, str) or not store:
        raise where.error("store", "expected a directory, relative to the configuration file or absolute")
    conditions = _conditions(table.get("conditions", []), where)
    capture = table.get("capture", bool(conditions))
    if not isinstance(capture, bool):
        raise where.error("capture", f"expected true or false, got {capture!r}")
    return PipelineConfig(name=name, path=path, args=args, checks=_checks(table.get("checks", {}), where),
                          conditions=conditions, store=os.path.normpath(os.path.join(base, store)),
                          capture=capture, report_columns=_strings(table, "report_columns", where))


def _strings(table: Dict[str, Any], key: str, where: _Where) -> Tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise where.error(key, f"expected a list of strings, got {value!r}")
    return tuple(str(v) for v in value)


def _checks(table: Any, where: _Where) -> Tuple[Tuple[str, Any], ...]:
    from lester_inspect.checks.registry import CheckConfigurationError, make_check

    if not isinstance(table, dict):
        raise where.error("checks", "expected a table of checks: [pipelines.checks] with name = { parameters }")
    checks = []
    for name, parameters in table.items():
        if not isinstance(parameters, dict):
            raise where.key("checks").error(name, f"expected a table of parameters such as {{}}, got {parameters!r}")
        try:
            checks.append((name, make_check(name, parameters)))
        except CheckConfigurationError as error:
            message = str(error)
            message = message[len(name) + 2:] if message.startswith(f"{name}: ") else message
            raise where.key("checks").error(name, message) from error
    return tuple(checks)


def _conditions(entries: Any, where: _Where) -> Tuple[Condition, ...]:
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise where.error("conditions", "expected [pipelines.conditions] or [[pipelines.conditions]] tables")
    conditions = []
    for index, entry in enumerate(entries):
        here = where.key(f"conditions[{index}]")
        for key in entry:
            if key not in CONDITION_KEYS:
                raise here.error(key, f"unknown key; a condition takes {', '.join(CONDITION_KEYS)}")
        text = entry.get("condition")
        if not isinstance(text, str):
            raise here.error("condition", "expected a condition such as \"n - o > 0.02 +/- 0.01\"")
        settings = {key: entry[key] for key in CONDITION_KEYS[1:] if key in entry}
        try:
            conditions.append(Condition.parse(text, **settings))
        except ConditionError as error:
            # Name the setting at fault, or the condition text when it does not parse.
            at_fault = next((key for key in settings if str(error).startswith(key)), "condition")
            raise here.error(at_fault, str(error)) from error
    return tuple(conditions)
