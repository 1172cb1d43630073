"""Checks in continuous integration: the ``lester-inspect ci`` gate and its model conditions.

``config`` reads ``lester.toml``; ``gate`` runs the configured pipelines and judges them;
``conditions`` is the ease.ml/ci-style language of model conditions with its test-set
sizes; ``history`` keeps the captured models and the steps each test set has used;
``predictions`` watches a run for the model's test predictions; ``cli`` is the command line.
"""
