"""Monitoring tests: each gets empty caches (and, from tests/conftest.py, request metrics from zero)."""

import os
import socket

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from etlsite import configuration
from tests.conftest import client_for, make_user


@pytest.fixture(autouse=True)
def isolated_monitoring(db):
    cache.clear()
    configuration.clear_cache()
    yield
    configuration.clear_cache()


@pytest.fixture
def viewer_client(db):
    """Authenticated, no roles: may read metrics and health, not setup."""
    return client_for(make_user("viewer"))


@pytest.fixture
def admin_role_client(db):
    """A member of the `admin` role who is not a superuser."""
    user = make_user("role-admin")
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    return client_for(user)


@pytest.fixture
def running_worker(db):
    """A django-q2 cluster status, saved exactly where a running `qcluster` saves
    its own every half second (the shared cache, through the broker)."""
    status = Status(pid=os.getpid(), cluster_id="test-cluster")
    status.status = Conf.IDLE
    status.workers = [os.getpid()]
    status.host = socket.gethostname()
    get_broker().set_stat(Stat.get_key(status.cluster_id), SignedPackage.dumps(status, True), 30)
    return status
