"""Which URLs may receive webhooks: https in production, no internal addresses unless
allowed, whether written as literals or reached through a name (resolved by a stand-in
resolver: no DNS in tests)."""

from __future__ import annotations

import pytest

from app.services.webhooks.endpoints import UrlPolicy, url_problems


def resolving(table: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("name not known")
        return table[host]

    return resolve


NAMES = resolving(
    {
        "crm.brand.example": ["8.8.8.8"],
        "intranet.brand.example": ["10.1.2.3"],
        "split.brand.example": ["8.8.4.4", "192.168.1.5"],
        "localhost": ["127.0.0.1", "::1"],
    }
)
PRODUCTION = UrlPolicy(https_only=True, allow_private=False, resolve=NAMES)
DEVELOPMENT = UrlPolicy(https_only=False, allow_private=False, resolve=NAMES)


async def messages(url: str, policy: UrlPolicy = DEVELOPMENT) -> list[str]:
    return [f"{p.field}: {p.message}" for p in await url_problems(url, policy=policy)]


async def test_a_public_https_url_is_accepted():
    assert await messages("https://crm.brand.example/hooks/laurel", PRODUCTION) == []


async def test_production_requires_https():
    assert await messages("http://crm.brand.example/hooks", PRODUCTION) == [
        "url: must start with https://"
    ]
    assert await messages("http://crm.brand.example/hooks", DEVELOPMENT) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.7/hook",
        "https://172.16.3.4/hook",
        "https://192.168.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://localhost:8443/hook",
        "https://intranet.brand.example/hook",
        "https://split.brand.example/hook",
    ],
)
async def test_internal_addresses_are_refused(url):
    found = await messages(url)
    assert len(found) == 1
    assert found[0].startswith("url: points at a private, loopback or link-local address")


async def test_the_setting_allows_internal_addresses():
    allowed = UrlPolicy(https_only=False, allow_private=True, resolve=NAMES)
    assert await messages("http://127.0.0.1:9000/hook", allowed) == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://crm.brand.example/", "url: must start with http:// or https://"),
        ("crm.brand.example/hooks", "url: must start with http:// or https://"),
        ("https:///hooks", "url: must name a host"),
        ("https://user:pw@crm.brand.example/", "url: must not carry credentials"),
        ("https://nowhere.brand.example/", "url: the host nowhere.brand.example does not resolve"),
        ("https://crm.brand.example:99999/", "url: is not a URL"),
    ],
)
async def test_malformed_urls_are_refused(url, problem):
    found = await messages(url)
    assert len(found) == 1 and found[0].startswith(problem)
