"""Locust scenarios: one user class per real user of the platform (DESIGN.md §1).

* `PublicVisitor`: searches legal persons by a Chinese substring of a name or by kind, reads
  entities and their public records, and revalidates some with `If-None-Match`. Each request
  comes from one of a few thousand 10.x addresses (`X-Forwarded-For`): start the server with
  `XINYONG_TRUSTED_PROXIES=127.0.0.1` so that each is its own visitor to the per-address limits.
* `Bank`: credit reports under consent (`Consent-Token`) and batches of ten; a client-credentials
  token whenever its token is near expiry.
* `RatingAgency`: reports of chosen categories, and batches of them.
* `Subject`: a signed-in subject going round its dashboard: lists its consents, grants the rating
  agency a consent, reads its access log, revokes the new consent again (never the consents the
  partners read under).
* `Department`: pushes small batches of fresh penalties, and re-sends earlier ones (which must
  come back all duplicates).
* `NoisyBank`: a bank with a low per-client limit reading as fast as it likes; its 429s are
  expected (counted as successes under "<route> 429 (expected)") and must carry `Retry-After`.

Any other status than 2xx or 304 is a failure, a 429 for any other user included. Requests are
named by route template (`/v1/public/entities/{uscc}`), so the statistics group per endpoint.
Visitors, partners and departments run without think time (the mix is set by the classes'
weights), a subject at a request every 0.6 s, the noisy bank at ten a second.

The data comes from `python -m load_tests.prepare` (a state file, mode 0600). Run the scenario
with locust's own runner, from the repository root:

    python -m locust -f load_tests/locustfile.py --host http://127.0.0.1:8751 \
        --state /tmp/xinyong_load.json --headless -u 16 -r 16 -t 60s

or the fixed phases of `python -m load_tests.bench`, which imports these classes.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, constant_pacing, constant_throughput, events, task
from locust.contrib.fasthttp import ResponseContextManager
from locust.env import Environment

from load_tests import traffic
from load_tests.ingest_bench import batch as penalty_batch
from load_tests.report_bench import batch_body, sign_in
from load_tests.token_bench import GRANT_FORM, token_headers
from load_tests.traffic import fill

STATE: dict[str, Any] = {}
ADDRESSES = traffic.visitor_addresses()
RUN_TAG = secrets.token_hex(3).upper()  # document numbers unique to this process
_numbers = itertools.count()


def use_state(state: dict[str, Any]) -> None:
    """Give the scenarios the prepared data (the bench calls this; locust's CLI: `--state`)."""
    STATE.clear()
    STATE.update(traffic.check_state(state))


@events.init_command_line_parser.add_listener
def _add_state_option(parser: Any) -> None:
    parser.add_argument(
        "--state",
        default=os.environ.get("XINYONG_LOAD_STATE", ""),
        help="the state file of load_tests.prepare (default: $XINYONG_LOAD_STATE)",
    )


@events.init.add_listener
def _load_state(environment: Environment, **_kwargs: Any) -> None:
    options = environment.parsed_options
    path = getattr(options, "state", "") if options is not None else ""
    if path and not STATE:
        use_state(traffic.read_state(Path(path)))


Check = Callable[[ResponseContextManager], str]


class _PlatformUser(FastHttpUser):
    """What every scenario shares: requests named by route, and the status rules."""

    abstract = True
    wait_time = constant(0)
    network_timeout = 30.0
    connection_timeout = 10.0
    limit_expected = False  # only NoisyBank provokes 429s

    def call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        form: str | None = None,
        check: Check | None = None,
    ) -> tuple[bool, ResponseContextManager]:
        """One request, named by its route; whether it was served (2xx/304), and the response.

        `body` goes as JSON, `form` as a form; `check` looks into a served answer and names what
        is wrong with it ('' if nothing). A provoked 429 is renamed and counted as a success, but
        answers False: nothing was served.
        """
        route = traffic.route_of(path)
        send = {"Accept": "application/json", **(headers or {})}
        data: str | None = None  # ASCII only: the client counts its length in characters
        if body is not None:
            data = json.dumps(body)
            send.setdefault("Content-Type", "application/json")
        elif form is not None:
            data = form
            send.setdefault("Content-Type", "application/x-www-form-urlencoded")
        with self.client.request(
            method, path, name=route, data=data, headers=send, catch_response=True
        ) as response:
            verdict = traffic.judge(
                response.status_code,
                response.headers.get("Retry-After") if response.headers else None,
                limit_expected=self.limit_expected,
            )
            served = verdict.ok and not verdict.limited
            problem = check(response) if served and check else ""
            if verdict.limited:
                response.request_meta["name"] = traffic.limited_name(route)
                response.success()
            elif not verdict.ok:
                response.failure(verdict.reason)
            elif problem:
                response.failure(problem)
            else:
                response.success()
            return served and not problem, response


def json_of(response: ResponseContextManager) -> Any:
    """The JSON body of an answer; None if it has none or it does not parse."""
    try:
        return json.loads(response.content or b"")
    except ValueError:
        return None


# --- the public -------------------------------------------------------------------------------


class _Visitor(_PlatformUser):
    """Open data reads from addresses of the visitors' pool, remembering ETags."""

    abstract = True

    def on_start(self) -> None:
        self.rng = random.Random()
        self.entities: list[dict[str, str]] = STATE["public"]["entities"]
        self.terms: list[str] = STATE["public"]["terms"]
        self.etags: OrderedDict[str, str] = OrderedDict()

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-Forwarded-For": self.rng.choice(ADDRESSES), **extra}

    def remember(self, path: str, response: ResponseContextManager) -> None:
        etag = response.headers.get("ETag") if response.headers else None
        if isinstance(etag, str) and etag:
            self.etags[path] = etag
            self.etags.move_to_end(path)
            while len(self.etags) > 200:
                self.etags.popitem(last=False)

    def search_name(self) -> None:
        query = {"q": self.rng.choice(self.terms)}
        if self.rng.random() < 0.2:
            query["kind"] = self.rng.choice(traffic.KINDS)
        self.call(
            "GET", f"{traffic.SEARCH}?{urllib.parse.urlencode(query)}", headers=self.headers()
        )

    def search_kind(self) -> None:
        query = {"kind": self.rng.choice(traffic.KINDS), "page_size": "20"}
        self.call(
            "GET", f"{traffic.SEARCH}?{urllib.parse.urlencode(query)}", headers=self.headers()
        )

    def read(self, template: str) -> None:
        path = fill(template, uscc=self.rng.choice(self.entities)["uscc"])
        served, response = self.call("GET", path, headers=self.headers())
        if served:
            self.remember(path, response)

    def revalidate(self) -> None:
        """A page seen before, asked again with its ETag: 304 unless it changed meanwhile."""
        if not self.etags:
            self.read(traffic.ENTITY)
            return
        path, etag = self.rng.choice(list(self.etags.items()))
        served, response = self.call("GET", path, headers=self.headers(**{"If-None-Match": etag}))
        if served:
            self.remember(path, response)


class PublicVisitor(_Visitor):
    """Someone on the public website or API: searches, entities, records, revalidations."""

    weight = 9

    @task(4)
    def search_by_name(self) -> None:
        self.search_name()

    @task(1)
    def search_by_kind(self) -> None:
        self.search_kind()

    @task(4)
    def entity(self) -> None:
        self.read(traffic.ENTITY)

    @task(2)
    def records(self) -> None:
        self.read(traffic.RECORDS)

    @task(1)
    def entity_again(self) -> None:
        self.revalidate()


# --- partners ---------------------------------------------------------------------------------


class _Client(_PlatformUser):
    """A registered client (`role` in the state): its client-credentials token."""

    abstract = True
    role = "bank"

    def on_start(self) -> None:
        self.rng = random.Random()
        self.client_record: dict[str, Any] = STATE["clients"][self.role]
        self.token = ""
        self.token_expires: float | None = None

    def take_token(self) -> bool:
        """A client-credentials token (client_secret_basic); whether one was issued."""
        record = self.client_record
        headers = token_headers(record["client_id"], record["client_secret"])
        address = self.token_address()
        if address:
            headers["X-Forwarded-For"] = address
        served, response = self.call(
            "POST", traffic.TOKEN, headers=headers, form=GRANT_FORM, check=_has_token
        )
        if not served:
            return False
        answer = json_of(response)
        self.token = str(answer["access_token"])
        lifetime = answer.get("expires_in")
        self.token_expires = traffic.token_expiry(self.token) or time.time() + (
            float(lifetime) if isinstance(lifetime, int | float) else 300.0
        )
        return True

    def token_address(self) -> str | None:
        """The address a token request comes from (`X-Forwarded-For`); None: this machine's.

        The token endpoint knows a client only by its secret, so its limits count per address.
        """
        return None

    def ensure_token(self) -> bool:
        """Take a new token when there is none or it is near its expiry; whether one is held."""
        if traffic.token_due(self.token_expires, time.time()):
            return self.take_token()
        return True

    def bearer(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}


class _Partner(_Client):
    """A partner reading reports under the consents the state holds for it."""

    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.consents: list[dict[str, str]] = self.client_record["consents"]

    def report(self, categories: list[str] | None = None) -> None:
        """One subject's report under its consent token."""
        if not self.ensure_token():
            return
        consent = self.rng.choice(self.consents)
        path = fill(traffic.REPORT, subject_id=consent["subject_id"])
        if categories:
            path += "?" + urllib.parse.urlencode({"categories": ",".join(categories)})
        headers = self.bearer(**{"Consent-Token": consent["consent_token"]})
        self.call("GET", path, headers=headers, check=_is_report)

    def batch(self, size: int = 10, categories: list[str] | None = None) -> None:
        """`size` distinct subjects' reports in one call; every item must answer 200."""
        if not self.ensure_token():
            return
        chosen = self.rng.sample(self.consents, min(size, len(self.consents)))
        body = json.loads(batch_body(chosen))
        if categories:
            for item in body["items"]:
                item["categories"] = categories

        def all_served(response: ResponseContextManager) -> str:
            return traffic.batch_failures(json_of(response), len(chosen))

        self.call("POST", traffic.BATCH, headers=self.bearer(), body=body, check=all_served)


def _has_token(response: ResponseContextManager) -> str:
    answer = json_of(response)
    ok = isinstance(answer, dict) and isinstance(answer.get("access_token"), str)
    return "" if ok else "a token answer without access_token"


def _is_report(response: ResponseContextManager) -> str:
    answer = json_of(response)
    return "" if isinstance(answer, dict) and "report_no" in answer else "no report in the answer"


class Bank(_Partner):
    """A bank querying its applicants under consent, one by one and in batches of ten."""

    weight = 3
    role = "bank"

    @task(6)
    def full_report(self) -> None:
        self.report()

    @task(1)
    def batch_of_ten(self) -> None:
        self.batch(10)


class RatingAgency(_Partner):
    """A rating agency pulling the categories its analysis needs, singly and in batches."""

    weight = 1
    role = "rating_agency"

    def chosen(self) -> list[str]:
        granted: list[str] = self.client_record["categories"]
        return sorted(self.rng.sample(granted, self.rng.randint(1, len(granted))))

    @task(3)
    def report_of_categories(self) -> None:
        self.report(self.chosen())

    @task(1)
    def batch_of_categories(self) -> None:
        self.batch(10, self.chosen())


class NoisyBank(_Partner):
    """A bank whose client has a low per-client limit, reading far faster than it allows."""

    weight = 1
    role = "noisy_bank"
    limit_expected = True
    wait_time = constant_throughput(10)

    @task
    def report_regardless(self) -> None:
        self.report(["basic"])


# --- subjects ---------------------------------------------------------------------------------

_subject_numbers = itertools.count()


class Subject(_PlatformUser):
    """A legal person's representative, signed in through the PKCE flow of `xinyong-cli`, going
    round its dashboard: its consents, a new consent for the rating agency, its access log, the
    consent revoked again.

    A person clicks every 0.6 s here, not as fast as the server answers: a subject's own quota
    (per subject, not per client) is far below a partner's.
    """

    weight = 1
    wait_time = constant_pacing(0.6)

    def on_start(self) -> None:
        self.rng = random.Random()
        subjects: list[dict[str, str]] = STATE["subjects"]
        self.account = subjects[next(_subject_numbers) % len(subjects)]
        self.token = ""
        self.token_expires: float | None = None
        self.granted: list[str] = []
        self.steps = itertools.cycle(
            (self.my_consents, self.grant, self.my_access_log, self.revoke)
        )

    def ensure_token(self) -> None:
        if traffic.token_due(self.token_expires, time.time()):
            # Sign-in pages and the code exchange are not what is measured: plain HTTP.
            base_url = self.host or STATE["base_url"]
            try:
                self.token = sign_in(base_url, self.account["username"], STATE["password"])
            except SystemExit as failed:  # the helper's way to stop a script, not a greenlet
                raise RuntimeError(f"signing in failed: {failed}") from None
            self.token_expires = traffic.token_expiry(self.token) or time.time() + 600

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @task
    def next_step(self) -> None:
        self.ensure_token()
        next(self.steps)()

    def my_consents(self) -> None:
        self.call("GET", traffic.MY_CONSENTS, headers=self.bearer())

    def my_access_log(self) -> None:
        self.call("GET", traffic.ACCESS_LOG, headers=self.bearer())

    def grant(self) -> None:
        """Authorise the rating agency to read the basic category for a week."""
        body = {
            "client_id": STATE["clients"]["rating_agency"]["client_id"],
            "categories": ["basic"],
            "purpose": "credit_rating",
            "expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        }
        served, response = self.call("POST", traffic.MY_CONSENTS, headers=self.bearer(), body=body)
        answer = json_of(response) if served else None
        if isinstance(answer, dict) and "consent_id" in answer:
            self.granted.append(str(answer["consent_id"]))

    def revoke(self) -> None:
        """Revoke a consent this user granted (never the partners' prepared ones)."""
        if not self.granted:
            self.grant()
            return
        consent_id = self.granted.pop(self.rng.randrange(len(self.granted)))
        self.call("POST", fill(traffic.REVOKE, consent_id=consent_id), headers=self.bearer())


# --- departments ------------------------------------------------------------------------------


class Department(_Client):
    """A department pushing fresh penalties in small batches, and re-sending earlier ones."""

    weight = 1
    role = "department"
    batch_size = 10

    def on_start(self) -> None:
        super().on_start()
        self.codes: list[str] = self.client_record["codes"]
        self.tag = f"{RUN_TAG}{next(_numbers)}"
        self.rounds = itertools.count()
        self.sent: list[list[dict[str, Any]]] = []

    def push(self, rows: list[dict[str, Any]], outcome: str) -> bool:
        """POST one batch; it must come back with every row `outcome` and none rejected."""

        def all_rows(response: ResponseContextManager) -> str:
            answer = json_of(response)
            if not isinstance(answer, dict):
                return "the answer is not a JSON object"
            key = "accepted" if outcome == "created" else "duplicates"
            if answer.get("rejected") or answer.get(key) != len(rows):
                return f"a batch of {len(rows)} not all {outcome}: {answer.get(key)}"
            return ""

        served, _ = self.call(
            "POST", traffic.INGEST, headers=self.bearer(), body={"records": rows}, check=all_rows
        )
        return served

    @task(3)
    def fresh_penalties(self) -> None:
        if not self.ensure_token():
            return
        rows = penalty_batch(self.codes, self.tag, next(self.rounds), self.batch_size)
        if self.push(rows, "created"):
            self.sent.append(rows)
            del self.sent[:-20]

    @task(1)
    def resend(self) -> None:
        if not self.sent:
            self.fresh_penalties()
            return
        if self.ensure_token():
            self.push(self.rng.choice(self.sent), "duplicate")


USER_CLASSES = (PublicVisitor, Bank, RatingAgency, Subject, Department, NoisyBank)
