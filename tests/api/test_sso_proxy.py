"""External sign-in through an identity-aware proxy (OIDC): the proxy's user header counts only with its
shared secret, only for users this platform knows, and never when the hook is off."""
from __future__ import annotations

import pytest

from engine.config import Settings
from engine.errors import ValidationFailed

HEADER, SECRET = "X-Forwarded-Preferred-Username", "s3cret-from-the-proxy"


@pytest.fixture
def sso_client(app, city):
    import dataclasses
    app.extensions["hotline_settings"] = dataclasses.replace(app.extensions["hotline_settings"],
                                                             sso_user_header=HEADER, sso_proxy_secret=SECRET)
    return app.test_client()


def test_the_proxy_signs_in_a_known_user(sso_client):
    page = sso_client.get("/inbox", headers={HEADER: "dispatcher", "X-Hotline-Proxy-Secret": SECRET})
    assert page.status_code == 200 and ">工单受理<" in page.get_data(as_text=True)     # the dispatcher's menus


@pytest.mark.parametrize("headers", [
    {HEADER: "admin"},                                              # no secret: a client naming itself
    {HEADER: "admin", "X-Hotline-Proxy-Secret": "guess"},
    {HEADER: "nobody", "X-Hotline-Proxy-Secret": SECRET},          # unknown here: no account is made
])
def test_without_the_secret_or_a_known_user_it_is_the_sign_in_page(sso_client, headers):
    response = sso_client.get("/inbox", headers=headers)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_header_means_nothing_when_the_hook_is_off(client):
    response = client.get("/inbox", headers={HEADER: "admin", "X-Hotline-Proxy-Secret": SECRET})
    assert response.status_code == 302


def test_the_hook_needs_its_secret():
    with pytest.raises(ValidationFailed):
        Settings.from_env({"HOTLINE_SSO_USER_HEADER": HEADER})
