"""Signing in to the web pages, the session cookie, CSRF and the idle timeout."""

from __future__ import annotations

from datetime import timedelta

from app.auth import Role, mint_token
from app.config import Environment, Settings
from app.main import create_app
from tests import factories
from tests.web.shared.browsing import signed_in, visiting


async def test_a_page_asks_an_anonymous_visitor_to_sign_in(app):
    async with visiting(app) as visitor:
        response = await visitor.http.get("/console/seasons")

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/console/seasons"


async def test_the_session_cookie_is_http_only_and_strict(app):
    async with visiting(app) as visitor:
        response = await visitor.http.get("/sign-in")

    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie  # development serves plain http on 127.0.0.1


async def test_a_marketer_signs_in_to_the_console(app):
    async with signed_in(app, "marketer") as marketer:
        response = await marketer.http.get("/console")

    assert response.status_code == 200
    assert "Programme overview" in response.text


async def test_a_member_signs_in_to_its_portal(app):
    await factories.member(external_id="crm-ada", display_name="Ada Lovelace")

    async with signed_in(app, "member", "crm-ada") as ada:
        response = await ada.http.get("/portal")

    assert response.status_code == 200
    assert "Hello, Ada Lovelace" in response.text


async def test_an_unknown_member_is_told_so(app):
    async with visiting(app) as visitor:
        response = await visitor.sign_in("member", "nobody")

    assert response.status_code == 400
    assert "No member has the external id &#39;nobody&#39;" in response.text


async def test_a_form_without_the_csrf_token_is_refused(app):
    async with signed_in(app, "marketer") as marketer:
        response = await marketer.http.post(
            "/console/seasons", data={"code": "spring", "name": "Spring"}
        )
        forged = await marketer.http.post(
            "/console/seasons", data={"csrf": "not-the-token", "code": "spring"}
        )
        seasons = await marketer.http.get("/console/seasons")

    assert response.status_code == forged.status_code == 403
    assert "did not come from Laurel" in response.text
    assert "spring" not in seasons.text


async def test_sign_in_itself_needs_the_csrf_token(app):
    async with visiting(app) as visitor:
        response = await visitor.http.post("/sign-in", data={"role": "admin"})

    assert response.status_code == 403


async def test_an_idle_session_ends(app, clock, settings):
    async with signed_in(app, "marketer") as marketer:
        clock.advance(timedelta(minutes=settings.session_idle_minutes - 1))
        still = await marketer.http.get("/console")
        clock.advance(timedelta(minutes=settings.session_idle_minutes + 1))
        ended = await marketer.http.get("/console")

    assert still.status_code == 200
    assert ended.status_code == 303 and ended.headers["location"].startswith("/sign-in")


async def test_a_forged_cookie_is_an_anonymous_visitor(app):
    async with visiting(app) as visitor:
        visitor.http.cookies.set("laurel_session", "eyJyb2xlIjoiYWRtaW4ifQ.forged")
        response = await visitor.http.get("/console")

    assert response.status_code == 303


async def test_signing_out_ends_the_session(app):
    async with signed_in(app, "admin") as admin:
        token = await admin.csrf("/console")
        await admin.http.post("/sign-out", data={"csrf": token})
        response = await admin.http.get("/console")

    assert response.status_code == 303


async def test_production_exchanges_an_identity_provider_token(settings, clock):
    production = settings.model_copy(
        update={"env": Environment.PRODUCTION, "jwt_secret": "p" * 40, "load_demo": False}
    )
    app = create_app(production, clock=clock)
    token = mint_token(settings=production, role=Role.MARKETER, subject="idp-7", now=clock())
    expired = mint_token(
        settings=production, role=Role.MARKETER, subject="idp-7", now=clock() - timedelta(days=2)
    )
    async with app.router.lifespan_context(app), visiting(app, https=True) as visitor:
        page = await visitor.http.get("/sign-in")
        refused = await visitor.send("/sign-in", {"token": expired}, page="/sign-in")
        accepted = await visitor.send("/sign-in", {"token": token}, page="/sign-in")
        console = await visitor.http.get("/console")

    assert "Token from your identity provider" in page.text
    assert "role=" not in page.text  # no demo picker in production
    assert "secure" in page.headers["set-cookie"].lower()
    assert refused.status_code == 401 and "expired" in refused.text
    assert accepted.status_code == 303 and accepted.headers["location"] == "/console"
    assert console.status_code == 200


def test_sessions_follow_their_settings():
    settings = Settings(jwt_secret="s" * 40, session_idle_minutes=5, load_demo=False)
    assert settings.session_idle_minutes == 5


async def test_pages_forbid_framing_and_foreign_scripts(app):
    async with visiting(app) as visitor:
        response = await visitor.http.get("/sign-in")

    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
