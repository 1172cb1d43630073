# Is it jewelry? -- in the style of the Lester paper's second e-commerce task: the partitions read
# with pandas by relative path (one file has its columns in another order), a left merge, an 80%
# sample, text cleaned in a list comprehension, TF-IDF reduced by a truncated SVD, the rating
# inserted as the first column, logistic regression. As in the original, the test features come
# from a TF-IDF and SVD fitted again on the test rows.
#
# Usage: python ecom_task2.py   (reads ./dataset/*.tsv)
import collections
import re

import numpy as np
import pandas as pd
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


def load_data():
    data_product = pd.concat([pd.read_csv("dataset/products-data-{}.tsv".format(x), sep="\t",
                                          names=["product_id", "product_category", "product_title"])
                              for x in range(4)])
    data_reviews = pd.concat([pd.read_csv("dataset/reviews-{}.tsv".format(x), sep="\t",
                                          names=["product_id", "product_rating", "product_review"])
                              for x in [0, 1, 3]])
    data_reviews = pd.concat([data_reviews, pd.read_csv("dataset/reviews-2.tsv", sep="\t",
                                                        names=["product_rating", "product_id", "product_review"])])
    return pd.merge(data_product, data_reviews, how="left")


def preprocess(data_total, lower_dimension=20):
    label = data_total["product_category"] == "Jewelry"
    vocab = [re.sub("[^A-Za-z]+", " ", str(title)).strip().lower() + " "
             + re.sub("[^A-Za-z]+", " ", str(comment)).strip().lower()
             for title, comment in zip(data_total["product_title"], data_total["product_review"])]
    feature = TfidfVectorizer().fit_transform(vocab)
    feature = TruncatedSVD(n_components=lower_dimension, n_iter=7, random_state=42).fit_transform(feature)
    feature = np.insert(feature, 0, data_total["product_rating"], axis=1)
    return feature, label


dataset = load_data()
train_dataset = dataset.sample(frac=0.8, random_state=0)
test_dataset = dataset.drop(train_dataset.index)

feature, label = preprocess(train_dataset)
model = LogisticRegression()
model.fit(feature, label)

test_feature, test_label = preprocess(test_dataset)
predict = model.predict(test_feature)
print("prediction: {}".format(collections.Counter(predict)))
print("accuracy: {:.3f}".format(model.score(test_feature, test_label)))
