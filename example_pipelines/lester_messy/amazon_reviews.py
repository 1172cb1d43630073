# Fake review detection -- in the style of the Lester paper's "amazon reviews" messy script:
# a TSV read with the csv module into tuples, a hand-made train/test split over both halves of
# the file, one dict of features per review built in a loop, DictVectorizer and a linear SVM.
# The original tokenised with nltk (stop words, lemmatiser, bigrams), downloading its corpora at
# start-up; a sandbox has no network, so this one brings its own stop words and no lemmatiser.
#
# Usage: python amazon_reviews.py [REVIEWS_TSV]   (default: amazon_reviews.tsv in the working directory)
import csv
import string
import sys

from sklearn.feature_extraction import DictVectorizer
from sklearn.metrics import accuracy_score
from sklearn.svm import LinearSVC

STOP_WORDS = {"the", "a", "an", "and", "it", "was", "is", "this", "for", "with", "very", "really", "to", "of"}

review_path = sys.argv[1] if len(sys.argv) > 1 else "amazon_reviews.tsv"


def parse_review(line):
    label = "fake" if line[1] == "__label1__" else "real"
    return (line[0], line[2], line[3], line[4], line[8], label)


raw_data = []
with open(review_path) as f:
    reader = csv.reader(f, delimiter="\t")
    next(reader)
    for line in reader:
        raw_data.append(parse_review(line))


def split_data(data, percentage):
    # the first `percentage` of each half of the file is for training
    train, test = [], []
    half = int(len(data) / 2)
    n_train = int((percentage * len(data)) / 2)
    for row in data[:n_train] + data[half:half + n_train]:
        train.append(row)
    for row in data[n_train:half] + data[half + n_train:]:
        test.append(row)
    return train, test


train_data, test_data = split_data(raw_data, 0.8)

table = str.maketrans({key: None for key in string.punctuation})


def pre_process(text):
    tokens = []
    for w in text.translate(table).split(" "):
        if w.lower() not in STOP_WORDS and w:
            tokens.append(w.lower())
    bigrams = [" ".join(pair) for pair in zip(tokens, tokens[1:])]
    return bigrams + tokens


def to_feature_vector(rating, verified, category, tokens):
    local = {"R": int(rating), "VP": 0 if verified == "N" else 1, category: 1}
    for token in tokens:
        local[token] = local.get(token, 0) + 1
    return local


train_features, train_labels = [], []
for (_, rating, verified, category, text, label) in train_data:
    train_features.append(to_feature_vector(rating, verified, category, pre_process(text)))
    train_labels.append(label)

vectoriser = DictVectorizer(sparse=False)
X_train = vectoriser.fit_transform(train_features)
classifier = LinearSVC(C=0.5, random_state=0)
classifier.fit(X_train, train_labels)

test_features = [to_feature_vector(r, v, c, pre_process(t)) for (_, r, v, c, t, _) in test_data]
predictions = classifier.predict(vectoriser.transform(test_features))
print(f"accuracy: {accuracy_score([row[5] for row in test_data], predictions):.3f}")
