"""Synthetic inputs shaped like those of the messy scripts published with the Lester prototype.

``python generate_data.py FOLDER [--rows N] [--seed S]`` writes, into FOLDER:

* ``amazon_reviews.tsv``: tab-separated, with a header (DOC_ID, LABEL, RATING,
  VERIFIED_PURCHASE, PRODUCT_CATEGORY, PRODUCT_ID, PRODUCT_TITLE, REVIEW_TITLE,
  REVIEW_TEXT); LABEL is ``__label1__`` (fake) or ``__label2__`` (real);
* ``customers.csv`` (customer_id, email, bank, country, level) and ``mails.csv``
  (mail_id, email, date, subject, text), comma-separated, without headers;
* ``data/dataset/products-data-{0..3}.tsv`` (product_id, category, name) and
  ``data/dataset/reviews-{0..3}.tsv`` (product_id, rating, review), without
  headers; as in the real data set, ``reviews-2.tsv`` has its first two columns
  swapped (rating, product_id, review).

The values are random words from small vocabularies; labels depend on a few of
them, so the models learn something. Same seed, same files.
"""
import argparse
import os

import numpy as np

CATEGORIES = ["Jewelry", "Kitchen", "Toys", "Books"]
WORDS = {
    "Jewelry": ["silver", "ring", "earrings", "necklace", "gold", "sparkle"],
    "Kitchen": ["pan", "knife", "kettle", "spoon", "oven", "blender"],
    "Toys": ["puzzle", "doll", "blocks", "robot", "kite", "train"],
    "Books": ["novel", "chapter", "author", "story", "poems", "atlas"],
}
PRAISE = ["great", "love", "perfect", "excellent", "happy", "recommend"]
COMPLAINT = ["broken", "refund", "terrible", "late", "disappointed", "complaint"]
FILLER = ["the", "a", "it", "was", "and", "very", "this", "for", "with", "really"]


def _sentence(rng, words, length):
    return " ".join(rng.choice(words, length))


def write(folder, rows=400, seed=0):
    """Write every input file into ``folder`` (created if needed)."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, "data", "dataset"), exist_ok=True)
    _amazon(rng, folder, rows)
    _creditcards(rng, folder, rows)
    _ecommerce(rng, os.path.join(folder, "data", "dataset"), rows)


def _amazon(rng, folder, rows):
    header = ["DOC_ID", "LABEL", "RATING", "VERIFIED_PURCHASE", "PRODUCT_CATEGORY", "PRODUCT_ID", "PRODUCT_TITLE",
              "REVIEW_TITLE", "REVIEW_TEXT"]
    with open(os.path.join(folder, "amazon_reviews.tsv"), "w", encoding="utf-8") as out:
        out.write("\t".join(header) + "\n")
        for i in range(rows):
            fake = i < rows // 2  # like the real file: the fake reviews first, then the real ones
            category = rng.choice(CATEGORIES)
            verified = "N" if fake and rng.random() < 0.7 else "Y"
            words = PRAISE * 2 + FILLER if fake else PRAISE + COMPLAINT + FILLER + WORDS[category]
            text = _sentence(rng, words, int(rng.integers(6, 20))).capitalize() + "!"
            out.write("\t".join([str(i + 1), "__label1__" if fake else "__label2__", str(rng.integers(1, 6)),
                                 verified, category, f"B{rng.integers(10**6, 10**7)}",
                                 _sentence(rng, WORDS[category], 3), _sentence(rng, PRAISE, 2), text]) + "\n")


def _creditcards(rng, folder, rows):
    customers = rows // 4
    countries = ["UK", "DE", "FR", "NL", "IT"]
    with open(os.path.join(folder, "customers.csv"), "w", encoding="utf-8") as out:
        for i in range(customers):
            out.write(f"{i},customer{i}@example.com,{rng.choice(['bankA', 'bankB', 'bankC'])},"
                      f"{rng.choice(countries)},{rng.choice(['premium', 'basic', 'basic'])}\n")
    with open(os.path.join(folder, "mails.csv"), "w", encoding="utf-8") as out:
        for i in range(rows):
            happy = rng.random() < 0.5
            subject = _sentence(rng, (PRAISE if happy else COMPLAINT) + FILLER, 3)
            text = _sentence(rng, (PRAISE if happy else COMPLAINT) + FILLER + ["bank", "account", "card"], 8)
            date = f"{rng.integers(2020, 2024)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
            out.write(f"{i},customer{rng.integers(0, customers)}@example.com,{date},{subject},{text}\n")


def _ecommerce(rng, folder, rows):
    product = 0
    for part in range(4):
        products = []
        with open(os.path.join(folder, f"products-data-{part}.tsv"), "w", encoding="utf-8") as out:
            for _ in range(rows // 16):
                category = rng.choice(CATEGORIES)
                name = _sentence(rng, WORDS[category], 3).title()
                out.write(f"P{product:05d}\t{category}\t\"{name}\"\n")
                products.append((f"P{product:05d}", category))
                product += 1
        with open(os.path.join(folder, f"reviews-{part}.tsv"), "w", encoding="utf-8") as out:
            for index in range(rows // 8):
                # Every product gets a review; the rest go to random products.
                product_id, category = products[index] if index < len(products) else products[
                    rng.integers(0, len(products))]
                rating = int(rng.integers(1, 6))
                review = _sentence(rng, WORDS[category] + FILLER + (PRAISE if rating > 3 else COMPLAINT), 7)
                fields = [str(rating), product_id, review] if part == 2 else [product_id, str(rating), review]
                out.write("\t".join(fields) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    write(options.folder, options.rows, options.seed)
