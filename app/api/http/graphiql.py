"""GraphiQL served from Laurel's own copy of its assets, so the page works offline.

Strawberry's page loads React and GraphiQL from a CDN and stays a blank "Loading..."
where none is reachable. ``static/graphiql.html`` is that page with every script and
stylesheet pointing at ``ASSETS_URL`` instead, where ``static/graphiql/`` (the pinned
files, their licences and ``VERSIONS``; refreshed from the npm registry by
``static/refresh_graphiql.sh``) is mounted. Each tag keeps a subresource-integrity hash,
worked out here from the file it names.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path

from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
ASSETS_DIR = STATIC / "graphiql"
ASSETS_URL = "/graphiql-assets"
_TEMPLATE = STATIC / "graphiql.html"
_SRI = re.compile(r"\{\{sri:([\w.-]+)\}\}")


def _integrity(name: str) -> str:
    digest = hashlib.sha384((ASSETS_DIR / name).read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


@cache
def graphiql_page() -> str:
    """The GraphiQL page, referencing only files under ``ASSETS_URL``."""
    html = _TEMPLATE.read_text(encoding="utf-8").replace("{{assets}}", ASSETS_URL)
    return _SRI.sub(lambda m: _integrity(m.group(1)), html)


def graphiql_assets() -> StaticFiles:
    """The ASGI app serving the pinned assets (mount it at ``ASSETS_URL``)."""
    return StaticFiles(directory=ASSETS_DIR)
