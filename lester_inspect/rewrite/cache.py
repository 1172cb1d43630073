"""The on-disk cache of LLM requests and responses.

Every chat-completion request is keyed by the SHA-256 of the canonical JSON of
``{"model", "messages", "params"}`` (the endpoint URL and the API key are not
part of the key). An entry is one JSON file, ``<dir>/<key[:2]>/<key>.json``,
holding the request and the response text, finish reason and token counts.

Invariant: an entry on disk is always complete. It is written to a temporary
file in the same folder and renamed into place (POSIX rename is atomic), so an
interrupted run leaves either no entry or a whole one. Only the rewrite's own
process writes entries: pipelines run in a sandbox that cannot see the folder
(it is hidden even when it lies under an input).

Entries are checked when read: the request stored in the entry must hash to the
key it is filed under, and ``digest`` must be the SHA-256 of the key and the
response, so an answer moved to another request's file, or edited, is not
served. An entry that fails the check, or cannot be read, is treated as missing
(and overwritten by the next answer); :attr:`ResponseCache.rejected` lists why,
and the client reports it.

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
    return _sha256({"model": model, "messages": messages, "params": params})


def answer_digest(key: str, response: Mapping[str, Any]) -> str:
    """The hash that ties ``response`` to the request ``key``."""
    return _sha256({"key": key, "response": response})


def _sha256(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """LLM responses by request key, one JSON file each."""

    def __init__(self, directory: Optional[str] = None):
        self.directory = os.path.abspath(directory or default_cache_dir())
        self.rejected: List[str] = []

    def path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], f"{key}.json")

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        """The cached response of ``key``, or None (also when the entry fails its check)."""
        path = self.path(key)
        try:
            with open(path, encoding="utf-8") as handle:
                entry = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            self.rejected.append(f"{path}: unreadable ({error})")
            return None
        problem = _entry_problem(key, entry)
        if problem:
            self.rejected.append(f"{path}: {problem}")
            return None
        return entry["response"]

    def put(self, key: str, request: Dict[str, Any], response: Dict[str, Any]) -> None:
        path = self.path(key)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{key[:8]}-", suffix=".tmp", dir=os.path.dirname(path))
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump({"key": key, "request": request, "response": response,
                           "digest": answer_digest(key, response)}, handle, ensure_ascii=False, indent=1)
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise


def _entry_problem(key: str, entry: Any) -> str:
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        return "not a cache entry"
    request, response = entry["request"], entry.get("response")
    try:
        stored_key = request_key(request["model"], request["messages"], request["params"])
    except (KeyError, TypeError):
        return "its request is incomplete"
    if stored_key != key or entry.get("key") != key:
        return "its request does not hash to the key it is filed under"
    if not isinstance(response, dict) or not isinstance(response.get("content"), str):
        return "its response has no text"
    if entry.get("digest") != answer_digest(key, response):
        return "its response does not match the hash stored with it (edited or corrupt)"
    return ""
