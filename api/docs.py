"""Interactive API docs at /docs, with Swagger UI's assets served by the platform itself.

Government and bank networks often have no internet, so nothing is loaded from a CDN: the assets
come from the flask-swagger-ui package.
"""

from __future__ import annotations

from flask import Flask
from flask_swagger_ui import get_swaggerui_blueprint

DOCS_PATH = "/docs"
OPENAPI_PATH = "/openapi.json"


def init_app(app: Flask) -> None:
    """Register /docs."""
    app.register_blueprint(
        get_swaggerui_blueprint(
            DOCS_PATH,
            OPENAPI_PATH,
            config={"app_name": "信用 Xinyong API", "deepLinking": True, "tryItOutEnabled": True},
        )
    )
