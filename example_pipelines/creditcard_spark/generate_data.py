"""Write the credit card example's customers and mails for the PySpark version of the pipeline.

The data is exactly that of ``../creditcard/generate_data.py`` (imported from there by
path), card-number leaks included, so both pipelines read the same rows.

Usage: ``python generate_data.py OUT_DIR [--mails N] [--seed S]``.
"""

import argparse
import importlib.util
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
_SPEC = importlib.util.spec_from_file_location(
    "creditcard_generate_data", os.path.join(_HERE, os.pardir, "creditcard", "generate_data.py"))
creditcard = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(creditcard)

write = creditcard.write

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="directory to write the CSV files to")
    parser.add_argument("--mails", type=int, default=creditcard.DEFAULT_MAILS, help="number of mails")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    arguments = parser.parse_args()
    write(arguments.out_dir, arguments.mails, arguments.seed)
