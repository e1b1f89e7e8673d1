"""A private `redis-server` on a loopback port, for the tests that kill and restart Redis.

The shared development Redis (`XINYONG_TEST_REDIS_URL`) cannot be stopped under other tests'
feet, so these tests run their own: no persistence (`--save ""`, `--appendonly no`), one
database, killed with SIGKILL as an outage would, and started again on the same port.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.live import free_port

REDIS_SERVER = shutil.which("redis-server")


class RedisServer:
    """One redis-server process on 127.0.0.1, which can be killed and started again."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A client with short timeouts (the test never waits long on a dead server)."""
        return redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)

    def start(self, timeout: float = 10) -> None:
        """Start the server (on the same port as before) and wait until it answers PING."""
        assert REDIS_SERVER is not None
        assert self.process is None or self.process.poll() is not None, "already running"
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--databases",
                "1",
            ],  # fmt: skip
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        client = self.client()
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    output = (self.directory / "redis.log").read_text(errors="replace")
                    pytest.fail(f"redis-server exited with {self.process.returncode}:\n{output}")
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    time.sleep(0.05)
        finally:
            client.close()
        pytest.fail(f"redis-server on port {self.port} did not answer in {timeout} s")

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would; waits until the process is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections, but nothing answers (a hung Redis)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server for good at the end of a test (even a paused one)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A running redis-server of this test's own, stopped at its end."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()
