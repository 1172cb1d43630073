"""A small local SparkSession for tests, examples and benchmarks (never made for a user's pipeline)."""
from __future__ import annotations


def local_session(cores: int = 2, shuffle_partitions: int = 2):
    """``local[cores]`` without UI, few shuffle partitions (tiny data), quiet logs; reused once made."""
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master(f"local[{cores}]").appName("lester-inspect")
               .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
               .config("spark.default.parallelism", str(cores)).config("spark.ui.enabled", "false")
               .config("spark.sql.adaptive.enabled", "false").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    return session
