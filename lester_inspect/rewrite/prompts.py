"""The prompts: one request for the whole declarative script, then one repair request per failed validation.

In the spirit of the Lester prompts (one per part, with the desired API and
"do not iterate over dataframes"), but for plain pandas and scikit-learn, in a
single request whose messy code is annotated with the parts found by
:mod:`~lester_inspect.rewrite.split`, so that the answer is one script whose
parts fit together. Messy code addresses fields by position, so the request
also gives the header line of each input file it can find (the file names the
script mentions, looked up in the folders given as arguments, next to the
script and in its ``data/`` folder). Data rows are never sent. A repair request
appends the previous answer and the validation evidence to the conversation.
"""
from __future__ import annotations

import os
from typing import Dict, List, Sequence

from lester_inspect.rewrite.split import PipelineSplit

SYSTEM = (
    "You are an expert Python data engineer. You rewrite imperative machine learning pipeline scripts into "
    "declarative pandas and scikit-learn code that computes exactly the same training data. You answer with "
    "one complete Python script in a single ```python code block."
)

_REWRITE = """\
The following Python script trains a machine learning model. It prepares, joins and encodes its data with \
hand-written parsing, for loops, dictionaries and NumPy. Rewrite it into a declarative script that uses pandas \
and scikit-learn and hands the model exactly the same training data.

The rewritten script must have this structure:

1. Data preparation: a function `prepare_data({parameters})` that takes the paths of the input files as \
parameters and returns a single pandas DataFrame. Read each file with `pd.read_csv`. Express joins with \
`merge` and explicit key columns (`on=...`, and `how=` matching the original), filters with boolean \
selections such as `df[df["a"] >= x]` or `df[df["b"].isin([...])]`, and create each new column with a single, \
separate assignment `df["new_column"] = <expression over columns>`. Do not iterate over dataframes: no `for` \
loops over rows, no `iterrows`, no `itertuples`, no `apply(..., axis=1)`. Keep the rows in the order the \
original produces them.
2. Feature encoding: a function `encode_features()` that returns an unfitted scikit-learn `ColumnTransformer` \
containing all the feature encoding logic, applicable to the DataFrame returned by `prepare_data`. Use \
scikit-learn's estimators and transformers where they compute the same values (for example `StandardScaler`, \
`OneHotEncoder`, `HashingVectorizer`). Write any other encoding as a custom transformer class deriving from \
`BaseEstimator` and `TransformerMixin`, whose `fit` returns `self`, whose learned attributes end in `_`, and \
whose constructor only stores its parameters.
3. Label extraction: a function `extract_label(df)` that returns the label of each row of `df`.
4. Model training: an `if __name__ == "__main__":` block that determines the input paths exactly as the \
original does (same command-line arguments and defaults), calls `prepare_data`, splits the rows into training \
and test rows exactly as the original does (use `sklearn.model_selection.train_test_split` when it is \
equivalent), fits the `encode_features()` transformer on the same rows the original computes its encodings \
from, and creates, trains and evaluates the same model class with the same parameters, printing the same output.

The model must receive the same feature values (the column order may differ) and the same labels as in the \
original. Only import pandas, numpy, scikit-learn and modules the original imports. Answer with the complete \
script in one ```python code block.

The original script{name} follows. Its parts, found by reading its syntax tree, are marked with \
`# === <part> ===` comments ({parts}).

```python
{code}```
{headers}"""

_REPAIR = """\
The rewritten script failed validation at the {stage} check:

{evidence}

Fix the script. Keep everything that was right. Answer with the complete corrected script in one ```python \
code block."""

STAGE_NAMES = {
    "answer": "code extraction",
    "static": "static",
    "run": "execution",
    "compare": "differential",
    "structure": "structure",
}


def rewrite_messages(split: PipelineSplit, path: str, args: Sequence[str] = ()) -> List[Dict[str, str]]:
    """The first request: system prompt, the annotated messy script and the headers of its input files."""
    stems = [os.path.splitext(name)[0].replace("-", "_").replace(".", "_") for name in split.input_files]
    parameters = ", ".join(f"{stem}_path" for stem in stems) or "paths"
    files = f" ({', '.join(split.input_files)})" if split.input_files else ""
    headers = input_headers(split.input_files, path, args)
    header_text = "".join(f"\n`{name}` starts with the header line:\n```\n{line}\n```\n"
                          for name, line in headers.items())
    user = _REWRITE.format(parameters=parameters, name=f" `{os.path.basename(path)}`{files}",
                           parts=split.describe() or "no parts found", code=split.annotated(), headers=header_text)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def input_headers(names: Sequence[str], path: str, args: Sequence[str] = ()) -> Dict[str, str]:
    """The first line of each input file found (see the module docstring for where it is looked for)."""
    script_dir = os.path.dirname(os.path.abspath(path))
    folders = [a if os.path.isdir(a) else os.path.dirname(a) for a in args if os.path.exists(a)]
    folders += [script_dir, os.path.join(script_dir, "data")]
    headers = {}
    for name in names:
        for folder in folders:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                with open(candidate, encoding="utf-8", errors="replace") as handle:
                    headers[name] = handle.readline().rstrip("\r\n")[:2000]
                break
    return headers


def repair_messages(messages: List[Dict[str, str]], answer: str, stage: str, evidence: str) -> List[Dict[str, str]]:
    """The conversation so far, the failed answer, and the request to fix it."""
    request = _REPAIR.format(stage=STAGE_NAMES.get(stage, stage), evidence=evidence)
    return [*messages, {"role": "assistant", "content": answer}, {"role": "user", "content": request}]
