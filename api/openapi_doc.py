"""The exported OpenAPI document in `openapi/`, kept in step with the code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULT_PATH = Path("openapi") / "openapi.json"


def render(app: Flask) -> str:
    """The app's OpenAPI document as stable, diff-friendly JSON."""
    spec: dict[str, Any] = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return json.dumps(spec, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write(app: Flask, path: Path = DEFAULT_PATH) -> None:
    """Write the document to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(app), encoding="utf-8")


def is_current(app: Flask, path: Path = DEFAULT_PATH) -> bool:
    """Whether `path` holds exactly the document the code produces."""
    return path.exists() and path.read_text(encoding="utf-8") == render(app)
