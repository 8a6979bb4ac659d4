"""Small job definitions the jobs tests reuse."""

from jobs.models import Job


def pipeline(where: str = "a > 0") -> list[dict]:
    """inline rows -> filter -> csv file: a valid three-component graph."""
    return [
        {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1}, {"a": -1}]}},
        {"name": "positive", "type": "filter", "inputs": ["rows"], "config": {"where": where}},
        {"name": "out", "type": "csv_sink", "inputs": ["positive"], "config": {"path": "out.csv"}},
    ]


def make_job(name: str, **fields) -> Job:
    components = fields.pop("components", pipeline())
    job = Job.objects.create(name=name, **fields)
    job.replace_components(components)
    return job
