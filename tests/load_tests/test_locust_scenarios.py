"""The load test's own logic, and one short run of it against a live server.

The pure helpers (routes, visitors' addresses, verdicts, the mix, targets, tables, the census)
are tested in this process. Locust itself is never imported here: importing it monkey-patches
the standard library (gevent) for the whole test session. The smoke test runs
`load_tests.prepare` and `load_tests.bench` as commands, against `xinyong serve` on a loopback
port with a small seeded district, for a few seconds per phase, and asserts only that every
phase made requests and that the table names every endpoint: no timing is asserted.
"""

from __future__ import annotations

import base64
import importlib.util
import ipaddress
import json
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from load_tests import summary, traffic
from load_tests.prepare import census, missing_command
from load_tests.summary import Endpoint, Phase
from tests.live import command_environment, free_port, http_get

REPO = Path(__file__).resolve().parents[2]
XINYONG = str(Path(sys.executable).parent / "xinyong")


# --- routes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("template", traffic.ROUTES)
def test_every_route_names_its_own_filled_paths(template: str) -> None:
    path = traffic.fill(template, uscc="91370306MA3C4N2P50", subject_id="sub_1", consent_id="con_2")
    assert traffic.route_of(path) == template
    assert traffic.route_of(path + "?page_size=20&q=%E4%B8%9D%E7%BB%B8") == template


def test_a_literal_segment_beats_a_placeholder() -> None:
    assert traffic.route_of("/v1/subjects/reports:batch") == traffic.BATCH
    assert traffic.route_of("/v1/subjects/sub_9/report") == traffic.REPORT
    assert traffic.route_of("/v1/me/consents/") == traffic.MY_CONSENTS


@pytest.mark.parametrize(
    "path",
    ["/v1/public", "/v1/public/entities/X/records/extra", "/v1/me/consents//revoke", "/"],
)
def test_a_path_of_no_route_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="no route"):
        traffic.route_of(path)


def test_filled_values_are_percent_encoded() -> None:
    assert traffic.fill(traffic.REVOKE, consent_id="a/b c") == "/v1/me/consents/a%2Fb%20c/revoke"


def test_provoked_429s_have_a_name_of_their_own() -> None:
    name = traffic.limited_name(traffic.REPORT)
    assert name.startswith(traffic.REPORT)
    assert name.endswith("429 (expected)")
    assert name not in traffic.ROUTES


# --- visitors' addresses ----------------------------------------------------------------------


def test_visitors_come_from_a_few_thousand_private_addresses() -> None:
    addresses = traffic.visitor_addresses()
    assert 2000 <= len(addresses) == len(set(addresses)) <= 10_000
    network = ipaddress.ip_network("10.0.0.0/8")
    for text in addresses:
        address = ipaddress.ip_address(text)
        assert address in network
        assert text.rsplit(".", 1)[1] not in ("0", "255")


def test_the_pool_is_the_same_for_a_seed() -> None:
    assert traffic.visitor_addresses(50, seed=1) == traffic.visitor_addresses(50, seed=1)
    assert traffic.visitor_addresses(50, seed=1) != traffic.visitor_addresses(50, seed=2)


@pytest.mark.parametrize("count", [0, -1, 2**24])
def test_an_impossible_pool_is_refused(count: int) -> None:
    with pytest.raises(ValueError, match="addresses"):
        traffic.visitor_addresses(count)


# --- verdicts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 204, 304])
def test_2xx_and_304_are_served(status: int) -> None:
    for expected in (False, True):
        assert traffic.judge(status, None, limit_expected=expected) == traffic.Verdict(ok=True)


@pytest.mark.parametrize("retry_after", ["1", "60", "Wed, 21 Oct 2026 07:28:00 GMT"])
def test_a_provoked_429_with_retry_after_is_expected(retry_after: str) -> None:
    verdict = traffic.judge(429, retry_after, limit_expected=True)
    assert verdict.ok
    assert verdict.limited


@pytest.mark.parametrize("retry_after", [None, "", "soon", "-1", "1.5", "١"])
def test_a_provoked_429_without_a_valid_retry_after_fails(retry_after: str | None) -> None:
    verdict = traffic.judge(429, retry_after, limit_expected=True)
    assert not verdict.ok
    assert "Retry-After" in verdict.reason


def test_a_429_for_any_other_user_fails() -> None:
    verdict = traffic.judge(429, "1", limit_expected=False)
    assert not verdict.ok
    assert not verdict.limited
    assert "429" in verdict.reason


@pytest.mark.parametrize("status", [0, 301, 302, 400, 401, 403, 404, 409, 500, 503])
def test_every_other_status_fails(status: int) -> None:
    for expected in (False, True):
        verdict = traffic.judge(status, "1", limit_expected=expected)
        assert not verdict.ok
        assert verdict.reason


def test_a_batch_must_answer_every_item_200() -> None:
    good = {"results": [{"status": 200, "report": {}}] * 3}
    assert traffic.batch_failures(good, 3) == ""
    assert "2 results" in traffic.batch_failures({"results": good["results"][:2]}, 3)
    mixed = {"results": [{"status": 200}, {"status": 403}, {"status": 403}]}
    assert traffic.batch_failures(mixed, 3) == "batch items answered [403]"
    assert traffic.batch_failures(None, 3) == "no results in the batch answer"
    assert traffic.batch_failures({"results": "no"}, 3) == "no results in the batch answer"


# --- tokens -----------------------------------------------------------------------------------


def _jwt(claims: Any) -> str:
    def part(value: Any) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'ES256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_token_expiry_is_read_from_the_claims() -> None:
    assert traffic.token_expiry(_jwt({"exp": 1_795_759_605, "sub": "x"})) == 1_795_759_605.0
    assert traffic.token_expiry(_jwt({"exp": 17.5})) == 17.5


@pytest.mark.parametrize(
    "token",
    ["opaque", "a.b", "a.%%%.c", _jwt({"sub": "x"}), _jwt({"exp": True}), _jwt({"exp": "9"}),
     _jwt([1, 2])],
)  # fmt: skip
def test_no_expiry_without_a_numeric_exp(token: str) -> None:
    assert traffic.token_expiry(token) is None


def test_a_token_is_due_near_its_expiry() -> None:
    assert traffic.token_due(None, 1000.0)
    assert not traffic.token_due(2000.0, 1000.0)
    assert traffic.token_due(1059.0, 1000.0)
    assert traffic.token_due(1059.0, 1000.0, margin=60)
    assert not traffic.token_due(1061.0, 1000.0, margin=60)


# --- the mix ----------------------------------------------------------------------------------

WEIGHTS = {"PublicVisitor": 9, "Bank": 3, "RatingAgency": 1, "Subject": 1, "Department": 1,
           "NoisyBank": 1}  # fmt: skip


def test_sixteen_users_follow_the_weights() -> None:
    assert traffic.mixed_counts(16, WEIGHTS) == WEIGHTS


@pytest.mark.parametrize("users", [6, 7, 10, 16, 17, 50, 333])
def test_every_class_gets_a_user_and_the_total_is_kept(users: int) -> None:
    counts = traffic.mixed_counts(users, WEIGHTS)
    assert sum(counts.values()) == users
    assert min(counts.values()) >= 1
    assert counts["PublicVisitor"] >= counts["Bank"] >= counts["Subject"]


def test_fewer_users_than_classes_go_to_the_heaviest() -> None:
    assert traffic.mixed_counts(2, WEIGHTS) == {
        "PublicVisitor": 1, "Bank": 1, "Department": 0, "NoisyBank": 0, "RatingAgency": 0,
        "Subject": 0,
    }  # fmt: skip


@pytest.mark.parametrize(("users", "weights"), [(-1, WEIGHTS), (3, {}), (3, {"A": 0})])
def test_an_impossible_mix_is_refused(users: int, weights: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="weights"):
        traffic.mixed_counts(users, weights)


# --- the state --------------------------------------------------------------------------------


def test_a_state_without_its_parts_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="clients.noisy_bank"):
        traffic.check_state(
            {
                "base_url": "http://127.0.0.1:1",
                "entities": 1,
                "public": {"entities": [{}], "terms": ["丝绸"]},
                "clients": {"bank": {}, "rating_agency": {}, "department": {}},
                "subjects": [],
                "password": "p",
            }
        )
    with pytest.raises(SystemExit, match="JSON object"):
        traffic.check_state([])
    with pytest.raises(SystemExit, match="load_tests.prepare"):
        traffic.read_state(tmp_path / "missing.json")


# --- the census of prepare.py -----------------------------------------------------------------


def _pages(total: int) -> Any:
    """A fake search: `total` legal persons, 100 a page, cursors as offsets."""
    served: list[str] = []

    def fetch(path: str) -> dict[str, Any]:
        served.append(path)
        match = re.search(r"cursor=(\d+)", path)
        start = int(match.group(1)) if match else 0
        end = min(total, start + 100)
        items = [
            {"uscc": f"U{i}", "subject_id": f"sub_{i}", "name": f"公司{i}", "kind": "enterprise"}
            for i in range(start, end)
        ]
        return {"items": items, "next_cursor": str(end) if end < total else None}

    return fetch, served


def test_the_census_counts_every_page_and_samples_without_repeats() -> None:
    fetch, served = _pages(1234)
    found = census(fetch, 10_000, 300, random.Random(1))
    assert found.count == 1234
    assert len(served) == 13
    assert len(found.sample) == len({e["uscc"] for e in found.sample}) == 300
    # Algorithm R keeps a uniform sample: some of it comes from the last pages too.
    assert any(int(e["uscc"][1:]) >= 1000 for e in found.sample)


def test_the_census_stops_once_it_has_seen_enough() -> None:
    fetch, served = _pages(100_000)
    found = census(fetch, 250, 50, random.Random(1))
    assert found.count == 300
    assert len(served) == 3


def test_an_unknown_command_is_told_apart_from_a_failing_one() -> None:
    assert missing_command(2, "Usage: xinyong clients ...\nError: No such command 'set-limit'.")
    assert not missing_command(1, "Error: no client cli_1")
    assert not missing_command(2, "Error: Missing option '--per-minute'.")


# --- targets and tables -----------------------------------------------------------------------


def _endpoint(label: str, latencies: list[float], failures: int = 0) -> Endpoint:
    method, name = label.split(" ", 1)
    return Endpoint(method, name, latencies=latencies, failures=failures)


def _phases(*, entity_p99: float = 10.0, entity_count: int = 600, failures: int = 0) -> list[Phase]:
    floor = Phase("floor", 16, 1.0, [_endpoint("GET /healthz", [1.0] * 1000)])
    slow = entity_count // 50 + 1  # more than the slowest 1 %: the p99 is one of them
    latencies = [5.0] * (entity_count - slow) + [entity_p99] * slow
    entity = Phase("entity", 16, 1.0, [_endpoint(f"GET {traffic.ENTITY}", latencies)])
    mixed = Phase(
        "mixed",
        16,
        2.0,
        [
            _endpoint(f"GET {traffic.REPORT}", [20.0] * 100, failures=failures),
            _endpoint(f"GET {traffic.limited_name(traffic.REPORT)}", [1.0] * 50),
        ],
    )
    return [floor, entity, mixed]


def _by_what(checks: list[summary.Check]) -> dict[str, summary.Check]:
    return {c.what: c for c in checks}


def test_ratio_to_the_floor() -> None:
    assert summary.ratio(250.0, 1000.0) == 0.25
    assert summary.ratio(1.0, 0.0) is None


def test_targets_met_not_met_and_not_measured() -> None:
    checks = _by_what(summary.checks(_phases()))
    share = checks["public entity read: ≥ 50% of the floor's requests/s"]
    assert (share.measured, share.met) == ("60%", True)
    assert checks["public entity read: p99 < 15 ms"].met is True
    assert checks["search: p99 < 50 ms"].met is None
    assert checks["search: ≥ 25% of the floor's requests/s"].measured == "not measured"
    assert checks["no failures other than the provoked 429s"].met is True

    checks = _by_what(summary.checks(_phases(entity_p99=15.0, entity_count=100, failures=2)))
    assert checks["public entity read: ≥ 50% of the floor's requests/s"].met is False
    assert checks["public entity read: p99 < 15 ms"].met is False
    assert checks["no failures other than the provoked 429s"].measured == "2 failures"
    assert checks["no failures other than the provoked 429s"].met is False


def test_a_paced_run_compares_no_throughput_with_the_floor() -> None:
    # Paced, floor and entity both serve what was offered: a share of 100% would say nothing.
    phases = _phases()
    for phase in phases[:2]:
        phase.paced = True
    checks = _by_what(summary.checks(phases))
    share = checks["public entity read: ≥ 50% of the floor's requests/s"]
    assert (share.measured, share.met) == ("– (paced run)", None)
    assert checks["public entity read: p99 < 15 ms"].met is True  # latencies still count
    rows = summary.phase_table(phases)
    assert "| entity | 16 | 600.0 | – | 0 |" in rows
    assert "| mixed | 16 | 50.0 | – | 0 |" in rows  # its floor was paced


def test_a_p99_beside_failures_is_not_met() -> None:
    report = Phase("report", 16, 1.0, [_endpoint(f"GET {traffic.REPORT}", [5.0] * 10, 3)])
    check = _by_what(summary.checks([report]))["report under consent: p99 < 40 ms"]
    assert check.measured == "5.0 ms (3 failed)"
    assert check.met is False


def test_task_errors_count_as_failures() -> None:
    phase = Phase("mixed", 2, 1.0, [], task_errors={"signing in failed": 2})
    assert phase.failures == 2
    assert "scenario error: 2 × signing in failed" in summary.render([phase], [])


def test_provoked_429s_are_not_served_throughput() -> None:
    mixed = _phases()[2]
    assert mixed.served_rps == 50.0
    assert mixed.rps(mixed.endpoints[1]) == 25.0


def test_the_tables_name_every_endpoint_and_phase() -> None:
    text = summary.render(_phases(failures=1), ["    python -m load_tests.bench ..."])
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert "| floor | GET /healthz | 1,000 | 1,000.0 | 1.0 | 1.0 | 1.0 | 0 |" in rows
    assert f"| entity | GET {traffic.ENTITY} | 600 | 600.0 | 5.0 | 5.0 | 10.0 | 0 |" in rows
    assert f"| mixed | GET {traffic.REPORT} | 101 | 50.0 | 20.0 | 20.0 | 20.0 | 1 |" in rows
    assert any(f"GET {traffic.limited_name(traffic.REPORT)} | 50 |" in row for row in rows)
    assert "| entity | 16 | 600.0 | 60% | 0 |" in rows
    assert "| mixed | 16 | 50.0 | 5% | 1 |" in rows
    assert "| no failures other than the provoked 429s | 1 failure | **not met** |" in rows


def test_phases_are_parsed_in_their_order() -> None:
    assert summary.parse_phases(["mixed,floor", "entity"]) == ["floor", "entity", "mixed"]
    with pytest.raises(ValueError, match="unknown phases: nope"):
        summary.parse_phases(["floor", "nope"])
    with pytest.raises(ValueError, match="no phase"):
        summary.parse_phases([","])


def test_the_machine_line_reads_proc(tmp_path: Path) -> None:
    (tmp_path / "meminfo").write_text("MemTotal:       24684084 kB\nMemFree: 1 kB\n")
    (tmp_path / "cpuinfo").write_text("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n")
    (tmp_path / "loadavg").write_text("0.52 0.61 0.70 1/234 5678\n")
    line = summary.machine(tmp_path)
    assert "cores (nproc)" in line
    assert "23.5 GiB (MemTotal 24,684,084 kB)" in line
    assert "AMD EPYC 7B13" in line
    assert "load average 0.52 0.61 0.70" in line
    assert "Python 3." in summary.machine(tmp_path / "absent")


@pytest.mark.parametrize("rate", ["0", "-5"])
def test_a_rate_that_is_not_positive_is_refused(rate: str) -> None:
    # In a process of its own: importing the bench imports locust, which patches this one.
    done = subprocess.run(
        [sys.executable, "-m", "load_tests.bench", "--base-url", "http://127.0.0.1:9",
         "--state", "/nonexistent/state.json", "--rate", rate],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "--rate must be positive" in done.stderr


# --- the smoke test ---------------------------------------------------------------------------

SMOKE_BUDGET = 90.0  # seconds for everything below, server start to the table


@pytest.fixture
def smoke_env(tmp_path: Path, database_url: str, is_postgres: bool) -> Iterator[dict[str, str]]:
    if importlib.util.find_spec("locust") is None:
        pytest.skip("locust is not installed (pip install -e '.[dev]')")
    with command_environment(
        tmp_path / "instance", database_url, is_postgres=is_postgres, suffix="locust"
    ) as env:
        env["XINYONG_TRUSTED_PROXIES"] = "127.0.0.1"
        env["PYTHONPATH"] = str(REPO)
        yield env


def _run(env: dict[str, str], deadline: float, *args: str) -> str:
    left = deadline - time.monotonic()
    assert left > 0, "out of time before " + " ".join(args[:2])
    done = subprocess.run(
        [sys.executable, "-m", *args], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=left, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{' '.join(args[:2])}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_bench_runs_every_phase_against_a_live_server(
    smoke_env: dict[str, str], tmp_path: Path
) -> None:
    deadline = time.monotonic() + SMOKE_BUDGET
    port = free_port()
    log = (tmp_path / "server.log").open("wb")  # a file: a full pipe would stall the server
    server = subprocess.Popen(
        [XINYONG, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=smoke_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    state = tmp_path / "state.json"
    try:
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "the server was not ready in time"
            try:
                if http_get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        _run(
            smoke_env, deadline, "load_tests.prepare", "--base-url", base, "--entities", "200",
            "--subjects", "2", "--sample", "200", "--terms", "50", "--department-entities", "3",
            "--jobs", "2", "--state", str(state),
        )  # fmt: skip
        assert state.stat().st_mode & 0o777 == 0o600
        table = _run(
            smoke_env, deadline, "load_tests.bench", "--base-url", base, "--state", str(state),
            "--users", "2", "--duration", "3", "--warmup", "0.5",
        )  # fmt: skip
        paced = _run(
            smoke_env, deadline, "load_tests.bench", "--base-url", base, "--state", str(state),
            "--users", "2", "--duration", "3", "--warmup", "0.5", "--rate", "20",
            "--phases", "floor", "entity",
        )  # fmt: skip
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()

    rows: dict[str, dict[str, int]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[0] in summary.PHASES:
            rows.setdefault(cells[0], {})[cells[1]] = int(cells[2].replace(",", ""))
    assert sorted(rows) == sorted(summary.PHASES), table
    for phase, endpoints in summary.PHASE_ENDPOINTS.items():
        assert sum(rows[phase].values()) > 0, f"{phase} made no requests:\n{table}"
        missing = [e for e in endpoints if e not in rows[phase]]
        assert not missing, f"{phase} lacks {missing}:\n{table}"
    for line in ("| target | measured | verdict |", "**Machine:**", "| phase | users |"):
        assert line in table

    # Paced at 20 requests/s in all: about 60 in the 3 s measured, not thousands.
    assert "paced at 20 requests/s in all (10 per user" in paced, paced
    floor_row = next(r for r in paced.splitlines() if r.startswith("| floor | GET /healthz |"))
    assert 45 <= int(floor_row.split("|")[3].strip().replace(",", "")) <= 66, paced
    assert "| entity | 2 |" in paced
    assert "| public entity read: ≥ 50% of the floor's requests/s | – (paced run) |" in paced
