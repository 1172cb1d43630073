# Product categories from reviews -- in the style of the Lester paper's first e-commerce task: four
# partitions of products and reviews read by relative path from the working directory, a nested-loop
# join, a shuffle, train/dev/test files written with a "|-|-|" separator and read back, hand-made
# bag-of-words counts, logistic regression.
#
# Usage: python ecom_task1.py   (reads ./data/dataset/*.tsv, writes ./data/{train,dev,test}.txt)
from random import seed, shuffle

import numpy as np
from sklearn.linear_model import LogisticRegression


def read_dataset(products_path, reviews_path, id):
    product_data = []
    with open(products_path.format(id), "r", encoding="utf-8") as product_file:
        for line in product_file.readlines():
            product_data.append(line.strip("\n").split("\t"))
    review_data = []
    with open(reviews_path.format(id), "r", encoding="utf-8") as review_file:
        for line in review_file.readlines():
            review_data.append(line.strip("\n").split("\t"))
    return product_data, review_data


def union_dataset(products_data, reviews_data):
    union_data = []
    for product in products_data:
        for review in reviews_data:
            if review[0] == product[0]:
                union_data.append([product[0], product[2], review[2], review[1], product[1]])
    return union_data


def save_dataset(data, save_path):
    with open(save_path, "w", encoding="utf-8") as file:
        for item in data:
            file.writelines("|-|-|".join(item) + "\n")


def load_split(path):
    with open(path, encoding="utf-8") as file:
        return [line.rstrip("\n").split("|-|-|") for line in file]


products_path = "./data/dataset/products-data-{0}.tsv"
reviews_path = "./data/dataset/reviews-{0}.tsv"
products_data, reviews_data = [], []
for id in range(4):
    product_data, review_data = read_dataset(products_path, reviews_path, id)
    products_data += product_data
    reviews_data += review_data
union_data = union_dataset(products_data, reviews_data)

seed(0)
shuffle(union_data)
train_data = union_data[:int(0.8 * len(union_data))]
dev_data = union_data[int(0.8 * len(union_data)):int(0.9 * len(union_data))]
test_data = union_data[int(0.9 * len(union_data)):]
save_dataset(train_data, "./data/train.txt")
save_dataset(dev_data, "./data/dev.txt")
save_dataset(test_data, "./data/test.txt")

train = load_split("./data/train.txt")
vocabulary = {}
for row in train:
    for word in row[2].lower().split():
        vocabulary.setdefault(word, len(vocabulary))


def bag_of_words(rows):
    counts = np.zeros((len(rows), len(vocabulary) + 1))
    for i, row in enumerate(rows):
        for word in row[2].lower().split():
            if word in vocabulary:
                counts[i, vocabulary[word]] += 1
        counts[i, -1] = float(row[3])
    return counts


model = LogisticRegression(max_iter=1000)
model.fit(bag_of_words(train), [row[4] for row in train])
test = load_split("./data/test.txt")
print(f"test accuracy: {model.score(bag_of_words(test), [row[4] for row in test]):.3f}")
