"""The PySpark backend: Spark DataFrame operators and Spark ML stages as DAG nodes.

Nothing here imports pyspark at import time: the backend patches pyspark only once
the pipeline imports it (see ``backend.SparkBackend.install``).

How provenance is computed by Spark itself (``shadow.py``): every tracked Spark
DataFrame has a *shadow*, the same query plus hidden columns (row ids of the
sources, values of sensitive columns). The user's operator runs on the shadows, and
the user receives the shadow with the hidden columns dropped — so the rows the user
sees and their hidden ids come from one and the same plan, and the user's results,
schemas and printed output are those of the plain query.
"""
