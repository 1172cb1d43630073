"""Chat completions from any OpenAI-compatible endpoint, through the response cache, with retries.

A request is answered from the cache when possible (no network call, even
without an API key); otherwise it is sent with the ``openai`` client, whose own
retries are switched off so that ours can report progress. Transient failures
(HTTP 408, 409, 429, 5xx, timeouts, dropped connections) are retried with
exponential backoff, honouring ``Retry-After``; authentication, permission,
unknown-model and rejected-request errors, a refused connection and an unknown
host stop at once with an :class:`~lester_inspect.rewrite.errors.LLMError` that
says what to fix in one line (no server listens there: waiting will not help).
"""
from __future__ import annotations

import dataclasses
import os
import socket
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

from lester_inspect.rewrite.cache import ResponseCache, request_key
from lester_inspect.rewrite.errors import LLMError, OfflineCacheMiss

DEFAULT_MODEL = "gpt-4o"
DEFAULT_PARAMS: Mapping[str, Any] = {"temperature": 0}
_TRANSIENT_STATUS = (408, 409, 429)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient API errors: waits ``backoff_seconds * 2**k``, at most ``max_backoff_seconds``."""

    max_retries: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    request_timeout: float = 300.0


@dataclasses.dataclass(frozen=True)
class Completion:
    """One answer of the model, from the network or from the cache."""

    content: str
    finish_reason: Optional[str]
    prompt_tokens: int
    completion_tokens: int
    cached: bool
    key: str


class ChatClient:
    """Asks ``model`` at ``base_url`` (default: ``OPENAI_BASE_URL``, else OpenAI) and caches every answer.

    Parameters
    ----------
    model : str
        Model name as the endpoint knows it.
    base_url, api_key : str, optional
        Default to the ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` environment variables.
    cache : ResponseCache, optional
        Defaults to the cache in the default folder.
    offline : bool
        Answer only from the cache; a miss raises :class:`OfflineCacheMiss`.
    params : mapping, optional
        Request parameters (part of the cache key); default ``{"temperature": 0}``.
    progress : callable, optional
        Receives a message before each retry.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, base_url: Optional[str] = None, api_key: Optional[str] = None,
                 cache: Optional[ResponseCache] = None, offline: bool = False, retry: RetryPolicy = RetryPolicy(),
                 params: Optional[Mapping[str, Any]] = None, progress: Optional[Callable[[str], None]] = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.model = model
        self.base_url = base_url
        self.api_key = api_key
        self.cache = cache if cache is not None else ResponseCache()
        self.offline = offline
        self.retry = retry
        self.params = dict(DEFAULT_PARAMS if params is None else params)
        self.progress = progress or (lambda message: None)
        self.sleep = sleep
        self.network_calls = 0
        self.cache_hits = 0
        self._client = None

    def complete(self, messages: List[Dict[str, str]]) -> Completion:
        """The model's answer to ``messages``."""
        key = request_key(self.model, messages, self.params)
        rejected = len(self.cache.rejected)
        cached = self.cache.get(key)
        for problem in self.cache.rejected[rejected:]:
            self.progress(f"ignoring the cached answer {problem}")
        if cached is not None:
            self.cache_hits += 1
            return Completion(cached["content"], cached.get("finish_reason"), cached.get("prompt_tokens", 0),
                              cached.get("completion_tokens", 0), True, key)
        if self.offline:
            raise OfflineCacheMiss(f"offline, and the cache {self.cache.directory} has no answer for this request "
                                   f"to {self.model} (key {key[:12]}); run once without --offline")
        response = self._send(messages)
        self.network_calls += 1
        self.cache.put(key, {"model": self.model, "messages": messages, "params": self.params}, response)
        return Completion(response["content"], response["finish_reason"], response["prompt_tokens"],
                          response["completion_tokens"], False, key)

    # -- the network ---------------------------------------------------------------------------------

    def _openai(self):
        if self._client is None:
            import openai

            api_key = self.api_key or os.environ.get("OPENAI_API_KEY")
            if not api_key:
                raise LLMError("no API key: set OPENAI_API_KEY (a local server that needs none accepts any "
                               "non-empty value)")
            self._client = openai.OpenAI(api_key=api_key, base_url=self.base_url, max_retries=0,
                                         timeout=self.retry.request_timeout)
        return self._client

    def _send(self, messages: List[Dict[str, str]]) -> Dict[str, Any]:
        import openai

        client = self._openai()
        endpoint = str(client.base_url).rstrip("/")
        retries = 0
        while True:
            try:
                response = client.chat.completions.create(model=self.model, messages=messages, **self.params)
                return _response_record(response)
            except (openai.APIConnectionError, openai.APIStatusError) as error:
                unreachable = _unreachable(error)
                if unreachable is not None:
                    raise LLMError(f"{endpoint}: {unreachable}; check --base-url (or OPENAI_BASE_URL)") from None
                reason = _transient_reason(error)
                if reason is None:
                    raise LLMError(_permanent_message(error, self.model, endpoint)) from None
                if retries == self.retry.max_retries:
                    raise LLMError(f"{endpoint}: giving up after {retries + 1} attempts; the last one failed "
                                   f"with {reason}") from None
                delay = _retry_after(error)
                if delay is None:
                    delay = self.retry.backoff_seconds * 2 ** retries
                delay = min(delay, self.retry.max_backoff_seconds)
                retries += 1
                self.progress(f"{reason} from {endpoint}; retrying in {delay:.1f} s "
                              f"(retry {retries} of {self.retry.max_retries})")
                self.sleep(delay)


def _unreachable(error) -> Optional[str]:
    """Why no server can answer at this address (refused, unknown host), or None."""
    cause = error
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (no server listens there)"
        if isinstance(cause, socket.gaierror):
            return f"unknown host ({cause.strerror or cause})"
        cause = cause.__cause__ or cause.__context__
    return None


def _transient_reason(error) -> Optional[str]:
    import openai

    if isinstance(error, openai.APITimeoutError):
        return "a timeout"
    if isinstance(error, openai.APIConnectionError):
        return f"a connection error ({error.__cause__ or error})"
    status = error.status_code
    if status in _TRANSIENT_STATUS or status >= 500:
        return f"HTTP {status} ({_detail(error)})"
    return None


def _permanent_message(error, model: str, endpoint: str) -> str:
    import openai

    status, detail = error.status_code, _detail(error)
    if isinstance(error, openai.AuthenticationError):
        return f"{endpoint}: authentication failed (HTTP {status}: {detail}); check OPENAI_API_KEY"
    if isinstance(error, openai.PermissionDeniedError):
        return f"{endpoint}: permission denied (HTTP {status}: {detail}); check the key's access to model {model!r}"
    if isinstance(error, openai.NotFoundError):
        return (f"{endpoint}: model {model!r} not found (HTTP {status}: {detail}); check --model and "
                f"--base-url")
    return f"{endpoint}: the request was rejected (HTTP {status}: {detail})"


def _detail(error) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return body["message"]
    return str(getattr(error, "message", error))


def _retry_after(error) -> Optional[float]:
    response = getattr(error, "response", None)
    if response is None:
        return None
    headers = response.headers
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(float(value) * scale, 0.0)
            except ValueError:
                return None
    return None


def _response_record(response) -> Dict[str, Any]:
    choice = response.choices[0] if response.choices else None
    usage = response.usage
    return {
        "content": (choice.message.content if choice is not None else None) or "",
        "finish_reason": choice.finish_reason if choice is not None else None,
        "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
        "completion_tokens": getattr(usage, "completion_tokens", 0) or 0,
        "model": response.model,
    }
