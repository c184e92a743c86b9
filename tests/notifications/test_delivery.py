"""When a decided reminder goes out (pure functions, no database)."""

from datetime import UTC, datetime

from notifications.delivery import due_for_sending, last_digest_moment


def test_before_the_digest_hour_the_last_digest_was_yesterdays():
    now = datetime(2027, 3, 10, 23, 30, tzinfo=UTC)  # 07:30 on the 11th in Shanghai
    assert last_digest_moment(now, "Asia/Shanghai", 8) == datetime(2027, 3, 10, 0, 0, tzinfo=UTC)


def test_the_digest_hour_is_local_on_both_sides_of_a_dst_change():
    before = last_digest_moment(datetime(2026, 3, 28, 12, tzinfo=UTC), "Europe/Berlin", 8)
    after = last_digest_moment(datetime(2026, 3, 29, 12, tzinfo=UTC), "Europe/Berlin", 8)
    assert (before, after) == (datetime(2026, 3, 28, 7, tzinfo=UTC), datetime(2026, 3, 29, 6, tzinfo=UTC))


def test_an_immediate_reminder_is_due_at_once_and_a_digest_one_waits():
    decided = now = datetime(2027, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, after the 08:00 digest
    common = {"digest_hour": 8, "tz_name": "Asia/Shanghai", "decided_at": decided, "now": now}
    assert due_for_sending(delivery="immediate", **common)
    assert not due_for_sending(delivery="digest", **common)
