"""FastRepresentationMixin renders exactly what DRF's own Serializer.to_representation does."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rest_framework import serializers

from contexts.models import Context
from etlsite.fast_representation import FastRepresentationMixin
from execution.models import Execution, State, Trigger
from execution.serializers import ExecutionSerializer
from jobs.models import Job, JobDependency
from jobs.serializers import ComponentSerializer, JobSerializer, UpstreamSerializer
from jobs.views import JobViewSet
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def drf_representation(serializer_class, instance):
    """What DRF's generic walk over the fields gives, bypassing the mixin."""
    return serializers.Serializer.to_representation(serializer_class(), instance)


def _job(name, **fields):
    job = Job.objects.create(name=name, **fields)
    job.replace_components(
        [
            {"name": "rows", "type": "inline_source", "config": {"rows": [{"a": 1, "é": None}]}},
            {"name": "out", "type": "csv_sink", "inputs": ["rows"], "config": {"path": f"{name}.csv"}},
        ]
    )
    return job


def test_jobs_render_the_same_as_drf():
    context = Context.objects.create(name="dev")
    upstream = _job("upstream")
    plain = _job("plain")
    busy = _job(
        "busy",
        description="ünïcode ✓",
        default_context=context,
        config={"batch_size": 10, "schedule": "0 2 * * *"},
    )
    JobDependency.objects.create(
        upstream=upstream, downstream=busy, condition=JobDependency.Condition.ON_FAILURE
    )
    jobs = list(JobViewSet.queryset.order_by("pk"))
    assert [job.pk for job in jobs] == [upstream.pk, plain.pk, busy.pk]
    for job in jobs:
        expected = drf_representation(JobSerializer, job)
        expected["config"] = job.effective_config
        assert JobSerializer(job).data == expected
        assert list(JobSerializer(job).data) == list(expected)  # same key order
        for component in job.component_list:
            assert ComponentSerializer(component).data == drf_representation(ComponentSerializer, component)
        for link in job.upstream_list:
            assert UpstreamSerializer(link).data == drf_representation(UpstreamSerializer, link)
    assert JobSerializer(jobs[2]).data["depends_on"] == [
        {"id": busy.upstream_links.get().pk, "job": "upstream", "condition": "on_failure"}
    ]
    assert JobSerializer(jobs[2]).data["default_context"] == "dev"
    assert JobSerializer(jobs[1]).data["default_context"] is None


def test_plain_dicts_render_the_same_as_drf():
    component = {"name": "rows", "type": "inline_source", "inputs": [], "config": {"rows": []}}
    assert (
        ComponentSerializer(component).data == drf_representation(ComponentSerializer, component) == component
    )


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/St_Johns"])
def test_executions_render_the_same_as_drf_in_any_time_zone(zone):
    job = _job("loader")
    user = make_user("alice")
    now = timezone.now().replace(microsecond=123456)
    first = Execution.objects.create(job=job, state=State.QUEUED)
    Execution.objects.create(
        job=job,
        state=State.FAILED,
        trigger=Trigger.RETRY,
        parent=first,
        started_by=user,
        context_name="dev",
        parameters={"min_delay": 30, "secret": "***"},
        started_at=now - timedelta(seconds=90),
        finished_at=now,
        heartbeat_at=now,
        progress={"percent": 40.5},
        rows_read=10**12,
        counters={"rows": {"out": 3}},
        custom_metrics=[{"name": "m", "value": 1.5}],
        error={"component": "out", "message": "boom"},
    )
    Execution.objects.create(job=job, state=State.RUNNING, started_at=now)  # duration counts on
    with timezone.override(zone):
        for execution in job.executions.select_related("started_by"):
            fast = dict(ExecutionSerializer(execution).data)
            expected = drf_representation(ExecutionSerializer, execution)
            assert list(fast) == list(ExecutionSerializer.Meta.fields)
            if execution.state == State.RUNNING:  # counts on between the two calls
                assert 0 <= expected.pop("duration_seconds") - fast.pop("duration_seconds") < 5
            assert fast == expected, execution.state
            if execution.state == State.FAILED:
                assert fast["started_by"] == "alice"
                assert fast["parent"] == first.pk
                assert fast["job_name"] == "loader"
                assert fast["duration_seconds"] == 90.0


def test_fields_that_render_from_the_request_are_refused():
    class Bad(FastRepresentationMixin, serializers.Serializer):
        name = serializers.CharField()
        link = serializers.SerializerMethodField()

        def get_link(self, obj):
            return self.context["request"].build_absolute_uri(obj["name"])

    with pytest.raises(ImproperlyConfigured, match="'link'"):
        _ = Bad({"name": "x"}).data


def test_component_and_link_rows_render_like_model_objects():
    first = _job("first")
    second = _job("second")
    JobDependency.objects.create(upstream=first, downstream=second, condition="on_failure")
    from_objects = [JobSerializer(job).data for job in Job.objects.order_by("pk")]
    assert from_objects[1]["depends_on"][0]["job"] == "first"
    with_rows = list(Job.objects.order_by("pk"))
    Job.attach_related_rows(with_rows)
    assert [JobSerializer(job).data for job in with_rows] == from_objects
    assert [c["name"] for c in from_objects[0]["components"]] == ["rows", "out"]
