"""With the default settings, webhook URLs may not point inside the network."""

from __future__ import annotations

import pytest

from tests.factories import operation


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://10.20.30.40/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
    ],
)
async def test_internal_urls_are_refused(client, url):
    data = await operation(client, "CreateWebhookEndpoint", url=url, eventTypes=["task.completed"])
    result = data["createWebhookEndpoint"]
    assert result["__typename"] == "ValidationFailed"
    assert [p["field"] for p in result["problems"]] == ["url"]
    assert "LAUREL_WEBHOOKS_ALLOW_PRIVATE" in result["problems"][0]["message"]
    listed = await operation(client, "WebhookEndpoints")
    assert listed["webhookEndpoints"] == []
