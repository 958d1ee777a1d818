"""One-click unsubscribe in every email (issue 21, part 1): the List-Unsubscribe pair reaches
the recipient through SendGrid and through an SMTP relay alike, and the sandbox SendGrid refuses
the headers SendGrid refuses."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from aftercare import connections
from aftercare.config import load_config
from aftercare.messages import list_unsubscribe_headers, unsubscribe_link
from aftercare.providers.base import Email, ProviderError
from aftercare.providers.factory import Providers

SECRET = "test-signing-secret-0123456789"  # noqa: S105


def _email(headers: dict[str, str]) -> Email:
    return Email(
        touchpoint_id="check_in:placement:1:1",
        to="cand@example.com",
        to_name="Cand",
        subject="How is it going?",
        text="Hello\n",
        html="<p>Hello</p>",
        category="check_in",
        headers=headers,
    )


def _received(sandbox: Any, service: str) -> list[dict[str, Any]]:
    return requests.get(f"{sandbox.url}/sandbox/{service}/received", timeout=10).json()["data"]


@pytest.mark.parametrize("transport", ["sendgrid", "smtp"])
def test_list_unsubscribe_headers_reach_the_recipient(
    provider_connections: Any, transport: str
) -> None:
    sandbox, config = provider_connections, load_config()
    settings = config.dispatch.model_copy(update={"email_transport": transport})
    providers = Providers(
        config.model_copy(update={"dispatch": settings}), "email", connections.get_connection
    )
    link = unsubscribe_link("https://prefs.example/unsubscribe", SECRET, 1, "email", "tp-1")
    headers = list_unsubscribe_headers(link, "unsubscribe@agency.example")
    try:
        providers.email.send(_email(headers))
    finally:
        providers.close()

    [message] = _received(sandbox, transport)
    got = {name: message["headers"][name] for name in headers}
    assert got == {
        "List-Unsubscribe": f"<{link}>, <mailto:unsubscribe@agency.example?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_sandbox_sendgrid_refuses_reserved_or_non_string_headers(provider_connections: Any) -> None:
    sandbox, config = provider_connections, load_config()
    providers = Providers(config, "email", connections.get_connection)
    for headers, field in (
        ({"Reply-To": "x@example.com"}, "headers"),
        ({"List-Unsubscribe-Post": 1}, "headers.List-Unsubscribe-Post"),
    ):
        with pytest.raises(ProviderError, match="HTTP 400"):
            providers.email.send(_email(headers))  # type: ignore[arg-type]
        response = requests.post(
            f"{sandbox.url}/sendgrid/v3/mail/send",
            json={
                "personalizations": [{"to": [{"email": "a@example.com"}]}],
                "from": {"email": "f@example.com"},
                "subject": "s",
                "content": [{"type": "text/plain", "value": "v"}],
                "headers": headers,
            },
            headers={
                "Authorization": f"Bearer {connections.get_connection('aftercare_email').password}"
            },
            timeout=10,
        )
        assert (response.status_code, response.json()["errors"][0]["field"]) == (400, field)
    assert _received(sandbox, "sendgrid") == []
