"""What the SDK makes of a batch of report reads: one typed result per item, in order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xinyong_sdk.errors import APIError, XinyongError, make_error
from xinyong_sdk.types import BatchItem, Report

__all__ = ["ReportResult"]


@dataclass(frozen=True, slots=True)
class ReportResult:
    """The outcome of one item of `reports.batch`: a report, or the error that item got.

    `error` is the exception a single read would have raised (a `ConsentError` for a revoked
    consent, ...), not raised; `unwrap()` returns the report or raises it.
    """

    index: int
    subject_id: str
    status: int
    report: Report | None
    error: APIError | None

    @property
    def ok(self) -> bool:
        return self.report is not None

    def unwrap(self) -> Report:
        """The report, or raise the item's error."""
        if self.report is not None:
            return self.report
        if self.error is not None:
            raise self.error
        raise XinyongError(f"item {self.index} has neither a report nor an error")


def batch_results(items: Sequence[BatchItem]) -> Any:
    """The parser of a batch answer for `items`."""

    def parse(data: Any) -> list[ReportResult]:
        results = data["results"]
        if not isinstance(results, list) or len(results) != len(items):
            raise ValueError(f"{len(items)} items were sent but the answer has other results")
        out: list[ReportResult] = []
        for index, (item, result) in enumerate(zip(items, results, strict=True)):
            status = int(result["status"])
            if status == 200 and isinstance(result.get("report"), dict):
                out.append(ReportResult(index, item["subject_id"], status, result["report"], None))
            else:
                problem = result.get("problem")
                error = make_error(status, problem if isinstance(problem, dict) else {})
                out.append(ReportResult(index, item["subject_id"], status, None, error))
        return out

    return parse
