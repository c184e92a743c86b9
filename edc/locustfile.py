"""The simulated users of ``make loadtest`` (``edc/loadtest.py`` starts Locust with this file).

One Locust user class per demo user (seven roles and sites), weighted like a study's staff: mostly site
coordinators and investigators entering data, a few monitors, data managers, sponsor admins and auditors
reading. Each signs in through the sign-in page, then repeats its role's actions, waiting 1–3 s between
them (``LOADTEST_WAIT=0``: no waiting, for the saturation phase). The plan (``LOADTEST_PLAN``, written by
``edc.loadtest.prepare``) names the password, each user's participants and the visits where site staff
save vital signs; a visit is held by one simulated user at a time, so two never save the same form at
once (that is the merge page's case, tested apart, and would count here as an error).

Every request is recorded (action, milliseconds, error, end time) and written to ``LOADTEST_SAMPLES``,
with the time the run started, when it stops. Requests are sent as the TLS proxy in front of gunicorn
sends them (``X-Forwarded-Proto: https``), so the production settings' secure cookies and CSRF checks
apply.
"""

import itertools
import json
import os
import random
import re
import time
from collections import deque
from http.cookiejar import DefaultCookiePolicy

from locust import FastHttpUser, LoadTestShape, between, constant, events

PLAN = json.loads(open(os.environ["LOADTEST_PLAN"]).read())  # noqa: SIM115 - read once at import
WAIT = os.environ.get("LOADTEST_WAIT", "1") != "0"
SAMPLES: list[dict] = []

# Visits whose vital signs site staff save, by user name; each is held (HELD) by one simulated user at a time.
FREE_VISITS = {name: deque(map(tuple, entry["form_visits"])) for name, entry in PLAN["users"].items()}
HELD: set[int] = set()
_instances = itertools.count()

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"')
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    SAMPLES.append(
        {
            "action": name,
            "ms": response_time,
            "error": f"{name}: {exception}"[:300] if exception else "",
            "end": time.time(),
        }
    )


STARTED: list[float] = []


@events.test_start.add_listener
def _started(environment, **kwargs):
    STARTED.append(time.time())


@events.quitting.add_listener
def _write_samples(environment, **kwargs):
    with open(os.environ["LOADTEST_SAMPLES"], "w") as out:
        json.dump({"started": STARTED[0] if STARTED else None, "samples": SAMPLES}, out)


class BehindProxy(DefaultCookiePolicy):
    """The client speaks plain HTTP to gunicorn, as the TLS proxy does; it sends the ``Secure`` session
    and CSRF cookies back as the browser does over HTTPS."""

    def return_ok_secure(self, cookie, request):
        return True


class StudyUser(FastHttpUser):
    """A signed-in user of one role."""

    abstract = True
    username = ""
    default_headers = {"X-Forwarded-Proto": "https"}
    wait_time = between(1, 3) if WAIT else constant(0)

    def on_start(self):
        self.instance = next(_instances)
        self.entry = PLAN["users"][self.username]
        self.random = random.Random(self.instance)
        self.client.cookiejar.set_policy(BehindProxy())
        login = self.get("/accounts/login/", "login")
        self.post(
            "/accounts/login/",
            {"username": self.username, "password": PLAN["password"]},
            page=login,
            name="login",
            expect=302,
        )
        self.extra()  # the page being tuned, at once: every user opens it at least once

    # --- helpers

    def post(self, path, data, *, page, name, expect):
        match = _CSRF.search(page.text)
        data = {**data, "csrfmiddlewaretoken": match.group(1) if match else ""}
        headers = {"Referer": f"https://{self.client.base_url.split('://', 1)[1]}{path}"}
        with self.client.post(
            path, data, headers=headers, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != expect:
                response.failure(f"{response.status_code} instead of {expect} for POST {path}")
        return response

    def get(self, path, name):
        """A page that must answer 200 itself (a redirect to the sign-in page is an error)."""
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} instead of 200 for GET {path}")
        return response

    def participant_id(self):
        return self.random.choice(self.entry["participants"])

    def visit(self):
        return self.random.choice(self.entry["form_visits"])

    # --- actions

    def participant_list(self):
        page = self.random.randint(1, 5)
        self.get(f"/participants/?page={page}" if page > 1 else "/participants/", "list")

    def participant_page(self):
        self.get(f"/participants/{self.participant_id()}/", "participant")

    def form_get(self):
        visit_pk, _day = self.visit()
        self.get(f"/visits/{visit_pk}/forms/vital_signs/", "form GET")

    def form_save(self):
        """Open a visit's vital signs, change the heart rate and save a draft: a real save with the
        page's one-time submission key and the version it was opened at."""
        free = FREE_VISITS[self.username]
        for _ in range(len(free)):  # a coordinator and an investigator of one site share visits
            visit_pk, day = free[0]
            free.rotate(-1)
            if visit_pk not in HELD:
                break
        else:
            return
        HELD.add(visit_pk)
        try:
            path = f"/visits/{visit_pk}/forms/vital_signs/"
            page = self.get(path, "form GET")
            if page.status_code != 200:
                return
            hidden = dict(_HIDDEN.findall(page.text))
            data = {
                "assessed_on": day,
                "temperature_c": "36.8",
                "heart_rate": str(self.random.randint(60, 90)),
                "systolic_bp": "118",
                "diastolic_bp": "76",
                "respiratory_rate": "16",
                "spo2_pct": "98",
                "weight_kg": "61.5",
                "reason": "Re-measured (load test)",
                "draft": "1",
                "submission_key": hidden.get("submission_key", ""),
                "expected_version": hidden.get("expected_version", ""),
            }
            self.post(path, data, page=page, name="form save", expect=302)
        finally:
            HELD.discard(visit_pk)

    def casebook(self):
        self.get(f"/participants/{self.participant_id()}/casebook/", "casebook")

    def extra(self):
        for path in PLAN.get("extra_pages", []):
            self.get(path, "extra")


def _tasks(**weights):
    """Locust tasks from ``action=weight``; the extra pages (``--extra-page``) are added to each role."""
    chosen = {getattr(StudyUser, name): weight for name, weight in weights.items()}
    if PLAN.get("extra_pages"):
        chosen[StudyUser.extra] = 1
    return chosen


def page(path, name):
    """An action that opens one page."""

    def action(self):
        self.get(path, name)

    action.__name__ = name
    return action


StudyUser.home = page("/home/", "home")
StudyUser.queries = page("/queries/", "queries")
StudyUser.sdv = page("/monitoring/sdv/", "sdv")
StudyUser.locks = page("/monitoring/locks/", "locks")
StudyUser.audit = page("/audit/", "audit")
StudyUser.exports = page("/exports/", "exports")
StudyUser.safety = page("/safety/", "safety")
StudyUser.notifications = page("/notifications/", "notifications")

SITE_STAFF = _tasks(participant_list=3, participant_page=3, form_get=3, form_save=2, casebook=1, home=1)
MONITOR = _tasks(participant_list=2, participant_page=2, form_get=2, queries=1, sdv=1, home=1)
DATA_MANAGER = _tasks(participant_list=2, participant_page=2, form_get=2, queries=1, locks=1, audit=1, home=1)
SPONSOR_ADMIN = _tasks(participant_list=2, participant_page=2, exports=1, safety=1, home=1, notifications=1)
AUDITOR = _tasks(participant_list=2, participant_page=2, form_get=1, audit=2, home=1)


# The demo users (``seed_demo``): user name, weight among the simulated users, tasks.
STAFF = [
    ("coordinator", 5, SITE_STAFF),
    ("coordinator2", 4, SITE_STAFF),  # the other site
    ("investigator", 3, SITE_STAFF),
    ("monitor", 2, MONITOR),
    ("datamanager", 2, DATA_MANAGER),
    ("sponsoradmin", 2, SPONSOR_ADMIN),
    ("auditor", 2, AUDITOR),
]
for _username, _weight, _tasks in STAFF:  # Locust runs the User classes it finds in this module
    globals()[f"User_{_username}"] = type(
        f"User_{_username}", (StudyUser,), {"username": _username, "weight": _weight, "tasks": _tasks}
    )


_STEPS = [int(n) for n in os.environ.get("LOADTEST_STEPS", "").split(",") if n.strip()]

if _STEPS:

    class Saturation(LoadTestShape):
        """More users at each step (``LOADTEST_STEPS``), each step ``LOADTEST_STEP_SECONDS`` long."""

        step_seconds = float(os.environ.get("LOADTEST_STEP_SECONDS", "20"))

        def tick(self):
            step = int(self.get_run_time() // self.step_seconds)
            if step >= len(_STEPS):
                return None
            return _STEPS[step], _STEPS[step]
