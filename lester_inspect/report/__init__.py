"""Reports of inspected pipelines: JUnit XML, a Markdown summary and a self-contained HTML page.

``model`` is what every reporter reads (pipelines, their verdicts and inspection results);
``junit``, ``markdown`` and ``html`` write it; ``svg`` draws a pipeline's DAG.
"""
