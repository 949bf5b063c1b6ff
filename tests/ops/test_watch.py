"""A web worker that does not project watches the read models' position for `?after=` reads."""

from __future__ import annotations

from uuid import uuid4

from jam import commands as c
from jam.settings import Settings
from projections.watch import ProjectionWatch, projected_channel
from tests.services import require_redis
from ui.bootstrap import build
from ui.workers import RedisPublisher


def test_reads_wait_for_the_position_another_runner_reaches(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", redis_url=require_redis())
    channel = projected_channel(f"watch-{uuid4().hex}")  # this test's own announcements
    web = build(settings, watch_only=True)
    assert isinstance(
        web.runner, ProjectionWatch
    )  # what a web worker with external projections gets
    worker = build(settings)
    watch = ProjectionWatch(web.views, settings.redis_url, channel)
    publisher = RedisPublisher(settings.redis_url, channel)
    try:
        assert watch.position == 0  # no read models yet: nothing to read, no error
        watch.start()
        done = worker.jam.handle(c.IssueInvite(code=uuid4().hex, role="organizer"))
        assert not watch.wait_for(done.position, timeout=0.3)  # nobody projects yet
        worker.runner.on_updates(publisher)
        worker.runner.start()
        assert watch.wait_for(done.position, timeout=30)
        assert watch.position == done.position
        assert watch.error is None
    finally:
        watch.stop()
        publisher.close()
        worker.close()
        web.close()


def test_the_announcement_channel_is_per_read_model_schema():
    assert projected_channel("") == "openjam:projected:public"
    assert projected_channel("t_1") != projected_channel("t_2")
