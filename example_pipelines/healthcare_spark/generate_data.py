"""Write the healthcare example's patients and histories for the PySpark version of the pipeline.

The data is exactly that of ``../healthcare/generate_data.py`` (imported from there by
path), so both pipelines read the same rows.

Usage: ``python generate_data.py OUT_DIR [--rows N] [--seed S]``.
"""

import argparse
import importlib.util
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
_SPEC = importlib.util.spec_from_file_location(
    "healthcare_generate_data", os.path.join(_HERE, os.pardir, "healthcare", "generate_data.py"))
healthcare = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(healthcare)

write = healthcare.write

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="directory to write the CSV files to")
    parser.add_argument("--rows", type=int, default=healthcare.DEFAULT_ROWS, help="number of patients")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    arguments = parser.parse_args()
    write(arguments.out_dir, arguments.rows, arguments.seed)
