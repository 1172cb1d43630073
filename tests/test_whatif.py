"""What-if analyses: every variant's result equals running the modified script from scratch.

The modified script is the example's source with the variant's patches written into its
model.fit / model.score calls (``whatif.scratch``); it runs plainly, without instrumentation.
"""
import contextlib
import io
import os
from html import escape
from pathlib import Path

import networkx
import numpy as np
import pandas as pd
import pytest

from lester_inspect import PipelineInspector
from lester_inspect.whatif import (DataCleaning, DataCorruption, FeasibilityStudy, OperatorImpact,
                                   PermutationFeatureImportance, Variant, WhatIfError)
from lester_inspect.whatif.analyses import cover_hart_lower_bound
from lester_inspect.whatif.patches import apply_patches, make_patch, permutation
from lester_inspect.whatif.scratch import modified_source, run_from_scratch

EXAMPLES = Path(__file__).resolve().parents[1] / "example_pipelines"

# Per example: test-side corruptions of several kinds, one train-side corruption, the
# columns permuted for feature importance (two, to keep the from-scratch runs few), the
# cleanings, and the group column whose shares OperatorImpact reports.
CORRUPTIONS = {
    "healthcare": (
        {"income": "gaussian_noise", "last_name": "broken_characters", "smoker": "category_shift",
         "county": ("swapped_columns", {"other": "race"})},
        {"income": "scaling"}, ["smoker", "income"],
        {"smoker": "impute_mode", "income": "drop_outliers"}, "race"),
    "compas_like": (
        {"priors_count": "missing_values", "race": "category_shift",
         "sex": ("swapped_columns", {"other": "c_charge_degree"})},
        {"age": "gaussian_noise"}, ["age", "race"],
        {"race": ["drop_missing", "impute_mode"], "age": "impute_mean", "*": ["drop_duplicates", "drop_mislabels"]},
        "race"),
    "adult_like": (
        {"hours_per_week": "scaling", "education": "broken_characters", "workclass": "category_shift",
         "age": "missing_values"},
        {"capital_gain": "scaling"}, ["education_num", "workclass"],
        {"hours_per_week": "drop_outliers", "*": "drop_mislabels"}, "sex"),
}


@pytest.fixture(scope="module", params=sorted(CORRUPTIONS))
def example(request):
    name = request.param
    test_side, train_side, permuted, cleanings, group = CORRUPTIONS[name]
    test_analysis = DataCorruption(test_side, fractions=[0.3])
    train_analysis = DataCorruption(train_side, fractions=[0.5], also_train=True)
    importance = PermutationFeatureImportance(permuted)
    cleaning, impact = DataCleaning(cleanings), OperatorImpact([group])
    path = EXAMPLES / name / "pipeline.py"
    inspector = PipelineInspector.on_pipeline(path)
    for analysis in (test_analysis, train_analysis, importance, cleaning, impact):
        inspector.add_what_if(analysis)
    return path, inspector.execute(), test_analysis, train_analysis, importance, cleaning, impact


def run_written(folder, text, analysis):
    """``text`` written to ``folder``/pipeline.py and run with ``analysis``: the file and the result."""
    path = folder / "pipeline.py"
    path.write_text(text)
    return path, PipelineInspector.on_pipeline(path).add_what_if(analysis).execute()


def _from_scratch(path, result, variant, args=()):
    execution = result.what_if_execution
    return run_from_scratch(path, execution.fit.location, execution.score.location, variant, args,
                            execution.metric_location)


def _check_against_scratch(path, result, analysis, args=()):
    execution, frame = result.what_if_execution, result.what_if[analysis]
    variants = analysis.variants(execution)
    assert list(frame["variant"]) == ["plain"] + [variant.name for variant in variants]
    for variant, row in zip(variants, frame.iloc[1:].itertuples()):
        if isinstance(row.error, str):  # the pipeline fails on this variant: so does the script
            with pytest.raises(Exception) as raised:
                _from_scratch(path, result, variant, args)
            assert row.error == f"{type(raised.value).__name__}: {str(raised.value).splitlines()[0]}"
            continue
        scratch = _from_scratch(path, result, variant, args)
        if variant.removed_filters:  # the script re-ran from before the split: both frames are the re-run's
            pd.testing.assert_frame_equal(execution.train_frame(variant), scratch["train_data"])
        else:
            pd.testing.assert_frame_equal(execution.test_frame(variant), scratch["test_data"])
        if variant.train:
            pd.testing.assert_frame_equal(apply_patches(variant.train, execution.fit.X), scratch["train_data"])
        assert row.score == scratch["score"], variant


def check_test_side_corruptions_equal_the_modified_script_from_scratch(example):
    path, result, test_analysis, *_ = example
    _check_against_scratch(path, result, test_analysis)
    frame = result.what_if[test_analysis]
    # The corruptions change the data: at least one variant scores differently from the plain run.
    assert (frame["score_change"].iloc[1:].abs() > 0).any()
    if path.parent.name == "adult_like":
        # KBinsDiscretizer refuses missing ages: the variant is an error row, as the script raises.
        row = frame.set_index("variant").loc["missing_values(age, 0.3)"]
        assert np.isnan(row["score"]) and row["error"].startswith("ValueError: Input X contains NaN")


def check_train_side_corruptions_refit_and_equal_the_modified_script_from_scratch(example):
    path, result, _, train_analysis, *_ = example
    _check_against_scratch(path, result, train_analysis)
    assert list(result.what_if[train_analysis]["corrupted"].iloc[1:]) == ["train+test"]


def check_plain_variant_equals_the_script_and_test_side_variants_reuse_the_fitted_model(example):
    path, result, *_ = example
    execution = result.what_if_execution
    assert _from_scratch(path, result, Variant("plain"))["score"] == execution.plain_score
    assert execution.model_for(Variant("x", test=[make_patch("missing_values", "a", 0.5)])) is execution.model
    assert execution.notes == []  # every example's featuriser is reused branch by branch


def check_permutation_importance_equals_the_modified_script_and_names_matrix_and_source_columns(example):
    path, result, _, _, importance, *_ = example
    _check_against_scratch(path, result, importance)
    frame = result.what_if[importance].iloc[1:]
    assert (frame["importance"] == -frame["score_change"]).all()
    source = {"healthcare": "patients", "compas_like": "compas", "adult_like": "adult"}[path.parent.name]
    histories = {"smoker": "histories"}
    for row in frame.itertuples():
        assert row.sources == f"{histories.get(row.column, source)}.{row.column}"
        start, stop = map(int, row.matrix_columns.split(":"))
        assert 0 <= start < stop
    # The importance analysis reads the matrix columns each input column feeds from the featuriser.
    widths = {row.column: row.matrix_columns for row in frame.itertuples()}
    if path.parent.name == "adult_like":
        assert widths == {"education_num": "66:67", "workclass": "0:7"}
        # workclass has a one-hot block of its own: its permutation reorders that block (rule 6).
        branches = result.what_if_execution._reused_branches()
        order = np.arange(len(result.what_if_execution.score.X))[::-1]
        assert branches.permuted("workclass", order) is not None and branches.permuted("education_num", order) is None


def check_cleaning_variants_refit_and_equal_the_modified_script_from_scratch(example):
    path, result, *_, cleaning, _ = example
    _check_against_scratch(path, result, cleaning)
    frame = result.what_if[cleaning].set_index("variant")
    train = result.what_if_execution.fit.X
    for variant, row in frame.iloc[1:].iterrows():
        if row["method"] == "drop_missing":
            assert row["train_rows_dropped"] == train[row["column"]].isna().sum() > 0
        if row["method"].startswith("impute"):
            assert row["train_values_filled"] == train[row["column"]].isna().sum()
        if row["method"] in ("drop_outliers", "drop_duplicates", "drop_mislabels"):
            assert row["train_rows_dropped"] > 0, variant


# Per example: the model's transformers OperatorImpact replaces, and by what.
REPLACED = {
    "healthcare": {"features__impute_and_one_hot_encode__impute": "SimpleImputer -> constant fill",
                   "features__impute_and_one_hot_encode__encode": "OneHotEncoder -> ordinal codes",
                   "features__numeric": "StandardScaler -> passthrough"},
    "compas_like": {"features__categorical__impute": "SimpleImputer -> constant fill",
                    "features__categorical__encode": "OneHotEncoder -> ordinal codes",
                    "features__binned__impute": "SimpleImputer -> constant fill",
                    "features__binned__discretize": "KBinsDiscretizer -> passthrough"},
    "adult_like": {"features__categorical": "OneHotEncoder -> ordinal codes",
                   "features__numeric": "StandardScaler -> passthrough",
                   "features__age_bins": "KBinsDiscretizer -> passthrough"},
}


def check_operator_impact_drops_each_filter_and_neutralises_each_transformer_as_the_modified_script_does(example):
    path, result, *_, impact = example
    execution, frame = result.what_if_execution, result.what_if[impact]
    variants = impact.variants(execution)
    filters = [v for v in variants if v.removed_filters]
    replaced = [v for v in variants if v.model_params]
    expected_filters = {"healthcare": 1, "compas_like": 4, "adult_like": 1}[path.parent.name]
    assert len(filters) == expected_filters
    assert {v.labels["operator"]: v.labels["change"] for v in replaced} == REPLACED[path.parent.name]
    rows = frame.set_index("variant")
    for variant in replaced:  # refit on the captured frame: equal to the script with set_params before its fit
        assert not isinstance(rows.loc[variant.name, "error"], str), rows.loc[variant.name, "error"]
        assert rows.loc[variant.name, "score"] == _from_scratch(path, result, variant)["score"]
    for variant in filters:  # the script re-run from its first changed statement, as the whole script would
        source = modified_source(path.read_text(), execution.fit.location, execution.score.location, variant)
        snippet = variant.name.split(": ", 1)[1]
        assert snippet in path.read_text() and snippet not in source
        if isinstance(rows.loc[variant.name, "error"], str):
            with pytest.raises(Exception):
                _from_scratch(path, result, variant)
            continue
        scratch = _from_scratch(path, result, variant)
        assert rows.loc[variant.name, "score"] == scratch["score"]
        pd.testing.assert_frame_equal(execution.train_frame(variant), scratch["train_data"])
        assert rows.loc[variant.name, "train_rows"] > rows.loc["plain", "train_rows"]
    # Rule 8: each filter variant re-executed only recorded calls after the filter, none upstream of it.
    assert execution._prefix is None and execution.not_reexecuted == {}
    for variant in filters:
        (filter_node,) = [n for n in result.nodes if n.code_location == variant.removed_filters[0]]
        upstream = set(networkx.ancestors(result.dag, filter_node)) | {filter_node}
        rerun = execution.trace.nodes_of(execution.reexecuted[variant.name])
        assert rerun and not upstream.intersection(rerun)
        assert all(call.index > execution.trace.recipe_of(filter_node).index
                   for call in execution.reexecuted[variant.name])
    counts = [len(execution.reexecuted[v.name]) for v in filters]
    # healthcare: split, the label column of each side; adult_like: label column, label_binarize, ravel, split;
    # compas_like: each later filter's mask and selection too.
    assert counts == {"healthcare": [3], "adult_like": [4], "compas_like": [17, 14, 11, 8]}[path.parent.name]
    group = impact.groups.groups[0]
    share_columns = [c for c in frame.columns if c.startswith(f"{group}=")]
    plain_shares = execution.fit.X[group].value_counts(normalize=True, dropna=False)
    assert [rows.loc["plain", f"{group}={value} share"] for value in plain_shares.index] == list(plain_shares)
    assert np.allclose(frame.loc[frame["error"].isna(), share_columns].sum(axis=1), 1.0)
    changes = (frame[share_columns].iloc[1:] - frame[share_columns].iloc[0]).abs().stack()
    row, column = changes.idxmax()
    assert (f"largest change of a {group} share: {column.removesuffix(' share')} "
            f"{frame.at[0, column]:.3f} -> {frame.at[row, column]:.3f} ({frame.at[row, 'variant']})"
            ) in result.summary()


def check_summary_names_the_analysis_and_its_worst_variants(example):
    _, result, test_analysis, *_ = example
    summary = result.summary()
    assert f"What-if {test_analysis!r}" in summary
    frame = result.what_if[test_analysis]
    worst = frame.iloc[1:].dropna(subset=["score"]).sort_values("score_change").iloc[0]
    assert f"{worst['variant']}: score {worst['score']:.4f}" in summary


def test_patches_are_seeded_and_leave_their_input_unchanged():
    frame = pd.DataFrame({"a": np.arange(10.0), "b": list("abcdefghij")})
    patch = make_patch("gaussian_noise", "a", 0.5, seed=3)
    first, second = apply_patches([patch], frame), apply_patches([patch], frame)
    pd.testing.assert_frame_equal(first, second)
    assert (first["a"] != frame["a"]).sum() == 5 and frame["a"].tolist() == list(np.arange(10.0))
    shifted = apply_patches([make_patch("category_shift", "b", 1.0, seed=1)], frame)
    assert (shifted["b"] != frame["b"]).all() and set(shifted["b"]) <= set(frame["b"])
    swapped = apply_patches([make_patch("swapped_columns", "b", 1.0, other="a")], frame)
    assert swapped["b"].tolist() == frame["a"].tolist()
    permuting = make_patch("permuted", "b", 1.0, seed=5)
    permuted = apply_patches([permuting], frame)["b"].tolist()
    assert permuted == frame["b"].to_numpy()[permutation(permuting, 10)].tolist() != frame["b"].tolist()


def test_bad_configurations_are_clear_errors():
    with pytest.raises(WhatIfError, match="unknown corruption 'typo'.*known: broken_characters, category_shift"):
        DataCorruption({"a": "typo"})
    with pytest.raises(WhatIfError, match="unknown corruption 'fill'"):  # a cleaning, not a corruption
        DataCorruption({"a": ("fill", {"value": 0})})
    with pytest.raises(WhatIfError, match="'drop_duplicates' is not a method for column 'a'.*keyed '\\*'"):
        DataCleaning({"a": "drop_duplicates"})
    with pytest.raises(WhatIfError, match="needs the column to swap with"):
        DataCorruption({"a": "swapped_columns"})
    with pytest.raises(WhatIfError, match="gaussian_noise needs a numeric column; 'b'"):
        apply_patches([make_patch("gaussian_noise", "b", 0.5)], pd.DataFrame({"b": ["x", "y"]}))


def check_a_misspelt_column_names_the_frames_columns(example):
    path, result, *_ = example
    analysis = DataCorruption({"incme": "scaling"})
    with pytest.raises(WhatIfError, match="column 'incme' is not in the frame the model is scored on at line"):
        analysis.variants(result.what_if_execution)


def test_a_pipeline_without_a_measurement_is_a_clear_error():
    code = ("import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
            "df = pd.DataFrame({'a': [0.0, 1.0, 2.0, 3.0], 'y': [0, 0, 1, 1]})\n"
            "model = LogisticRegression().fit(df[['a']], df['y'])\nmodel.predict(df[['a']])\n")
    inspector = PipelineInspector.on_pipeline_from_string(code).add_what_if(DataCorruption({"a": "scaling"}))
    with pytest.raises(WhatIfError, match=r"1 fit\(s\) and 0 measurement\(s\) \(fit at line 4") as raised:
        inspector.execute()
    assert [node.operator_type.value for node in raised.value.partial_result.nodes][-1] == "Predict"


def test_a_fit_with_sample_weights_is_a_clear_error():
    code = ("import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
            "df = pd.DataFrame({'a': [0.0, 1.0, 2.0, 3.0], 'y': [0, 0, 1, 1]})\n"
            "model = LogisticRegression().fit(df[['a']], df['y'], sample_weight=[1, 2, 1, 2])\n"
            "model.score(df[['a']], df['y'])\n")
    inspector = PipelineInspector.on_pipeline_from_string(code).add_what_if(DataCorruption({"a": "scaling"}))
    with pytest.raises(WhatIfError, match=r"fit at line 4:8 passes arguments besides X and y \(sample_weight=...\)"):
        inspector.execute()


def test_the_modified_source_only_wraps_the_model_calls():
    source = "x = 1\nmodel = p.fit(train, y)\nprint(f'{model.score(test, t):.2f}')\n"
    from lester_inspect.instrumentation.dag import CodeLocation

    variant = Variant("v", train=[make_patch("scaling", "a", 0.5)], test=[make_patch("scaling", "a", 0.1)])
    modified = modified_source(source, CodeLocation(2, 8, 2, 23), CodeLocation(3, 9, 3, 29), variant)
    lines = modified.splitlines()
    assert lines[0] == "x = 1"
    assert lines[1] == "model = p.fit(__lester_whatif__.train(train), __lester_whatif__.train_labels(y))"
    assert lines[2] == "print(f'{__lester_whatif__.score(model.score(__lester_whatif__.test(test), t)):.2f}')"


def test_cover_hart_bound_recovers_a_known_bayes_error():
    # Labels are x0 > 0.5, flipped with probability 0.2: the Bayes error is 0.2.
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    X = rng.random((8000, 2))
    y = (X[:, 0] > 0.5) ^ (rng.random(8000) < 0.2)
    error = np.mean(KNeighborsClassifier(1).fit(X[:6000], y[:6000]).predict(X[6000:]) != y[6000:])
    assert abs(cover_hart_lower_bound(error, 2) - 0.2) < 0.03
    assert cover_hart_lower_bound(0.0, 3) == 0.0 and cover_hart_lower_bound(2 / 3, 3) == pytest.approx(2 / 3)


def test_feasibility_study_measures_the_pipelines_own_features_as_the_script_computes_them(readme):
    from sklearn.neighbors import KNeighborsClassifier

    namespace, _ = readme
    result = namespace["result"]
    (study,) = [analysis for analysis in result.what_if if isinstance(analysis, FeasibilityStudy)]
    frame = result.what_if[study].set_index("variant")
    assert list(frame.index) == ["pipeline features", "raw numeric columns", "all columns, one-hot"]
    scratch = _from_scratch(EXAMPLES / "compas_like" / "pipeline.py", result, Variant("plain"))["namespace"]
    featurise = scratch["model"][:-1]
    neighbour = KNeighborsClassifier(1).fit(featurise.transform(scratch["train_data"]), scratch["train_labels"])
    error = np.mean(neighbour.predict(featurise.transform(scratch["test_data"])) != scratch["test_labels"])
    assert frame.loc["pipeline features", "nn_error"] == error
    assert frame.loc["pipeline features", "bayes_error_lower_bound"] == cover_hart_lower_bound(error, 2)
    assert not frame["target_realistic"].any()  # no encoding allows 90% on this noisy task
    assert (frame["max_accuracy"] >= result.what_if_execution.plain_score).all()  # the model stays below the bound


def check_the_html_report_shows_each_analysis_with_its_chart_and_table(example):
    from lester_inspect.report.html import html_report
    from lester_inspect.report.model import PipelineReport

    path, result, test_analysis, _, importance, *_ = example
    page = html_report([PipelineReport(path.parent.name, str(path), [], result)])
    assert page.count('<div class="what-if">') == 5
    assert f"<h4>{escape(repr(test_analysis))}</h4>" in page and f"<h4>{escape(repr(importance))}</h4>" in page
    assert "score by fraction corrupted" in page and "<polyline" in page
    assert "importance (how much permuting worsens the score)" in page
    assert page.count("score change per variant (red: lower than plain)") == 2  # DataCleaning, OperatorImpact
    for variant in result.what_if[test_analysis]["variant"]:
        assert f"<td>{escape(variant)}</td>" in page


@pytest.fixture(scope="module")
def readme():
    """The README's what-if example, run from the repository's root: its globals and what it printed."""
    text = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    example = text.split("## What-if analyses", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace, output, cwd = {}, io.StringIO(), os.getcwd()
    os.chdir(EXAMPLES.parent)
    try:
        with contextlib.redirect_stdout(output):
            exec(compile(example, "README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return namespace, output.getvalue()


def test_the_readme_example_prints_each_analysis(readme):
    _, printed = readme
    assert "What-if DataCorruption(age, race, 3 fractions): 9 variants, plain score 0.8629" in printed
    assert "What-if PermutationFeatureImportance(all columns): plain score 0.8629" in printed
    assert "What-if FeasibilityStudy(0.9): target accuracy 0.9000 is NOT realistic" in printed


FALLBACK_PIPELINE = """
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(0)
data = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
data["y"] = (data["a"] + 0.5 * data["b"] + rng.normal(scale=0.5, size=300)) > 0
train, test = data.iloc[:200], data.iloc[200:]
model = Pipeline([("scale", StandardScaler()), ("learner", LogisticRegression())])
model.fit(train[["a", "b"]], train["y"])
print(model.score(test[["a", "b"]], test["y"]))
"""


def test_a_model_without_a_column_transformer_featurises_each_variant_whole_and_says_so(tmp_path):
    analysis = DataCorruption({"a": ["gaussian_noise", "scaling"]}, fractions=[0.5])
    path, result = run_written(tmp_path, FALLBACK_PIPELINE, analysis)
    frame = result.what_if[analysis]
    assert frame.attrs["notes"] == ["the model's first step is not a ColumnTransformer: each test-side variant "
                                    "featurises its whole test frame"]
    assert "note: the model's first step is not a ColumnTransformer" in result.summary()
    _check_against_scratch(path, result, analysis)
    assert (frame["score_change"].iloc[1:] < 0).all()


GLOBAL_READING_PIPELINE = """
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

LIMIT = 5.0


def clip(frame):
    return frame.clip(upper=LIMIT)


rng = np.random.default_rng(0)
data = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
data["y"] = (data["a"] + data["b"]) > 0
data = data[data["b"] > -1.0]
LIMIT = 1.0
train, test = data.iloc[:200], data.iloc[200:]
model = LogisticRegression().fit(clip(train[["a", "b"]]), train["y"])
print(model.score(test[["a", "b"]], test["y"]))
"""


def test_a_prefix_function_reading_a_global_the_rest_assigns_makes_filter_variants_run_from_scratch(tmp_path):
    impact = OperatorImpact()
    path, result = run_written(tmp_path, GLOBAL_READING_PIPELINE, impact)
    notes = result.what_if[impact].attrs["notes"]
    assert ("variants changing the script before the fit run from scratch: a function or class defined before "
            "line 16 reads LIMIT, which a variant assigns") in notes
    variants = impact.variants(result.what_if_execution)
    (variant,) = [v for v in variants if v.removed_filters and v.removed_filters[0].lineno == 16]
    score = result.what_if[impact].set_index("variant").loc[variant.name, "score"]
    assert score == _from_scratch(path, result, variant)["score"]


# Checks of one example's run. They are called from one test per example: under pytest -n a
# module fixture is computed once per worker, so separate tests could run the example twice.
EXAMPLE_CHECKS = [
    check_test_side_corruptions_equal_the_modified_script_from_scratch,
    check_train_side_corruptions_refit_and_equal_the_modified_script_from_scratch,
    check_plain_variant_equals_the_script_and_test_side_variants_reuse_the_fitted_model,
    check_permutation_importance_equals_the_modified_script_and_names_matrix_and_source_columns,
    check_cleaning_variants_refit_and_equal_the_modified_script_from_scratch,
    check_operator_impact_drops_each_filter_and_neutralises_each_transformer_as_the_modified_script_does,
    check_summary_names_the_analysis_and_its_worst_variants,
    check_a_misspelt_column_names_the_frames_columns,
    check_the_html_report_shows_each_analysis_with_its_chart_and_table,
]


def test_every_analysis_of_the_example_equals_its_modified_script_run_from_scratch(example):
    for check in EXAMPLE_CHECKS:
        check(example)


TEXT_PIPELINE = """
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(0)
words = np.array(["good", "bad", "fine", "poor", "great", "awful"])
data = pd.DataFrame({"text": [" ".join(rng.choice(words, 4)) for _ in range(300)], "n": rng.normal(size=300)})
data["y"] = data["text"].str.count("good|great|fine") + data["n"] > 1.5
features = ColumnTransformer([("words", HashingVectorizer(n_features=16), "text"), ("n", StandardScaler(), ["n"])])
model = Pipeline([("features", features), ("learner", LogisticRegression())])
model.fit(data.iloc[:200], data["y"].iloc[:200])
print(model.score(data.iloc[200:], data["y"].iloc[200:]))
"""


def test_a_branch_given_one_column_name_gets_a_series_and_its_blocks_are_reused(tmp_path):
    analysis = DataCorruption({"text": "broken_characters", "n": "scaling"}, fractions=[0.5])
    path, result = run_written(tmp_path, TEXT_PIPELINE, analysis)
    execution = result.what_if_execution
    assert execution.notes == [] and [selection for *_, selection in execution._reused_branches().branches] == [
        "text", ["n"]]  # rule 3: HashingVectorizer gets the text Series, as the ColumnTransformer gives it
    _check_against_scratch(path, result, analysis)
    assert (result.what_if[analysis]["score_change"].iloc[1:] != 0).all()
