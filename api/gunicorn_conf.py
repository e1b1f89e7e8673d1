"""gunicorn settings used by `xinyong serve` (the production server)."""

from __future__ import annotations

import os
import shutil
from typing import Any

from prometheus_client import multiprocess

timeout = 30
graceful_timeout = 10
keepalive = 5
# The longest URL the API accepts (a 100-character query, a 512-character cursor, all
# percent-encoded) fits; gunicorn's own default (4094) would answer some with an HTML 414.
limit_request_line = 8190
accesslog = None  # the app logs each request as a JSON line with its request id


def child_exit(_server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the shared metrics directory."""
    multiprocess.mark_process_dead(worker.pid)


def on_exit(_server: Any) -> None:
    """Remove the metrics directory `xinyong serve` made for this run."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and os.path.basename(directory).startswith("xinyong-metrics-"):
        shutil.rmtree(directory, ignore_errors=True)
