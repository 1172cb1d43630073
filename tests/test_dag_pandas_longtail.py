"""The long tail of pandas: each operation's DAG node and its row lineage against a brute-force reference.

One pipeline runs every operation once under ``RowLineage(ALL_ROWS)``. For each
operation the reference is computed from the data alone: the source rows whose key
values (or row labels) equal the output row's, or the output row's own position for
operations that keep rows in place.
"""
import sqlite3
import textwrap

import pandas as pd
import pytest

from lester_inspect import PipelineInspector
from lester_inspect.inspections import ColumnProvenance, HistogramForColumns, RowLineage
from lester_inspect.inspections.annotations import UnknownProvenance
from lester_inspect.instrumentation.rows import Unknown

LINEAGE = RowLineage(RowLineage.ALL_ROWS)
HISTOGRAM = HistogramForColumns(["g"])
FRAME = {"id": [1, 2, 3, 4, 5, 6], "city": ["a", "b", "a", "c", "b", "a"],
         "x": [1.0, 2.0, None, 4.0, 5.0, 6.0], "d": ["2020-01-0%d" % i for i in range(1, 7)],
         "name": ["ann lee", "bo ma", "cy x", "dee y", "ed z", "fi q"]}

PIPELINE = f"""
import pandas as pd
df = pd.DataFrame({FRAME!r})
dummies = pd.get_dummies(df, columns=["city"])
pivot_table = df.pivot_table(index="city", values="x", aggfunc="sum")
pivot = df.pivot(index="id", columns="city", values="x")
melted = df.melt(id_vars=["id"], value_vars=["x", "city"])
crosstab = pd.crosstab(df["city"], df["id"] > 2)
counts = df["city"].value_counts()
frame_counts = df.value_counts(subset=["city"])
binned = df.assign(bin=pd.cut(df["x"], bins=[0, 2, 10]), q=pd.qcut(df["id"], 2))
dated = df.assign(year=pd.to_datetime(df["d"]).dt.year)
df["m"] = df.groupby("city")["x"].transform("mean")
df["r"] = df.groupby("city")["x"].rank()
df["cs"] = df.groupby("city")["x"].cumsum()
df["sh"] = df.groupby("city")["x"].shift(1)
filtered = df.groupby("city").filter(lambda g: len(g) > 1)
applied = df.groupby("city")[["x"]].apply(lambda g: g.sum())
sizes = df.groupby("city", as_index=False).size()
group_head = df.groupby("city").head(1)
indexed = df.set_index("id")
sorted_index = indexed.sort_index(ascending=False)
where = df[["x", "id"]].where(df[["x", "id"]] > 2)
masked = df[["x"]].mask(df[["x"]] > 2, 0)
clipped = df[["x", "id"]].clip(1, 3)
missing = df.isna()
present = df.notna()
unique = df[~df.duplicated(subset=["city"])]
largest = df.nlargest(2, "x")
smallest = df.nsmallest(2, "id")
copy = df.copy()
copy.insert(0, "k2", copy["id"] * 2)
popped = copy.pop("x")
mapped = df[["id"]].map(lambda v: v + 1)
evaluated = df.eval("z = id * 2")
combined = indexed[["x"]].combine_first(indexed[["x"]].fillna(0))
updated = indexed[["x"]].copy()
updated.update(indexed[["x"]].fillna(-1))
split = df["name"].str.split(" ", expand=True)
series = pd.Series(df["id"].to_numpy())
from_dict = pd.DataFrame.from_dict({{"a": df["id"], "b": df["x"]}})
from_records = pd.DataFrame.from_records([(1, 2), (3, 4)], columns=["a", "b"])
both = df.copy()
both[["p", "q"]] = both[["id", "x"]] * 2
summed = df.groupby("city")["x"].sum().reset_index()
rolled = df["x"].rolling(2).mean()
ranked = df[["id", "x"]].rank()
sorted_rows = df.sort_values("id", ascending=False, ignore_index=True)
without_na = df.dropna(subset=["x"], ignore_index=True)
"""


@pytest.fixture(scope="module")
def run():
    return (PipelineInspector.on_pipeline_from_string(PIPELINE)
            .add_inspections([LINEAGE, ColumnProvenance()]).execute())


def _node(run, description):
    found = [n for n in run.nodes if n.description == description]
    assert len(found) == 1, [n.description for n in run.nodes]
    return found[0]


def _lineage(run, node):
    """Per output row, the sorted (source node id, source row) pairs of its lineage (None: unknown)."""
    from lester_inspect.inspections.executor import _source_name

    sources = {}
    for source in (n for n in run.nodes if n.operator_type.name == "DATA_SOURCE"):
        name = _source_name(source)
        sources[name if name not in sources else f"{name}{source.node_id}"] = source
    frame = run.dag_node_to_inspection_results[node][LINEAGE]
    return [None if p is None else sorted((sources[s].node_id, r) for s, r in p.variables())
            for p in frame["lineage"]]


SOURCE = pd.DataFrame(FRAME)


def by_key(column, output_keys):
    """Per output row, the source rows whose ``column`` equals the output row's key."""
    return [sorted((0, i) for i in range(len(SOURCE)) if SOURCE[column][i] == key) for key in output_keys]


def identity(length=len(SOURCE)):
    return [[(0, i)] for i in range(length)]


def rows(positions):
    return [[(0, int(p))] for p in positions]


# (description, operator type, columns, reference lineage)
CASES = [
    ("One-hot encode ['city']", "PROJECTION_MODIFY",
     ("id", "x", "d", "name", "city_a", "city_b", "city_c"), identity()),
    ("Pivot table: 'sum' of ['x'] by ['city']", "GROUP_BY_AGG", ("city", "x"), by_key("city", ["a", "b", "c"])),
    ("Pivot ['city'] into columns of ['x'], rows by ['id']", "RESHAPE", ("id", "a", "b", "c"), by_key("id", range(1, 7))),
    ("Melt ['x', 'city'] into rows, keep ['id']", "RESHAPE", ("id", "variable", "value"),
     by_key("id", list(range(1, 7)) * 2)),
    ("Cross tabulate ['city'] x ['id']", "GROUP_BY_AGG", ("city", "False", "True"),
     by_key("city", ["a", "b", "c"])),
    ("Count values of ['city']", "GROUP_BY_AGG", ("city", "count"), by_key("city", ["a", "b", "c"])),
    ("Count rows by ['city']", "GROUP_BY_AGG", ("city", "count"), by_key("city", ["a", "b", "c"])),
    ("Assign bin = cut(x, bins=[0, 2, 10]); q = qcut(id, 2)", "PROJECTION_MODIFY",
     ("id", "city", "x", "d", "name", "bin", "q"), identity()),
    ("Assign year = to_datetime(d).dt.year", "PROJECTION_MODIFY", ("id", "city", "x", "d", "name", "year"),
     identity()),
    ("Set column 'm': x grouped by ['city']: transform", "PROJECTION_MODIFY",
     ("id", "city", "x", "d", "name", "m"), identity()),
    ("Set column 'r': x grouped by ['city']: rank", "PROJECTION_MODIFY", None, identity()),
    ("Set column 'cs': x grouped by ['city']: cumsum", "PROJECTION_MODIFY", None, identity()),
    ("Set column 'sh': x grouped by ['city']: shift", "PROJECTION_MODIFY", None, identity()),
    ("Group by ['city']: filter(lambda)", "SELECTION", None, rows([0, 1, 2, 4, 5])),
    ("Group by ['city']: apply(lambda)", "GROUP_BY_AGG", ("city", "x"), by_key("city", ["a", "b", "c"])),
    ("Group by ['city']: size()", "GROUP_BY_AGG", ("city", "size"), by_key("city", ["a", "b", "c"])),
    ("Group by ['city']: head(1)", "SELECTION", None, rows([0, 1, 3])),
    ("Set index ['id']", "PROJECTION_MODIFY", ("city", "x", "d", "name", "m", "r", "cs", "sh"), identity()),
    ("Sort by row labels", "SORT", None, rows([5, 4, 3, 2, 1, 0])),
    ("Keep values where DataFrame(6, 2), else None", "PROJECTION_MODIFY", ("x", "id"), identity()),
    ("Replace values where DataFrame(6, 1) with 0", "PROJECTION_MODIFY", ("x",), identity()),
    ("Clip values to [1, 3]", "PROJECTION_MODIFY", ("x", "id"), identity()),
    ("Missing-value mask", "PROJECTION_MODIFY", None, identity()),
    ("Present-value mask", "PROJECTION_MODIFY", None, identity()),
    ("Select: ~duplicated(subset=['city'])", "SELECTION", None, rows([0, 1, 3])),
    ("Largest 2 rows by ['x']", "SELECTION", None, rows([5, 4])),
    ("Smallest 2 rows by ['id']", "SELECTION", None, rows([0, 1])),
    ("Insert column 'k2': id * 2", "PROJECTION_MODIFY", ("k2", "id", "city", "x", "d", "name", "m", "r", "cs", "sh"),
     identity()),
    ("Pop column 'x'", "PROJECTION", ("k2", "id", "city", "d", "name", "m", "r", "cs", "sh"), identity()),
    ("Map lambda over every value", "PROJECTION_MODIFY", ("id",), identity()),
    ("Evaluate z = id * 2", "PROJECTION_MODIFY", ("id", "city", "x", "d", "name", "m", "r", "cs", "sh", "z"),
     identity()),
    ("Combine first: values, else the other's, by row label", "JOIN", ("x",), identity()),
    ("Update values from another frame by row label", "JOIN", ("x",), identity()),
    ("Expand name.str.split(' ', expand=True) into columns", "PROJECTION_MODIFY", ("0", "1"), identity()),
    ("Create Series from ndarray", "PROJECTION_MODIFY", ("None",), identity()),
    ("Create DataFrame from_dict dict", "PROJECTION_MODIFY", ("a", "b"), identity()),
    ("Set columns ['p', 'q']: DataFrame(6, 2)", "PROJECTION_MODIFY", None, identity()),
    ("Group by ['city']: x.sum()", "GROUP_BY_AGG", ("city", "x"), by_key("city", ["a", "b", "c"])),
    ("Reset index into columns", "PROJECTION_MODIFY", ("city", "x"), by_key("city", ["a", "b", "c"])),
    ("Rolling window: mean()", "PROJECTION_MODIFY", ("x",), identity()),
    ("rank()", "PROJECTION_MODIFY", ("id", "x"), identity()),
    ("Sort by ['id']", "SORT", None, rows([5, 4, 3, 2, 1, 0])),
    ("Drop rows with missing values in ['x']", "SELECTION", None, rows([0, 1, 3, 4, 5])),
]


@pytest.mark.parametrize("description, operator_type, columns, expected", CASES, ids=[c[0][:40] for c in CASES])
def test_operation_node_and_lineage(run, description, operator_type, columns, expected):
    assert run.internal_errors == []
    node = _node(run, description)
    assert node.operator_type.name == operator_type
    if columns is not None:
        assert node.columns == columns
    lineage = _lineage(run, node)
    # The joins over two derived frames multiply a row with itself: each output row is that source row.
    assert [sorted(set(p)) for p in lineage] == expected


def test_key_columns_and_dummy_columns_read_their_source_columns(run):
    provenance = run.dag_node_to_inspection_results
    dummies = provenance[_node(run, "One-hot encode ['city']")][ColumnProvenance()]
    assert dummies["city_b"] == frozenset({("source0", "city")})
    sizes = provenance[_node(run, "Group by ['city']: size()")][ColumnProvenance()]
    assert sizes["city"] == frozenset({("source0", "city")})
    transform = provenance[_node(run, "Set column 'm': x grouped by ['city']: transform")][ColumnProvenance()]
    assert transform["m"] == frozenset({("source0", "x"), ("source0", "city")})
    split = provenance[_node(run, "Expand name.str.split(' ', expand=True) into columns")][ColumnProvenance()]
    assert split["0"] == frozenset({("source0", "name")})


def test_a_frame_from_python_objects_is_a_source(run):
    node = _node(run, "Create DataFrame from_records list")
    assert node.operator_type.name == "DATA_SOURCE" and list(run.parents(node)) == []
    assert _lineage(run, node) == [[(node.node_id, 0)], [(node.node_id, 1)]]


def test_multi_column_setitem_keeps_the_users_result_and_derivations(inspect_code):
    result = inspect_code("""
        import pandas as pd
        df = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
        df[["c", "d"]] = df[["a", "b"]] * 10
        print(df.to_dict("list"))
        """, )
    assert result.internal_errors == []
    node = result.nodes[-1]
    assert node.description == "Set columns ['c', 'd']: DataFrame(2, 2)"
    derivations = result.dag.nodes[node]["derivations"]
    assert {key: [column for _, column in reads] for key, reads in derivations.items()} == {"c": ["a"], "d": ["b"]}


def test_readers_are_data_sources(inspect_code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = pd.DataFrame({"k": [1, 2, 3], "t": ["u", "v", "w"]})
    frame.to_csv("data.tsv", sep="\t", index=False)
    frame.to_feather("data.feather")
    frame.to_excel("data.xlsx", index=False)
    with sqlite3.connect("data.db") as connection:
        frame.to_sql("items", connection, index=False)
    result = (PipelineInspector.on_pipeline_from_string(textwrap.dedent("""
        import sqlite3
        import pandas as pd
        a = pd.read_table("data.tsv")
        b = pd.read_feather("data.feather")
        c = pd.read_excel("data.xlsx")
        with sqlite3.connect("data.db") as connection:
            d = pd.read_sql("SELECT k, t FROM items WHERE k > 1", connection)
        e = pd.concat([a, b, c, d])
        """)).add_inspection(LINEAGE).execute())
    assert [(n.operator_type.name, n.description) for n in result.nodes[:4]] == [
        ("DATA_SOURCE", "Read data.tsv"), ("DATA_SOURCE", "Read data.feather"), ("DATA_SOURCE", "Read data.xlsx"),
        ("DATA_SOURCE", "Read SQL 'SELECT k, t FROM items WHERE k > 1'")]
    assert all(n.columns == ("k", "t") for n in result.nodes[:4])
    assert result.dag.nodes[result.nodes[0]]["source_path"] == "data.tsv"
    lineage = _lineage(result, result.nodes[4])
    assert lineage == [[(s, r)] for s, n in ((0, 3), (1, 3), (2, 3), (3, 2)) for r in range(n)]


def test_generic_rule_aligned_selected_and_unknown(inspect_code):
    result = (PipelineInspector.on_pipeline_from_string(textwrap.dedent("""
        import pandas as pd
        df = pd.DataFrame({"k": ["a", "b", "a", "c"], "x": [1.0, None, 3.0, 4.0]}, index=[10, 11, 12, 13])
        filled = df[["x"]].ffill()
        picked = df.truncate(before=11, after=12)
        described = df.describe()
        print(len(described))
        centred = df[["x"]] - df[["x"]].mean()
        moded = df["k"].mode()
        data = pd.concat([moded, df["k"]])
        """)).add_inspection(LINEAGE).execute())
    assert result.internal_errors == []
    descriptions = [(n.operator_type.name, n.description) for n in result.nodes]
    assert ("PROJECTION_MODIFY", "ffill()") in descriptions
    assert ("SELECTION", "truncate(before=11, after=12)") in descriptions
    # describe() is printed, never used as data: no node, nothing cut.
    assert not any("describe" in d for _, d in descriptions)
    ffill = _node(result, "ffill()")
    assert _lineage(result, ffill) == identity(4)
    assert _lineage(result, _node(result, "truncate(before=11, after=12)")) == rows([1, 2])
    # mode() makes new rows: its node exists once the result is data, with an unknown mapping.
    mode = _node(result, "mode()")
    assert mode.operator_type.name == "GROUP_BY_AGG"
    [unknown] = result.dag_node_to_inspection_results[mode][LINEAGE]["lineage"]
    assert isinstance(unknown, UnknownProvenance) and "Series.mode" in str(unknown)
    unknown = _inputs(result, mode)
    assert len(unknown) == 1 and isinstance(unknown[0], Unknown) and "Series.mode" in unknown[0].reason


def _inputs(result, node):
    """The row mappings of ``node``'s inputs, as recorded by the observers."""
    return [mapping for n, mapping in MAPPINGS if n == node]


MAPPINGS = []


@pytest.fixture(autouse=True)
def record_mappings(monkeypatch):
    """Keep every operator's input mappings (the DAG keeps only edges)."""
    from lester_inspect.instrumentation import run as run_module

    MAPPINGS.clear()
    original = run_module.InstrumentedRun.add_node

    def add_node(self, *args, **kwargs):
        node = original(self, *args, **kwargs)
        inputs = args[5] if len(args) > 5 else kwargs.get("inputs", ())
        MAPPINGS.extend((node, item.rows()) for item in inputs if item.carries_rows)
        return node

    monkeypatch.setattr(run_module.InstrumentedRun, "add_node", add_node)
    yield


def test_loop_escape_makes_the_rebuilt_frame_unknown(inspect_code):
    code = textwrap.dedent("""\
        import pandas as pd
        df = pd.DataFrame({"k": [1, 2, 3], "t": ["a", "b", "c"]})
        rows = []
        for _, row in df.iterrows():
            rows.append({"k": row["k"], "t": row["t"].upper()})
        rebuilt = pd.DataFrame(rows)
        print(rebuilt)
        """)
    result = PipelineInspector.on_pipeline_from_string(code).add_inspection(LINEAGE).execute()
    rebuilt = result.nodes[-1]
    assert rebuilt.description == "Create DataFrame from list (possibly from escaped rows)"
    assert [p.node_id for p in result.parents(rebuilt)] == [0]
    (mapping,) = _inputs(result, rebuilt)
    assert isinstance(mapping, Unknown)
    assert "iterrows of node 0" in mapping.reason and "line 4:" in mapping.reason and "line 6:" in mapping.reason
    lineage = list(result.dag_node_to_inspection_results[rebuilt][LINEAGE]["lineage"])
    assert len(lineage) == 3 and all(isinstance(row, UnknownProvenance) and "iterrows" in str(row) for row in lineage)


def test_after_a_loop_escape_only_frames_that_may_hold_escaped_values_are_unknown():
    code = textwrap.dedent("""\
        import pandas as pd
        df = pd.DataFrame({"k": [1, 2, 3], "t": ["a", "b", "c"]})
        rows = [row["k"] for _, row in df.iterrows()]
        lookup = pd.DataFrame({"k": [1, 2], "name": ["one", "two"]}, columns=["k", "name"])
        table = pd.DataFrame(
            [[1, "x"],
             [2, "y"]], columns=["k", "n"])
        empty = pd.DataFrame()
        rebuilt = pd.DataFrame({"k": rows, "name": ["one", "two", "three"]})
        print(lookup.shape, table.shape, empty.shape, rebuilt.shape)
        """)
    result = PipelineInspector.on_pipeline_from_string(code).add_inspection(LINEAGE).execute()
    by_line = {n.code_location.lineno: n for n in result.nodes}
    for line in (4, 5, 8):  # written out in the source: constants only
        assert "escaped" not in by_line[line].description and by_line[line].operator_type.name == "DATA_SOURCE"
        assert result.parents(by_line[line]) == []
    assert by_line[9].description == "Create DataFrame from dict (possibly from escaped rows)"
    assert [cut.node_id for cut in result.provenance_cuts] == [by_line[9].node_id]


def test_resample_aggregations_fold_the_rows_of_each_bin_and_upsampling_is_unknown():
    code = textwrap.dedent("""\
        import pandas as pd
        times = pd.to_datetime(["2024-01-01 00:00", "2024-01-02 12:00", "2024-01-01 12:00", "2024-01-03 00:00",
                                "2024-01-02 00:00", "2024-01-01 06:00"])
        df = pd.DataFrame({"t": times, "v": [1, 2, 3, 4, 5, 6], "g": ["a", "a", "b", "b", "a", "a"]})
        daily = df.resample("D", on="t")["v"].sum()
        two_days = df.set_index("t").resample("2D", closed="left").agg({"v": "max"})
        finer = df.set_index("t")["v"].resample("6h").ffill()
        print(daily.tolist(), two_days["v"].tolist(), len(finer))
        """)
    result = PipelineInspector.on_pipeline_from_string(code).add_inspections([LINEAGE, HISTOGRAM]).execute()
    namespace = {}
    exec(code, namespace)  # the plain run, for the reference
    times = namespace["df"]["t"]
    by_line = {n.code_location.lineno: n for n in result.nodes if n.operator_type.name != "PROJECTION"}
    for line, rule in ((5, "D"), (6, "2D")):
        node = by_line[line]
        assert node.operator_type.name == "GROUP_BY_AGG" and node.description.startswith(f"Resample('{rule}'")
        bins = times.dt.floor(rule) if rule == "D" else times.dt.floor("D").map(
            lambda day: pd.Timestamp("2024-01-01") + (day - pd.Timestamp("2024-01-01")) // pd.Timedelta("2D") *
            pd.Timedelta("2D"))
        expected = [frozenset(f"source0[{row}]" for row in range(len(times)) if bins[row] == label)
                    for label in sorted(set(bins))]
        lineage = result.dag_node_to_inspection_results[node][LINEAGE]["lineage"]
        assert [frozenset(f"{s}[{r}]" for s, r in p.variables()) for p in lineage] == expected
    # A bin keeps a value only where all its rows share it: Jan 1 mixes a and b, Jan 2 is a, Jan 3 is b.
    assert result.dag_node_to_inspection_results[by_line[5]][HISTOGRAM] == {"g": {"a": 1, "b": 1, None: 1}}
    upsampled = by_line[7]
    assert upsampled.operator_type.name == "RESHAPE" and [c.node_id for c in result.provenance_cuts] == [
        upsampled.node_id]
    assert "ffill() of a resampling" in result.provenance_cuts[0].reason


def test_duplicate_row_labels_are_followed_by_row_id_without_changing_results(inspect_code):
    code = textwrap.dedent("""\
        import numpy as np
        import pandas as pd
        df = pd.DataFrame({"a": [3.0, np.nan, 1.0, np.nan], "b": [np.nan, np.nan, 2.0, 5.0]}, index=[0, 0, 1, 1])
        ordered = df.sort_index(ascending=False)
        empty_rows = df.dropna(how="all")
        complete = df.dropna(thresh=1)
        unique = df.drop_duplicates()
        print(ordered.to_dict("split"), empty_rows.to_dict("split"), complete.to_dict("split"),
              unique.to_dict("split"))
        """)
    namespace = {}
    import contextlib
    import io

    plain = io.StringIO()
    with contextlib.redirect_stdout(plain):
        exec(compile(code, "plain", "exec"), namespace)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = PipelineInspector.on_pipeline_from_string(code).add_inspection(LINEAGE).execute()
    assert out.getvalue() == plain.getvalue()
    assert result.internal_errors == []
    expected = {"Sort by row labels": namespace["ordered"], "Drop rows with missing values": namespace["empty_rows"]}
    for description, frame in expected.items():
        # Each output row's lineage is the source row with the same values (all rows differ).
        source = namespace["df"].reset_index(drop=True)
        reference = [[(0, int(source.index[(source.fillna(-1) == row.fillna(-1)).all(axis=1)][0]))]
                     for _, row in frame.iterrows()]
        assert _lineage(result, [n for n in result.nodes if n.description == description][0]) == reference


def test_frame_from_series_dict_aligns_rows_by_label(inspect_code):
    result = (PipelineInspector.on_pipeline_from_string(textwrap.dedent("""
        import pandas as pd
        df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [5, 6, 7, 8]})
        part = df[df["a"] > 2]
        both = pd.DataFrame({"all": df["b"], "some": part["a"]})
        """)).add_inspection(LINEAGE).execute())
    assert result.internal_errors == []
    assert _lineage(result, result.nodes[-1]) == identity(4)


def test_column_wise_apply_follows_the_generic_rule(inspect_code):
    result = (PipelineInspector.on_pipeline_from_string(textwrap.dedent("""
        import numpy as np
        import pandas as pd
        df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
        logs = df.apply(np.log1p)
        means = df.apply(np.mean)
        print(means.round(2).to_dict())
        ordered = df.apply(lambda column: column.sort_values(ascending=False).to_numpy())
        both = pd.concat([logs, ordered])
        """)).add_inspection(LINEAGE).execute())
    assert result.internal_errors == []
    assert [(n.operator_type.name, n.description) for n in result.nodes] == [
        ("DATA_SOURCE", "Create DataFrame from dict"), ("PROJECTION_MODIFY", "Apply log1p to every value"),
        ("RESHAPE", "apply(lambda)"), ("CONCATENATION", "Concatenate 2 rows")]
    assert _lineage(result, result.nodes[1]) == identity(3)
    # A function may reorder each column: the same labels prove nothing, the rows are unknown.
    (mapping,) = _inputs(result, result.nodes[2])
    assert isinstance(mapping, Unknown) and "DataFrame.apply" in mapping.reason


STORES = """\
import pandas as pd
df = pd.DataFrame({"g": ["a", "b", "a", "c"], "x": [1.0, -2.0, 3.0, -4.0], "y": [0.5, 1.5, 2.5, 3.5]})
df.loc[df["x"] > 0, "g"] = "z"
df.loc[df["y"] > 1, "x"] += 10
df["y"] *= 2
df.iloc[0, 2] -= 1
df.at[1, "x"] = 7.0
s = df["y"].copy()
s[s > 3] += df["x"]
df["w"] = s
df.loc[len(df)] = ["n", 0.0, 0.0, 0.0]
"""


def _frame_after(code, line, perturbed=None):
    """Brute force: the plain run's ``df`` after ``line`` lines, with source column ``perturbed`` changed."""
    lines = code.splitlines()[:line]
    if perturbed is not None:
        lines.insert(2, f'df["{perturbed}"] = df["{perturbed}"] * -3 + 0.25')
    namespace = {}
    exec("\n".join(lines), namespace)
    return namespace["df"]


def test_loc_iloc_at_and_augmented_stores_are_nodes_with_rows_columns_and_values_of_a_plain_run():
    histogram = HistogramForColumns(["g"])
    provenance = ColumnProvenance()
    result = (PipelineInspector.on_pipeline_from_string(STORES)
              .add_inspections([LINEAGE, provenance, histogram]).execute())
    assert result.internal_errors == [] and result.provenance_cuts == []
    stores = {n.code_location.lineno: n for n in result.nodes if n.function.name.endswith("__setitem__")}
    assert {line: (n.operator_type.name, n.description) for line, n in stores.items()} == {
        3: ("PROJECTION_MODIFY", "Set values loc[x > 0, 'g'] = 'z'"),
        4: ("PROJECTION_MODIFY", "Set values loc[y > 1, 'x'] += 10"),
        5: ("PROJECTION_MODIFY", "Set values ['y'] *= 2"),
        6: ("PROJECTION_MODIFY", "Set values iloc[0, 2] -= 1"),
        7: ("PROJECTION_MODIFY", "Set values at[1, 'x'] = 7.0"),
        9: ("PROJECTION_MODIFY", "Set values [y > 3] += x"),
        10: ("PROJECTION_MODIFY", "Set column 'w': y"),
        11: ("PROJECTION_MODIFY", "Set values loc[4] = ['n', 0.0, 0.0, 0.0]")}
    for line, node in stores.items():
        if line in (9, 10):
            continue  # the Series s, and df's column set from it
        plain = _frame_after(STORES, line)
        # Histograms read the stored values: the first store changed g.
        assert result.dag_node_to_inspection_results[node][histogram]["g"] == dict(plain["g"].value_counts())
    last = stores[11]
    # The appended row comes from no source row; the others are still their source rows.
    assert _lineage(result, last) == identity(4) + [[]]
    plain = _frame_after(STORES, 11)
    shown = result.dag_node_to_inspection_results[last][LINEAGE]
    pd.testing.assert_frame_equal(shown.drop(columns="lineage"), plain.reset_index(drop=True))
    found = result.dag_node_to_inspection_results[last][provenance]
    for column in ("x", "y"):
        moved = _frame_after(STORES, 11, column)
        changed = {c for c in plain.columns if not plain[c].equals(moved[c])}
        assert changed == {c for c in plain.columns if ("source0", column) in found[c]}, column
    assert found["x"] == {("source0", "x"), ("source0", "y")}  # += keeps x; the mask read y


def test_after_a_loop_escape_frames_from_range_and_constants_are_sources_and_rebuilt_ones_are_cut():
    code = textwrap.dedent("""\
        import pandas as pd
        df = pd.DataFrame({"k": [1, 2, 3], "t": ["a", "b", "c"]})
        N = 4
        doubled, last = [], 0
        for _, row in df.iterrows():
            doubled.append(row["k"] * 2)
            last = row["k"]
        ranged = pd.DataFrame({"k": range(3)})
        constants = pd.DataFrame({"k": list(range(N)), "v": [0.5] * N, "w": range(1, 2 * N, 2)})
        counted = pd.DataFrame({"k": range(len(doubled))})
        rebuilt = pd.DataFrame({"k": doubled})
        from_last = pd.DataFrame({"k": range(last)})
        print(ranged.shape, constants.shape, counted.shape, rebuilt.shape, from_last.shape)
        """)
    result = PipelineInspector.on_pipeline_from_string(code).add_inspection(LINEAGE).execute()
    by_line = {n.code_location.lineno: n for n in result.nodes if n.code_location.lineno > 2}
    for line in (8, 9, 10):  # data from literals, range, a name bound once to a constant, a count
        assert by_line[line].description == "Create DataFrame from dict" and result.parents(by_line[line]) == []
        lineage = result.dag_node_to_inspection_results[by_line[line]][LINEAGE]["lineage"]
        assert [str(p) for p in lineage] == [f"source{by_line[line].node_id}[{i}]" for i in range(len(lineage))]
    # Values appended in the loop, and a range whose bound is a row's value (``last`` is bound twice)
    for line in (11, 12):
        assert by_line[line].description == "Create DataFrame from dict (possibly from escaped rows)"
    assert [cut.node_id for cut in result.provenance_cuts] == [by_line[11].node_id, by_line[12].node_id]
