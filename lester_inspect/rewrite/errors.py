"""Why a rewrite stopped before its validation loop could finish."""


class RewriteError(Exception):
    """Base class. ``partial_result`` (a RewriteResult or None) holds the attempts made so far."""

    partial_result = None


class LLMError(RewriteError):
    """The LLM endpoint cannot answer: bad credentials, unknown model, rejected request, retries exhausted."""


class OfflineCacheMiss(RewriteError):
    """``offline`` was asked for, and a request has no cached answer."""


class OriginalPipelineError(RewriteError):
    """The messy pipeline itself fails, so there is nothing to compare a rewrite with."""


class SandboxUnavailable(RewriteError):
    """There is no strong isolation on this machine, and running generated code without it was not asked for."""
