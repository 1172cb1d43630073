"""Rewrite messy pipelines into declarative pandas + scikit-learn code with an LLM, and prove each rewrite right.

``lester-inspect rewrite messy.py -o pipeline.py [-- ARGS]`` or, in Python::

    from lester_inspect.rewrite import rewrite_pipeline
    result = rewrite_pipeline("messy.py", output="pipeline.py", args=["data/"])
    result.ok, result.passed_attempt, result.attempts, result.llm_calls, result.summary()

How it works
------------
1. **Split** (:mod:`.split`). The messy script is split into data preparation,
   feature encoding, label extraction and model training by reading its syntax
   tree, not by asking the model: backward slices from the final
   ``model.fit(X, y)`` (and later ``predict``/``score`` calls) over the
   top-level statements. Statements both ``X`` and ``y`` depend on are data
   preparation; those only ``X`` needs are feature encoding, only ``y`` label
   extraction; the model and its calls are model training. The split only
   annotates the prompt and is reported (``result.split``).
2. **Prompt** (:mod:`.prompts`). One request asks for a complete script with
   ``prepare_data(<one path per input file>)`` returning one DataFrame made
   with ``read_csv``, ``merge``, selections and one assignment per new column,
   no row loops; ``encode_features()`` returning an unfitted
   ``ColumnTransformer`` (custom transformers as proper estimators);
   ``extract_label(df)``; and the unchanged model training in an
   ``if __name__ == "__main__":`` block. The request includes the header line
   of each input file it finds (the column names), never data rows.
3. **Assemble** (:mod:`.answers`). The code blocks are taken out of the prose
   and joined into one script with a provenance header.
4. **Validate** (:mod:`.validation`). Static checks (it parses; the functions
   exist; no ``iterrows``/``itertuples``/``apply(axis=1)``/``for`` over a
   frame outside custom transformers; nothing that reaches the environment,
   processes, the network or C; every import resolves); then the original and
   the candidate each run under our instrumentation in a bubblewrap sandbox
   (:mod:`.sandbox`: no network, read-only inputs at their usual paths,
   writes only to scratch, an allow-listed environment, limits on time,
   memory, CPU, processes and output, optionally only the first N rows of
   each input file), the candidate under an audit hook (:mod:`.guard`) whose
   refusals fail it; the arguments of the last ``fit`` of a model are
   compared (:mod:`.compare`); finally the instrumented run must show inputs
   read with pandas and features computed by a ``ColumnTransformer``. Where
   there is no sandbox, nothing runs unless ``unsafe_no_sandbox`` is given.
5. **Repair**. On failure, the evidence (a traceback, the static problems, or a
   compact diff: row counts, label counts, columns without counterpart, the
   first differing rows) goes back to the model, at most ``max_repairs`` times.

The comparison rule
-------------------
Both runs must fit the same model class with equal ``get_params(deep=False)``
on the same number of rows and feature columns, with the same labels. Rows may
be in any order (compared as a multiset, via a canonical sort). Columns may be
in any order (``allow_column_permutation=True``): encoders legitimately
reorder them (transformer order in a ``ColumnTransformer``, one-hot categories
sorted), so any bijection of columns is accepted as long as every candidate
column equals a distinct original column in every row. Values are equal if
``|candidate - original| <= 1e-8 + 1e-5 * |original|`` (numpy's ``isclose``
defaults; NaN equals NaN); sparse matrices and DataFrames are compared as
dense float64; numeric labels compare as numbers, others as strings.

The cache
---------
Every request and answer is stored on disk as JSON, keyed by the SHA-256 of the
model name, the messages and the request parameters, in ``cache_dir``
(``--cache``; default ``$XDG_CACHE_HOME/lester-inspect/llm``). A rerun with the
same inputs and a warm cache makes no network call; ``offline=True``
(``--offline``) never calls the network and fails on a miss. Entries are written only by the rewrite's process, atomically, and checked
against their request when read. Transient API errors (429, 5xx, timeouts)
are retried with backoff; authentication and unknown-model errors, refused
connections and unknown hosts stop at once.
"""

__all__ = [
    "Attempt", "FitInputs", "Limits", "LLMError", "OfflineCacheMiss", "OriginalPipelineError", "RetryPolicy",
    "RewriteError", "RewriteResult", "SandboxUnavailable", "Tolerance", "Validation", "compare_fit_inputs",
    "rewrite_pipeline", "split_pipeline",
]

_HOMES = {
    "Attempt": "repair_loop", "RewriteResult": "repair_loop", "rewrite_pipeline": "repair_loop",
    "FitInputs": "compare", "Tolerance": "compare", "compare_fit_inputs": "compare",
    "Limits": "sandbox", "RetryPolicy": "client", "Validation": "validation", "split_pipeline": "split",
    "LLMError": "errors", "OfflineCacheMiss": "errors", "OriginalPipelineError": "errors", "RewriteError": "errors",
    "SandboxUnavailable": "errors",
}


def __getattr__(name):
    # Imported on first use, so that the command line stays fast to start.
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
