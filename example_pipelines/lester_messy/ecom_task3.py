# Product categories from names and reviews -- in the style of the Lester paper's third e-commerce
# task: text cleaned by a chain of small functions in loops, ratings rescaled by chained `.loc`
# assignments, a word index and an embedding matrix filled word by word, the mean embedding of each
# text plus the rating as features. The original used nltk (tokeniser, lemmatiser, downloaded
# corpora), Keras' Tokenizer and a gensim FastText model; none of them can be downloaded or trained
# offline here, so this one tokenises by hand and draws one fixed random vector per word.
#
# Usage: python ecom_task3.py DATASET_FOLDER
import re
import string
import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

folder = sys.argv[1]
products = pd.concat([pd.read_csv(f"{folder}/products-data-{i}.tsv", sep="\t",
                                  names=["product_id", "category", "product_name"]) for i in range(4)])
reviews = pd.concat([pd.read_csv(f"{folder}/reviews-{i}.tsv", sep="\t", names=["product_id", "rating", "review"])
                     for i in [0, 1, 3]])
data = products.merge(reviews, on="product_id")


def text_lowercase(text):
    return text.lower()


def remove_urls(text):
    return " ".join(re.sub(r"(@[A-Za-z0-9]+)|([^0-9A-Za-z \t])|(\w+:\/\/\S+)", " ", text).split())


def remove_numbers(text):
    return re.sub(r"\d+", "", text)


def remove_punctuation(text):
    return text.translate(str.maketrans("", "", string.punctuation))


def lemmatize(tokens):
    return [token[:-1] if token.endswith("s") and len(token) > 3 else token for token in tokens]


def preprocessing(text):
    text = remove_punctuation(remove_numbers(remove_urls(text_lowercase(text))))
    return " ".join(lemmatize(text.split()))


documents = []
for entry in data["product_name"]:
    documents.append(preprocessing(str(entry)))
data["product_name"] = documents
documents1 = []
for entry in data["review"]:
    documents1.append(preprocessing(str(entry)))
data["review"] = documents1

# Chained assignment: under pandas' copy-on-write (pandas 3) these change a copy, not `data`.
data["rating"].loc[data["rating"] == 1] = -1.0
data["rating"].loc[data["rating"] == 5] = 1.0

max_words = 1000
counts = {}
for text in data["product_name"] + " " + data["review"]:
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
word_index = {word: i + 1 for i, word in enumerate(sorted(counts, key=lambda w: (-counts[w], w)))}
rng = np.random.RandomState(0)
embedding_matrix = np.zeros((max_words, 16))
for word, i in word_index.items():
    if i < max_words:
        embedding_matrix[i] = rng.normal(size=16)

sequences = [[word_index[w] for w in text.split() if word_index[w] < max_words]
             for text in data["product_name"] + " " + data["review"]]
X = np.array([np.mean([embedding_matrix[i] for i in seq], axis=0) for seq in sequences])
X = np.concatenate([X, data["rating"].values.reshape(-1, 1)], axis=1)
X_train, X_test, y_train, y_test = train_test_split(X, data["category"], test_size=0.2, random_state=1)
model = LogisticRegression(max_iter=1000)
model.fit(X_train, y_train)
print(f"test accuracy: {model.score(X_test, y_test):.3f}")
