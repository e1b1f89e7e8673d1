"""The benchmark's results: per-endpoint statistics, throughput against the floor, the targets,
and the tables printed for RESULTS.md. Pure functions, no locust (see traffic.py)."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from load_tests import traffic
from load_tests.common import percentile

FLOOR = "floor"
PHASES = ("floor", "entity", "search", "report", "report-sdk", "token", "mixed")
# The endpoints each phase must have exercised ("METHOD route" as the tables name them).
PHASE_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "floor": (f"GET {traffic.HEALTH}",),
    "entity": (f"GET {traffic.ENTITY}",),
    "search": (f"GET {traffic.SEARCH}",),
    "report": (f"GET {traffic.REPORT}",),
    # The same reads through the Python SDK (issue 7: its overhead against raw HTTP).
    "report-sdk": (f"GET {traffic.REPORT} (sdk)",),
    "token": (f"POST {traffic.TOKEN}",),
    "mixed": (
        f"GET {traffic.SEARCH}",
        f"GET {traffic.ENTITY}",
        f"GET {traffic.RECORDS}",
        f"GET {traffic.REPORT}",
        f"POST {traffic.BATCH}",
        f"GET {traffic.MY_CONSENTS}",
        f"POST {traffic.MY_CONSENTS}",
        f"POST {traffic.REVOKE}",
        f"GET {traffic.ACCESS_LOG}",
        f"POST {traffic.INGEST}",
    ),
}


def parse_phases(values: Sequence[str]) -> list[str]:
    """Phase names given as separate words or comma-separated, in the canonical order."""
    asked = {p.strip() for v in values for p in v.split(",") if p.strip()}
    unknown = sorted(asked - set(PHASES))
    if unknown:
        raise ValueError(f"unknown phases: {', '.join(unknown)}")
    if not asked:
        raise ValueError("no phase named")
    return [p for p in PHASES if p in asked]


@dataclass
class Endpoint:
    """One endpoint in one phase: latencies (ms) of its served requests, and its failures."""

    method: str
    name: str
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.method} {self.name}"

    @property
    def limited(self) -> bool:
        """Whether this row counts provoked 429s rather than served requests."""
        return self.name.endswith(traffic.LIMITED)

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.failures


@dataclass
class Phase:
    """One phase: its users, its measured seconds, its endpoints and the scenario's own errors."""

    name: str
    users: int
    seconds: float
    endpoints: list[Endpoint] = field(default_factory=list)
    task_errors: dict[str, int] = field(default_factory=dict)
    users_by_class: dict[str, int] = field(default_factory=dict)
    paced: bool = False  # users paced to an offered rate: its throughput is that rate

    def rps(self, endpoint: Endpoint) -> float:
        return len(endpoint.latencies) / self.seconds if self.seconds > 0 else 0.0

    @property
    def served_rps(self) -> float:
        """Requests/s answered 2xx or 304 (provoked 429s and failures left out)."""
        served = sum(len(e.latencies) for e in self.endpoints if not e.limited)
        return served / self.seconds if self.seconds > 0 else 0.0

    @property
    def failures(self) -> int:
        return sum(e.failures for e in self.endpoints) + sum(self.task_errors.values())

    def endpoint(self, label: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.label == label), None)


def ratio(value: float, floor: float) -> float | None:
    """`value` as a fraction of the floor's; None without a floor to compare with."""
    return value / floor if floor > 0 else None


def _paced(phase: Phase, floor: Phase | None) -> bool:
    """Whether the phase or its floor was paced: both then serve what was offered, and a share
    would say nothing of cost."""
    return phase.paced or (floor is not None and floor.paced)


def share_of_floor(phase: Phase, value: float, floor: Phase | None) -> float | None:
    """`value`, of `phase`, as a fraction of the floor's requests/s; None without a floor, or
    when either was paced."""
    if floor is None or _paced(phase, floor):
        return None
    return ratio(value, floor.served_rps)


@dataclass(frozen=True)
class Target:
    """A target of issue 6 for one endpoint in its own phase."""

    label: str
    phase: str
    endpoint: str
    min_ratio: float | None = None
    max_p99_ms: float | None = None


TARGETS = (
    Target("public entity read", "entity", f"GET {traffic.ENTITY}", 0.50, 15.0),
    Target("search", "search", f"GET {traffic.SEARCH}", 0.25, 50.0),
    Target("report under consent", "report", f"GET {traffic.REPORT}", None, 40.0),
    Target("client-credentials token", "token", f"POST {traffic.TOKEN}", None, 30.0),
)


@dataclass(frozen=True)
class Check:
    """One line of the targets table."""

    what: str
    measured: str
    met: bool | None  # None: not measured


def checks(phases: Sequence[Phase]) -> list[Check]:
    """Every target against the phases that ran, and the no-failure rule over all of them."""
    by_name = {p.name: p for p in phases}
    floor = by_name.get(FLOOR)
    out: list[Check] = []
    for target in TARGETS:
        phase = by_name.get(target.phase)
        endpoint = phase.endpoint(target.endpoint) if phase else None
        if target.min_ratio is not None:
            what = f"{target.label}: ≥ {target.min_ratio:.0%} of the floor's requests/s"
            share = (
                share_of_floor(phase, phase.rps(endpoint), floor) if phase and endpoint else None
            )
            if phase is not None and _paced(phase, floor):
                out.append(Check(what, "– (paced run)", None))
            elif share is None:
                out.append(Check(what, "not measured", None))
            else:
                out.append(Check(what, f"{share:.0%}", share >= target.min_ratio))
        if target.max_p99_ms is not None:
            what = f"{target.label}: p99 < {target.max_p99_ms:g} ms"
            if endpoint is None or not endpoint.latencies:
                out.append(Check(what, "not measured", None))
            else:
                # Over served requests only: with failures beside them it says little.
                p99 = percentile(endpoint.latencies, 99)
                failed = f" ({endpoint.failures} failed)" if endpoint.failures else ""
                met = p99 < target.max_p99_ms and not endpoint.failures
                out.append(Check(what, f"{p99:.1f} ms{failed}", met))
    failures = sum(p.failures for p in phases)
    out.append(
        Check(
            "no failures other than the provoked 429s",
            f"{failures} failure{'s' if failures != 1 else ''}",
            failures == 0,
        )
    )
    return out


# --- tables -----------------------------------------------------------------------------------


def _ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p):.1f}" if values else "–"


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("met" if met else "**not met**")


def endpoint_table(phases: Sequence[Phase]) -> list[str]:
    """Per phase and endpoint: requests, requests/s, p50/p95/p99 (ms), failures."""
    lines = [
        "| phase | endpoint | requests | requests/s | p50 ms | p95 ms | p99 ms | failures |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for phase in phases:
        for e in sorted(phase.endpoints, key=lambda e: (e.limited, e.name, e.method)):
            lines.append(
                f"| {phase.name} | {e.label} | {e.requests:,} | {phase.rps(e):,.1f} | "
                f"{_ms(e.latencies, 50)} | {_ms(e.latencies, 95)} | {_ms(e.latencies, 99)} | "
                f"{e.failures} |"
            )
        if not phase.endpoints:
            lines.append(f"| {phase.name} | (no requests) | 0 | 0.0 | – | – | – | 0 |")
    return lines


def phase_table(phases: Sequence[Phase]) -> list[str]:
    """Per phase: users, served requests/s, its ratio to the floor's, failures."""
    floor = next((p for p in phases if p.name == FLOOR), None)
    lines = [
        "| phase | users | served requests/s | of the floor's | failures |",
        "|---|---:|---:|---:|---:|",
    ]
    for phase in phases:
        share = share_of_floor(phase, phase.served_rps, floor)
        lines.append(
            f"| {phase.name} | {phase.users} | {phase.served_rps:,.1f} | "
            f"{'–' if share is None else f'{share:.0%}'} | {phase.failures} |"
        )
    return lines


def check_table(results: Iterable[Check]) -> list[str]:
    lines = ["| target | measured | verdict |", "|---|---:|---|"]
    lines += [f"| {c.what} | {c.measured} | {_verdict(c.met)} |" for c in results]
    return lines


def failure_notes(phases: Sequence[Phase]) -> list[str]:
    """Why requests failed, and the scenario's own errors, one line each."""
    lines = []
    for phase in phases:
        for e in phase.endpoints:
            for reason, count in sorted(e.reasons.items(), key=lambda kv: -kv[1]):
                lines.append(f"* {phase.name}, {e.label}: {count} × {reason}")
        for error, count in sorted(phase.task_errors.items(), key=lambda kv: -kv[1]):
            lines.append(f"* {phase.name}, scenario error: {count} × {error}")
    return lines


def render(phases: Sequence[Phase], header: Sequence[str]) -> str:
    """Everything the bench prints at the end, ready to paste into RESULTS.md."""
    parts = [*header, "", *endpoint_table(phases), "", *phase_table(phases), ""]
    parts += check_table(checks(phases))
    notes = failure_notes(phases)
    if notes:
        parts += ["", "Failures:", "", *notes]
    return "\n".join(parts)


# --- the machine ------------------------------------------------------------------------------


def _meminfo_kib(text: str) -> int | None:
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return None


def _cpu_model(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return None


def machine(proc: Path = Path("/proc")) -> str:
    """nproc, memory, CPU model, load average and Python, as the RESULTS.md machine lines say."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parts = [f"{cpus} cores (nproc)"]
    try:
        kib = _meminfo_kib((proc / "meminfo").read_text())
        if kib:
            parts.append(f"{kib / 2**20:.1f} GiB (MemTotal {kib:,} kB)")
        model = _cpu_model((proc / "cpuinfo").read_text())
        if model:
            parts.append(model)
        load = (proc / "loadavg").read_text().split()[:3]
        parts.append(f"load average {' '.join(load)} at the start")
    except OSError:
        pass
    parts.append(f"Python {platform.python_version()}")
    return ", ".join(parts)
