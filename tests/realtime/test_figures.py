"""Per-process figures shared through real Redis (realtime/broker/figures.py)."""

import time
import uuid

import pytest
from django.conf import settings

from realtime.broker.figures import figures_all, figures_put

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (scripts/test)")


def test_figures_written_by_a_member_are_read_back_until_it_goes_quiet():
    namespace = f"test-{uuid.uuid4()}"
    figures_put(namespace=namespace, member="host-a:1", figures={"open_streams": "4"}, ttl_s=5)
    assert figures_all(namespace=namespace, within_s=5) == {"host-a:1": {"open_streams": "4"}}
    time.sleep(0.01)
    assert figures_all(namespace=namespace, within_s=0.005) == {}  # quiet for longer: gone


def test_a_member_writing_again_replaces_its_figures_and_others_are_kept_apart():
    namespace = f"test-{uuid.uuid4()}"
    figures_put(namespace=namespace, member="a:1", figures={"x": "1", "y": "2"}, ttl_s=5)
    figures_put(namespace=namespace, member="a:1", figures={"x": "3"}, ttl_s=5)
    figures_put(namespace=namespace, member="b:2", figures={"x": "4"}, ttl_s=5)
    figures_put(namespace=f"{namespace}-other", member="c:3", figures={"x": "5"}, ttl_s=5)
    assert figures_all(namespace=namespace, within_s=5) == {"a:1": {"x": "3"}, "b:2": {"x": "4"}}


def test_a_member_whose_figures_expired_is_skipped():
    namespace = f"test-{uuid.uuid4()}"
    figures_put(namespace=namespace, member="gone:1", figures={"x": "1"}, ttl_s=1)
    time.sleep(1.2)  # its hash expires; its beat is still recent
    assert figures_all(namespace=namespace, within_s=60) == {}
