"""Tests of the Python SDK (`sdk/`), mostly against a live `xinyong serve` on a loopback port.

The SDK is its own distribution; where it is not installed into the environment (`pip install
-e ./sdk`), its source folder is put on the path so that the suite still finds it.
"""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("xinyong_sdk") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sdk"))
