"""History pages give each change in UTC and in the site's own clock (issue 16, item 1)."""

import zoneinfo
from datetime import UTC

from django.urls import reverse
from pghistory.models import Events

from tests.conftest import make_participant
from trials import services


def test_a_change_is_shown_in_utc_and_eight_hours_later_in_shanghai(client, coordinator, site_yc):
    assert site_yc.timezone == "Asia/Shanghai"
    p = make_participant(coordinator, site_yc, stage="screening", initials="AB")
    services.correct_participant(
        user=coordinator, participant=p, changes={"initials": "AC"}, reason="Transcription error"
    )
    at = Events.objects.tracks(p).order_by("-pgh_created_at", "-pgh_id").first().pgh_created_at
    utc = at.astimezone(UTC)
    shanghai = at.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
    client.force_login(coordinator)
    html = client.get(reverse("participant_history", args=[p.pk])).content.decode()
    row = next(line for line in html.splitlines() if f"{utc:%Y-%m-%d %H:%M:%S}" in line)
    cells = row.split("</td>")
    assert f"{utc:%Y-%m-%d %H:%M:%S}" in cells[0]
    assert f"{shanghai:%Y-%m-%d %H:%M}" in cells[1]
