"""The fixed load test of issue 6: locust's users against a running server, phase by phase.

Every phase runs the same number of users (no think time) for the same time, after a short
warm-up, with locust as a library:

* `floor`: every user GETs `/healthz`, the cheapest answer the server has: the ceiling of
  requests/s on this machine, against which the other phases are compared;
* `entity`: public entity reads (a fifth of them revalidations with `If-None-Match`);
* `search`: public searches by a two-character substring of a name (some with `kind`), and by kind;
* `report`: the bank's full reports under consent, one at a time;
* `report-sdk`: the same reads through the Python SDK (`xinyong_sdk.Client`);
* `token`: client-credentials tokens of the bank;
* `mixed`: every user class of `locustfile.py` at once, weighted like real traffic, the noisy bank
  (which provokes 429s) included; at least one user of each class.

With `--rate R` every phase but `mixed` is paced instead: its users together start R tasks a
second (R / users each, at fixed intervals, each user starting at a random point of its first
interval so that the requests spread over time rather than arrive together; a task is one
request), so the latencies are those of a stated load below saturation rather than of the
machine's limit. Throughput is then what was offered, not measured against the floor: the
shares are left out.

It prints, per phase and endpoint, requests/s, p50/p95/p99 (ms, exact: taken from locust's
request events, not its rounded histogram) and failures; each phase's throughput as a share of the
floor's; the machine; and the targets, each met or not. The tables paste into RESULTS.md.

    python -m load_tests.prepare --base-url http://127.0.0.1:8751 --state /tmp/xinyong_load.json
    python -m load_tests.bench --base-url http://127.0.0.1:8751 --state /tmp/xinyong_load.json \
        --users 16 --duration 30

Only loopback addresses are accepted: load tests never leave the machine.
"""

from __future__ import annotations

import argparse
import random
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Importing locust monkey-patches the standard library (gevent): it must come before anything
# that imports ssl, such as http.client in load_tests.common; none of the modules above does.
import gevent  # type: ignore[import-untyped]  # gevent ships no type information
import locust
from locust import task
from locust.env import Environment
from locust.log import setup_logging
from locust.runners import STATE_RUNNING
from locust.user.users import User

from load_tests import locustfile, summary, traffic
from load_tests.common import Connection, is_loopback
from load_tests.locustfile import _Client, _Partner, _PlatformUser, _Visitor


class Floor(_PlatformUser):
    """The floor: the liveness probe, which touches neither the database nor Redis."""

    @task
    def health(self) -> None:
        self.call("GET", traffic.HEALTH)


class EntityReader(_Visitor):
    """Public entity reads only, some revalidated."""

    @task(4)
    def entity(self) -> None:
        self.read(traffic.ENTITY)

    @task(1)
    def entity_again(self) -> None:
        self.revalidate()


class Searcher(_Visitor):
    """Public searches only."""

    @task(4)
    def by_name(self) -> None:
        self.search_name()

    @task(1)
    def by_kind(self) -> None:
        self.search_kind()


class ReportReader(_Partner):
    """The bank's single reads under consent, every category."""

    role = "bank"

    @task
    def full_report(self) -> None:
        self.report()


class TokenTaker(_Client):
    """The bank asking for a client-credentials token, again and again, each request from an
    address of the visitors' pool: the token endpoint limits per address, and a token rate
    like this one comes from many partners' hosts, not one."""

    role = "bank"

    def token_address(self) -> str | None:
        return self.rng.choice(locustfile.ADDRESSES)

    @task
    def new_token(self) -> None:
        self.take_token()


class SdkBank(User):
    """The bank's reads under consent through the Python SDK (`xinyong_sdk.Client`) instead of
    raw HTTP: the same requests, plus what the SDK adds (token handling, retries, typed errors).
    Locust's gevent makes the SDK's httpx sockets and locks cooperative."""

    role = "bank"

    def on_start(self) -> None:
        from xinyong_sdk import Client  # the SDK, installed with the dev tools

        record: dict[str, Any] = locustfile.STATE["clients"][self.role]
        self.rng = random.Random()
        self.consents: list[dict[str, str]] = record["consents"]
        self.sdk = Client(self.host, record["client_id"], record["client_secret"], max_retries=0)

    def on_stop(self) -> None:
        self.sdk.close()

    @task
    def full_report(self) -> None:
        consent = self.rng.choice(self.consents)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            report = self.sdk.reports.get(
                consent["subject_id"], consent_token=consent["consent_token"]
            )
            if "report_no" not in report:
                error = ValueError("no report in the answer")
        except Exception as exc:  # an SDK error is this request's failure
            error = exc
        self.environment.events.request.fire(
            request_type="GET",
            name=f"{traffic.REPORT} (sdk)",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )


SINGLE: dict[str, type[User]] = {
    "floor": Floor,
    "entity": EntityReader,
    "search": Searcher,
    "report": ReportReader,
    "report-sdk": SdkBank,
    "token": TokenTaker,
}


def phase_users(phase: str, users: int) -> dict[type[User], int]:
    """The user classes of a phase and how many users of each."""
    if phase != "mixed":
        return {SINGLE[phase]: users}
    weights = {cls.__name__: cls.weight for cls in locustfile.USER_CLASSES}
    counts = traffic.mixed_counts(max(users, len(weights)), weights)
    return {cls: counts[cls.__name__] for cls in locustfile.USER_CLASSES if counts[cls.__name__]}


class Recorder:
    """Exact latencies and failures per endpoint from locust's request events, while open."""

    def __init__(self) -> None:
        self.open = False
        self.endpoints: dict[tuple[str, str], summary.Endpoint] = {}

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        exception: BaseException | None = None,
        **_kwargs: Any,
    ) -> None:
        if not self.open:
            return
        key = (request_type, name)
        endpoint = self.endpoints.get(key)
        if endpoint is None:
            endpoint = self.endpoints[key] = summary.Endpoint(request_type, name)
        if exception is None:
            endpoint.latencies.append(response_time)
        else:
            endpoint.failures += 1
            reason = str(exception)[:160] or type(exception).__name__
            endpoint.reasons[reason] = endpoint.reasons.get(reason, 0) + 1


def spread_pacing(rate_per_user: float) -> Callable[[User], float]:
    """A locust `wait_time` that starts a user's tasks at fixed intervals, the first interval
    begun at random. locust's `constant_throughput` keeps every user on the phase of its start,
    and the users of a phase start together: their requests would arrive in bursts of all of
    them at once, whose queueing is then measured as latency."""
    period = 1.0 / rate_per_user

    def wait_time(user: User) -> float:
        now = time.monotonic()
        due: float | None = getattr(user, "_paced_due", None)
        # After a slow answer the next task starts at once; no burst to catch up.
        due = now + random.uniform(0, period) if due is None else max(due + period, now)
        user._paced_due = due  # type: ignore[attr-defined]  # the user's own schedule
        return due - now

    return wait_time


def is_paced(phase: str, rate: float | None) -> bool:
    """Whether `--rate` paces this phase: every phase but `mixed`, which keeps its own pacing."""
    return rate is not None and phase != "mixed"


def phase_classes(phase: str, users: int, rate: float | None = None) -> dict[type[User], int]:
    """Subclasses with a fixed count (exactly these users, whatever locust's weighting would do),
    paced to `rate` tasks a second in all when given; `mixed` keeps its own pacing."""
    chosen = phase_users(phase, users)
    total = sum(chosen.values())
    extra: dict[str, Any] = {"__module__": __name__}
    if rate is not None and is_paced(phase, rate):
        extra["wait_time"] = spread_pacing(rate / total)
    return {
        type(cls.__name__, (cls,), {"fixed_count": count, **extra}): count
        for cls, count in chosen.items()
    }


def run_phase(
    base_url: str,
    phase: str,
    users: int,
    duration: float,
    warmup: float,
    rate: float | None = None,
) -> tuple[summary.Phase, bool]:
    """Run one phase; its results, and whether locust's own CPU went above 90 %."""
    classes = phase_classes(phase, users, rate)
    total = sum(classes.values())
    env = Environment(user_classes=list(classes), host=base_url, catch_exceptions=True)
    recorder = Recorder()
    env.events.request.add_listener(recorder.on_request)
    runner = env.create_local_runner()
    runner.start(total, spawn_rate=total)
    deadline = time.monotonic() + 30
    while runner.state != STATE_RUNNING and time.monotonic() < deadline:
        gevent.sleep(0.05)
    gevent.sleep(warmup)
    recorder.open = True
    started = time.perf_counter()
    gevent.sleep(duration)
    recorder.open = False
    seconds = time.perf_counter() - started
    cpu_warning = runner.cpu_warning_emitted
    runner.quit()
    errors = {str(row["msg"])[:160]: int(row["count"]) for row in runner.exceptions.values()}
    result = summary.Phase(
        name=phase,
        users=total,
        seconds=seconds,
        endpoints=list(recorder.endpoints.values()),
        task_errors=errors,
        users_by_class={cls.__name__: count for cls, count in classes.items()},
        paced=is_paced(phase, rate),
    )
    return result, cpu_warning


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--state", required=True, help="the state file of load_tests.prepare")
    parser.add_argument("--users", type=int, default=16, help="users in every phase")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds a phase")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds before")
    parser.add_argument(
        "--rate",
        type=float,
        help="pace every phase but mixed at this many requests/s in all (default: no think time)",
    )
    parser.add_argument(
        "--phases",
        nargs="+",
        default=list(summary.PHASES),
        help=f"some of {', '.join(summary.PHASES)} (default: all)",
    )
    args = parser.parse_args(argv)
    if not is_loopback(args.base_url):
        parser.error("only loopback servers may be load-tested here")
    if args.users <= 0 or args.duration <= 0 or args.warmup < 0:
        parser.error("--users and --duration must be positive, --warmup not negative")
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")
    try:
        phases = summary.parse_phases(args.phases)
    except ValueError as error:
        parser.error(str(error))
    base_url = args.base_url.rstrip("/")
    state = traffic.read_state(Path(args.state))
    if state["base_url"] != base_url:
        print(f"note: the state was prepared at {state['base_url']}", file=sys.stderr)
    locustfile.use_state(state)
    setup_logging("WARNING")

    status, _ = Connection(base_url).request("GET", traffic.HEALTH)
    if status != 200:
        raise SystemExit(f"{base_url}{traffic.HEALTH} answered {status}")

    machine = summary.machine()
    results: list[summary.Phase] = []
    hot: list[str] = []
    for phase in phases:
        print(f"bench: {phase} …", file=sys.stderr, flush=True)
        result, cpu_warning = run_phase(
            base_url, phase, args.users, args.duration, args.warmup, args.rate
        )
        results.append(result)
        if cpu_warning:
            hot.append(phase)
        print(
            f"bench: {phase}: {result.served_rps:,.1f} served requests/s, "
            f"{result.failures} failures",
            file=sys.stderr,
            flush=True,
        )

    mixed = next((r for r in results if r.name == "mixed"), None)
    command = "python -m load_tests.bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    pacing = (
        "no think time"
        if args.rate is None
        else f"paced at {args.rate:g} requests/s in all ({args.rate / args.users:g} per user at "
        "fixed intervals, the users' first intervals begun at random; the mixed phase keeps its "
        "own pacing)"
    )
    header = [
        f"    {command}",
        "",
        f"**Machine:** {machine}; locust {locust.__version__}; load generator, server and "
        "databases on this one machine.",
        "",
        f"**Run:** {base_url}; {state['entities']:,}+ legal persons counted at preparation, "
        f"{len(state['clients']['bank']['consents'])} subjects under consent; "
        f"{args.users} users a phase, {pacing}, {args.duration:g} s measured after "
        f"{args.warmup:g} s of warm-up; per-client limits "
        f"{'set by prepare' if state.get('limits_set') else 'NOT set (no `clients set-limit`)'}.",
    ]
    if mixed:
        shares = ", ".join(f"{name} {n}" for name, n in mixed.users_by_class.items())
        header.append(f"Mixed phase users: {shares}.")
    if hot:
        header.append(
            f"locust's own CPU went above 90 % in: {', '.join(hot)} (latencies there include "
            "the load generator's queueing)."
        )
    print(summary.render(results, header))
    return 0


if __name__ == "__main__":
    sys.exit(main())
