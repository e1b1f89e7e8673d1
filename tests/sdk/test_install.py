"""The SDK is a distribution of its own: it installs alone into a fresh virtual environment, with
httpx from the package index and nothing of the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parents[2] / "sdk"
OFFLINE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable")

PROBE = """
import importlib.metadata, importlib.util, json, pathlib
import xinyong_sdk
from xinyong_sdk import AsyncClient, Client, ConsentError

with Client("http://127.0.0.1:9") as client:
    pager = client.public.search("丝绸")
try:
    import api
    server = True
except ImportError:
    server = False
print(json.dumps({
    "version": xinyong_sdk.__version__,
    "requires": importlib.metadata.requires("xinyong-sdk"),
    "server": server,
    "others": [m for m in ("credit", "consent", "auth", "flask", "sqlalchemy")
               if importlib.util.find_spec(m)],
    "typed": (pathlib.Path(xinyong_sdk.__file__).parent / "py.typed").is_file(),
    "location": xinyong_sdk.__file__,
}))
"""


def test_the_sdk_installs_alone_in_a_fresh_virtual_environment(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(SDK)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    if installed.returncode and any(sign in installed.stderr for sign in OFFLINE):
        pytest.skip(f"the package index cannot be reached: {installed.stderr[-300:]}")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # Run from the empty temporary folder: the repository must not be importable from here.
    probed = subprocess.run(
        [str(python), "-c", PROBE], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert probed.returncode == 0, probed.stderr
    found = json.loads(probed.stdout)
    assert found["server"] is False
    assert found["others"] == []
    assert found["requires"] == ["httpx>=0.27"]
    assert found["typed"] is True
    assert found["location"].startswith(str(venv))
    assert found["version"] == "0.1.0"
