"""The data plane: runs a job's component graph on Polars batches.

Django-free by rule: nothing here imports Django. Callers hand it plain dicts
(the job definition, resolved parameters, connections) and get plain results.
"""
