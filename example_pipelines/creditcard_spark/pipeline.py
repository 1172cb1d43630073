"""Predict the sentiment of customer mails to a bank, with PySpark and Spark ML.

The credit card example pipeline (``../creditcard/pipeline.py``) written with Spark:
the data preparation with Spark DataFrames, the features (hashed words of title and
text, the country, the premium flag) and the model with Spark ML. Some mail subjects
contain card numbers: the leak ``lester-inspect`` finds and forgets.

Usage: ``python pipeline.py [DATA_DIR]``; DATA_DIR defaults to ``data/`` next to
this script and must contain ``mails.csv`` and ``customers.csv``.
"""

import os
import sys

from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.feature import HashingTF, IDF, OneHotEncoder, StringIndexer, Tokenizer, VectorAssembler
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

FIRST_DAY = "2021-01-01"
COUNTRIES = ["DE", "FR", "GB", "NL"]


def prepare_data(spark, mails_path, customers_path):
    """Recent mails of customers in the countries of interest, with title, text, premium flag and label."""
    mails = spark.read.csv(mails_path, header=True, inferSchema=True)
    customers = spark.read.csv(customers_path, header=True, inferSchema=True)
    mails = mails.filter(F.col("date") >= FIRST_DAY)
    customers = customers.filter(F.col("country").isin(COUNTRIES))
    data = mails.join(customers, on="customer_id")
    data = data.withColumn("title", F.lower(F.col("mail_subject")))
    data = data.withColumn("text", F.concat_ws(" ", F.col("title"), F.lower(F.col("mail_text"))))
    data = data.withColumn("is_premium", (F.col("customer_segment") == "premium").cast("double"))
    return data.withColumn("label", (F.col("sentiment") == "positive").cast("double"))


def encode_features():
    """Hashed words of title and text (weighted by IDF), the country and the premium flag."""
    return [
        Tokenizer(inputCol="title", outputCol="title_words"),
        HashingTF(inputCol="title_words", outputCol="title_hashed", numFeatures=2**5),
        Tokenizer(inputCol="text", outputCol="text_words"),
        HashingTF(inputCol="text_words", outputCol="text_counts", numFeatures=2**7),
        IDF(inputCol="text_counts", outputCol="text_hashed"),
        StringIndexer(inputCol="country", outputCol="country_index", handleInvalid="keep"),
        OneHotEncoder(inputCol="country_index", outputCol="country_onehot"),
        VectorAssembler(inputCols=["title_hashed", "text_hashed", "country_onehot", "is_premium"],
                        outputCol="features"),
    ]


if __name__ == "__main__":
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    spark = SparkSession.builder.appName("creditcard").getOrCreate()
    data = prepare_data(spark, os.path.join(data_dir, "mails.csv"), os.path.join(data_dir, "customers.csv"))
    train_data, test_data = data.randomSplit([0.8, 0.2], seed=42)

    pipeline = Pipeline(stages=[*encode_features(), LogisticRegression(featuresCol="features", labelCol="label",
                                                                        maxIter=20, regParam=0.01)])
    model = pipeline.fit(train_data)
    predictions = model.transform(test_data)
    accuracy = MulticlassClassificationEvaluator(labelCol="label", metricName="accuracy").evaluate(predictions)
    print(f"Test accuracy: {accuracy:.4f}")
