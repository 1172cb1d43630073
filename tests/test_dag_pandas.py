"""The DAG extracted from pandas code: one test per recognised operation."""
import textwrap

import pandas as pd
import pytest

from conftest import locate, summarize


@pytest.fixture
def csv_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"id": [1, 2, 3, 4], "age": [20, 35, None, 50], "county": ["c1", "c2", "c3", "c2"],
                  "name": ["Ann", "bob", "Cy", "dee"]}).to_csv("people.csv", index=False)
    pd.DataFrame({"pid": [1, 2, 2, 4], "amount": [10.0, 20.0, 5.0, 7.5]}).to_csv("orders.csv", index=False)
    pd.DataFrame({"id": [1, 2], "x": [0.5, 1.5]}).to_parquet("extra.parquet")
    return tmp_path


def test_sources_projection_selection_and_locations(inspect_code, csv_files):
    code = textwrap.dedent("""\
        import pandas as pd
        people = pd.read_csv("people.csv")
        extra = pd.read_parquet("extra.parquet")
        frame = pd.DataFrame({"k": [1, 2]})
        people = people[people["county"].isin(["c2", "c3"])]
        people = people[["id", "age"]]
        """)
    result = inspect_code(code)
    assert summarize(result) == [
        (0, "DATA_SOURCE", "Read people.csv", []),
        (1, "DATA_SOURCE", "Read extra.parquet", []),
        (2, "DATA_SOURCE", "Create DataFrame from dict", []),
        (3, "SELECTION", "Select: county isin ['c2', 'c3']", [0]),
        (4, "PROJECTION", "Project: ['id', 'age']", [3]),
    ]
    nodes = result.nodes
    assert nodes[0].code_location == locate(code, 'pd.read_csv("people.csv")')
    assert nodes[0].source_code == 'pd.read_csv("people.csv")'
    assert nodes[0].function == ("pandas", "read_csv")
    assert nodes[0].columns == ("id", "age", "county", "name")
    assert nodes[3].code_location == locate(code, 'people[people["county"].isin(["c2", "c3"])]')
    assert nodes[3].function.name == "DataFrame.__getitem__"
    assert nodes[4].columns == ("id", "age")


def test_loc_query_dropna_and_row_dropping(inspect_code, csv_files):
    result = inspect_code("""
        import pandas as pd
        df = pd.read_csv("people.csv")
        a = df.loc[df["age"] > 30]
        b = df.loc[df["age"] > 30, ["id", "county"]]
        c = df.loc[:, ["id"]]
        d = df.query("age < 40")
        e = df.dropna()
        f = df.dropna(subset=["age"])
        g = df.drop(columns=["name"])
        h = df.drop(index=[0, 1])
        i = df.drop_duplicates(subset=["county"])
        j = df.iloc[1:3]
        """)
    assert summarize(result)[1:] == [
        (1, "SELECTION", "Select: age > 30", [0]),
        (2, "SELECTION", "Select: age > 30, project ['id', 'county']", [0]),
        (3, "PROJECTION", "Project: ['id']", [0]),
        (4, "SELECTION", "Select: age < 40", [0]),
        (5, "SELECTION", "Drop rows with missing values", [0]),
        (6, "SELECTION", "Drop rows with missing values in ['age']", [0]),
        (7, "PROJECTION", "Drop columns ['name']", [0]),
        (8, "SELECTION", "Drop rows [0, 1]", [0]),
        (9, "SELECTION", "Drop duplicate rows by ['county']", [0]),
        (10, "SELECTION", "Select rows: slice(1, 3, None)", [0]),
    ]


def test_modifications_setitem_assign_and_series_expressions(inspect_code, csv_files):
    code = textwrap.dedent("""\
        import pandas as pd
        df = pd.read_csv("people.csv")
        df = df.fillna(0)
        df = df.replace("c3", "c2")
        df["older"] = (df["age"] + 1) * 2 >= 40
        df["lower"] = df["name"].str.lower()
        df["code"] = df["county"].map({"c1": 1, "c2": 2}).fillna(0)
        df["short"] = df["name"].apply(len) < 3
        df = df.assign(flag=~df["older"], const=1)
        df = df.astype({"age": "float64"})
        df = df.rename(columns={"name": "first_name"})
        """)
    result = inspect_code(code)
    assert summarize(result) == [
        (0, "DATA_SOURCE", "Read people.csv", []),
        (1, "PROJECTION_MODIFY", "Fill missing values with 0", [0]),
        (2, "PROJECTION_MODIFY", "Replace 'c3' with 'c2'", [1]),
        (3, "PROJECTION_MODIFY", "Set column 'older': (age + 1) * 2 >= 40", [2]),
        (4, "PROJECTION_MODIFY", "Set column 'lower': name.str.lower()", [3]),
        (5, "PROJECTION_MODIFY", "Set column 'code': county.map({'c1': 1, 'c2': 2}).fillna(0)", [4]),
        (6, "PROJECTION_MODIFY", "Set column 'short': name.apply(len) < 3", [5]),
        (7, "PROJECTION_MODIFY", "Assign flag = ~older; const = 1", [6]),
        (8, "PROJECTION_MODIFY", "Cast to {'age': 'float64'}", [7]),
        (9, "PROJECTION", "Rename {'name': 'first_name'}", [8]),
    ]
    setitem = result.nodes[3]
    assert setitem.code_location == locate(code, 'df["older"] = (df["age"] + 1) * 2 >= 40')
    assert setitem.columns == ("id", "age", "county", "name", "older")
    assert result.nodes[-1].columns == ("id", "age", "county", "first_name", "older", "lower", "code", "short",
                                        "flag", "const")


def test_joins_on_keys_left_right_on_and_index(inspect_code, csv_files):
    result = inspect_code("""
        import pandas as pd
        people = pd.read_csv("people.csv")
        orders = pd.read_csv("orders.csv")
        a = people.merge(orders, left_on="id", right_on="pid", how="left")
        b = pd.merge(orders, people, left_on=["pid"], right_on=["id"])
        c = people.set_index("id").join(orders.set_index("pid"), how="inner")
        d = people.merge(people, on="id", suffixes=("_l", "_r"))
        """)
    rows = summarize(result)
    assert rows[2:4] == [(2, "JOIN", "Left join on ['id'] = ['pid']", [0, 1]),
                         (3, "JOIN", "Inner join on ['pid'] = ['id']", [1, 0])]
    assert rows[4:7] == [(4, "PROJECTION_MODIFY", "Set index ['id']", [0]),
                         (5, "PROJECTION_MODIFY", "Set index ['pid']", [1]),
                         (6, "JOIN", "Inner join on index", [4, 5])]
    assert rows[7] == (7, "JOIN", "Inner join on ['id']", [0])


def test_groupby_aggregations(inspect_code, csv_files):
    result = inspect_code("""
        import pandas as pd
        orders = pd.read_csv("orders.csv")
        a = orders.groupby("pid").agg(total=("amount", "sum"))
        b = orders.groupby("pid")["amount"].mean()
        c = orders.groupby(["pid"]).size()
        d = orders.groupby("pid").count()
        """)
    assert summarize(result)[1:] == [
        (1, "GROUP_BY_AGG", "Group by ['pid']: agg(total=('amount', 'sum'))", [0]),
        (2, "GROUP_BY_AGG", "Group by ['pid']: amount.mean()", [0]),
        (3, "GROUP_BY_AGG", "Group by ['pid']: size()", [0]),
        (4, "GROUP_BY_AGG", "Group by ['pid']: count()", [0]),
    ]


def test_concat_sort_head_sample_explode(inspect_code, csv_files):
    result = inspect_code("""
        import pandas as pd
        people = pd.read_csv("people.csv")
        orders = pd.read_csv("orders.csv")
        rows = pd.concat([people, people], ignore_index=True)
        cols = pd.concat([people, orders], axis=1)
        s = people.sort_values(by="age")
        h = people.head(2)
        r = people.sample(n=2, random_state=0)
        people["tags"] = people["name"].str.split("o")
        e = people.explode("tags")
        """)
    assert summarize(result)[2:] == [
        (2, "CONCATENATION", "Concatenate 2 rows", [0]),
        (3, "CONCATENATION", "Concatenate 2 columns", [0, 1]),
        (4, "SORT", "Sort by ['age']", [0]),
        (5, "SELECTION", "First 2 rows", [0]),
        (6, "SELECTION", "Sample 2 rows", [0]),
        (7, "PROJECTION_MODIFY", "Set column 'tags': name.str.split('o')", [0]),
        (8, "RESHAPE", "Explode ['tags']", [7]),
    ]


def test_series_used_as_data_becomes_one_node(inspect_code, csv_files):
    code = textwrap.dedent("""\
        import pandas as pd
        df = pd.read_csv("people.csv")
        labels = df["county"].map({"c1": 0, "c2": 1})
        ids = df["id"]
        both = pd.concat([labels, ids], axis=1)
        positive = df["age"][df["age"] > 30]
        """)
    result = inspect_code(code)
    assert summarize(result) == [
        (0, "DATA_SOURCE", "Read people.csv", []),
        (1, "PROJECTION_MODIFY", "Compute: county.map({'c1': 0, 'c2': 1})", [0]),
        (2, "PROJECTION", "Project: ['id']", [0]),
        (3, "CONCATENATION", "Concatenate 2 columns", [1, 2]),
        (4, "PROJECTION", "Project: ['age']", [0]),
        (5, "SELECTION", "Select: age > 30", [4]),
    ]
    # A pending Series becomes a node where it was computed, not where it was used.
    assert result.nodes[1].code_location == locate(code, 'df["county"].map({"c1": 0, "c2": 1})')
    assert result.nodes[2].code_location == locate(code, 'df["id"]')


def test_mask_from_another_frame_is_an_input_of_the_selection(inspect_code, csv_files):
    result = inspect_code("""
        import pandas as pd
        df = pd.read_csv("people.csv")
        other = pd.read_csv("people.csv")
        picked = df[other["age"] > 30]
        """)
    assert summarize(result)[2:] == [
        (2, "PROJECTION_MODIFY", "Compute: age > 30", [1]),
        (3, "SELECTION", "Select: age > 30", [0, 2]),
    ]


def test_to_numpy_and_values_keep_the_producer(inspect_code, csv_files):
    result = inspect_code("""
        import pandas as pd
        df = pd.read_csv("people.csv")
        X = df[["id", "age"]].values
        Y = df[["id"]].to_numpy()
        frame = pd.DataFrame(X)
        """)
    assert summarize(result)[1:] == [
        (1, "PROJECTION", "Project: ['id', 'age']", [0]),
        (2, "PROJECTION", "Project: ['id']", [0]),
        (3, "PROJECTION_MODIFY", "Create DataFrame from ndarray", [1]),
    ]


def test_internal_pandas_calls_and_unused_expressions_create_no_nodes(inspect_code, csv_files):
    result = inspect_code("""
        import pandas as pd
        df = pd.read_csv("people.csv")
        print(df.describe())
        print(df["age"].mean(), (df["age"] > 3).sum())
        """)
    assert summarize(result) == [(0, "DATA_SOURCE", "Read people.csv", [])]


def test_inplace_operations_update_the_frame(inspect_code, csv_files):
    result = inspect_code("""
        import pandas as pd
        df = pd.read_csv("people.csv")
        df.dropna(inplace=True)
        df = df[["id"]]
        """)
    assert summarize(result) == [
        (0, "DATA_SOURCE", "Read people.csv", []),
        (1, "SELECTION", "Drop rows with missing values", [0]),
        (2, "PROJECTION", "Project: ['id']", [1]),
    ]
