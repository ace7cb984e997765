"""The pages' script and style, served by the app itself: the pinned htmx copies are the
files their SHA256SUMS name, with their licences beside them."""

from __future__ import annotations

import hashlib
import re

from app.web.routes import STATIC
from tests.web.shared.browsing import visiting


async def test_htmx_is_served_by_the_app_as_pinned(app):
    async with visiting(app) as visitor:
        htmx = await visitor.http.get("/static/htmx/htmx.min.js")
        sse = await visitor.http.get("/static/htmx/sse.min.js")
        style = await visitor.http.get("/static/laurel.css")
        missing = await visitor.http.get("/static/htmx/../../routes.py")

    assert htmx.status_code == sse.status_code == style.status_code == 200
    assert "javascript" in htmx.headers["content-type"]
    assert 'version:"2.0.11"' in htmx.text.replace(" ", "")
    assert missing.status_code == 404
    for line in (STATIC / "htmx" / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((STATIC / "htmx" / name).read_bytes()).hexdigest() == digest, name
    for licence in ("LICENSE.htmx", "LICENSE.htmx-ext-sse"):
        assert "Zero" in (STATIC / "htmx" / licence).read_text()


def test_no_template_loads_anything_from_another_host():
    templates = STATIC.parent / "templates"
    foreign = [
        f"{path.name}: {url}"
        for path in templates.rglob("*.html")
        for url in re.findall(r'(?:src|href)="(https?:)?//[^"]*"', path.read_text())
    ]
    assert foreign == []
