"""The on-disk cache of LLM requests and responses.

Every chat-completion request is keyed by the SHA-256 of the canonical JSON of
``{"model", "messages", "params"}`` (the endpoint URL and the API key are not
part of the key). An entry is one JSON file, ``<dir>/<key[:2]>/<key>.json``,
holding the request and the response text, finish reason and token counts.

Invariant: an entry on disk is always complete. It is written to a temporary
file in the same folder and renamed into place (POSIX rename is atomic), so an
interrupted run leaves either no entry or a whole one. An unreadable entry is
treated as missing and overwritten.

The default folder is ``$XDG_CACHE_HOME/lester-inspect/llm`` (``~/.cache/...``).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any, Dict, List, Mapping, Optional


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lester-inspect", "llm")


def request_key(model: str, messages: List[Mapping[str, str]], params: Mapping[str, Any]) -> str:
    canonical = json.dumps({"model": model, "messages": messages, "params": params}, sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """LLM responses by request key, one JSON file each."""

    def __init__(self, directory: Optional[str] = None):
        self.directory = os.path.abspath(directory or default_cache_dir())

    def path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], f"{key}.json")

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        """The cached response of ``key``, or None."""
        try:
            with open(self.path(key), encoding="utf-8") as handle:
                entry = json.load(handle)
            return entry["response"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, request: Dict[str, Any], response: Dict[str, Any]) -> None:
        path = self.path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{key[:8]}-", suffix=".tmp", dir=os.path.dirname(path))
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump({"key": key, "request": request, "response": response}, handle, ensure_ascii=False,
                          indent=1)
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
