"""Predict which patients have more complications than usual for their age, with PySpark.

The healthcare example pipeline (``../healthcare/pipeline.py``) written with Spark
DataFrames and Spark ML. Its county filter keeps two young counties and so shifts
the age distribution of the training data; ``NoBiasIntroducedFor(['age_group'])``
flags it.

Usage: ``python pipeline.py [DATA_DIR]``; DATA_DIR defaults to ``data/`` next to
this script. The SparkSession is the one ``spark-submit`` or the caller configured
(``getOrCreate``), local otherwise.
"""

import os
import sys

from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.feature import Imputer, OneHotEncoder, StandardScaler, StringIndexer, VectorAssembler
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

COUNTIES_OF_INTEREST = ["county2", "county3"]
CATEGORIES = ["smoker", "county", "race"]
NUMBERS = ["num_children", "income"]

data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
spark = SparkSession.builder.appName("healthcare").getOrCreate()

patients = spark.read.csv(os.path.join(data_dir, "patients.csv"), header=True, inferSchema=True)
histories = spark.read.csv(os.path.join(data_dir, "histories.csv"), header=True, inferSchema=True)

data = patients.join(histories, on="ssn")
complications = data.groupBy("age_group").agg(F.mean("complications").alias("mean_complications"))
data = data.join(complications, on="age_group")
data = data.withColumn("label", (F.col("complications") > 1.2 * F.col("mean_complications")).cast("double"))
data = data.select("smoker", "last_name", "county", "num_children", "race", "income", "label")
data = data.filter(F.col("county").isin(COUNTIES_OF_INTEREST))

train_data, test_data = data.randomSplit([0.75, 0.25], seed=0)
pipeline = Pipeline(stages=[
    Imputer(inputCols=NUMBERS, outputCols=[f"{c}_imputed" for c in NUMBERS], strategy="median"),
    StringIndexer(inputCols=CATEGORIES, outputCols=[f"{c}_index" for c in CATEGORIES], handleInvalid="keep"),
    OneHotEncoder(inputCols=[f"{c}_index" for c in CATEGORIES], outputCols=[f"{c}_onehot" for c in CATEGORIES]),
    VectorAssembler(inputCols=[f"{c}_onehot" for c in CATEGORIES] + [f"{c}_imputed" for c in NUMBERS],
                    outputCol="raw_features"),
    StandardScaler(inputCol="raw_features", outputCol="features"),
    LogisticRegression(featuresCol="features", labelCol="label", maxIter=10),
])
model = pipeline.fit(train_data)
predictions = model.transform(test_data)
auc = BinaryClassificationEvaluator(labelCol="label").evaluate(predictions)
print(f"Training rows: {train_data.count()}, test rows: {test_data.count()}")
print(f"Test AUC: {auc:.4f}")
