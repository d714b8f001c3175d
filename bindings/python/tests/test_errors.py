"""Error codes, statuses and request ids; no secret in any error text."""

import pytest

from authflow import AuthFlowClient, AuthflowError, MockServer, Secret, totp_now

EMAIL = "ada@example.com"
ROLE = "detective"
PASSWORD = "TestPass123!"
WRONG = "Wr0ng-Pass-42!"


def texts(e: AuthflowError) -> list[str]:
    return [str(e), repr(e), e.detail, str(e.args)]


def assert_clean(e: AuthflowError, *secrets: str) -> None:
    for text in texts(e):
        for s in secrets:
            assert s not in text, f"secret in error text: {text}"


async def test_api_error_codes(authflow_mock: MockServer) -> None:
    key = authflow_mock.api_key
    client = AuthFlowClient(key, authflow_mock.base_url)

    with pytest.raises(AuthflowError) as err:
        await client.login(EMAIL, WRONG, ROLE)
    e = err.value
    assert (e.code, e.status, e.retryable) == ("not_found", 404, False)
    assert_clean(e, WRONG, key.expose())

    await client.sign_up(EMAIL, PASSWORD, "Ada", ROLE)
    with pytest.raises(AuthflowError) as err:
        await client.sign_up(EMAIL, PASSWORD, "Ada", ROLE)
    assert (err.value.code, err.value.status) == ("conflict", 409)
    assert_clean(err.value, PASSWORD, key.expose())

    with pytest.raises(AuthflowError) as err:
        await client.login(EMAIL, WRONG, ROLE)
    e = err.value
    assert (e.code, e.status) == ("unauthorized", 401)
    assert "login" in e.detail
    assert e.request_id is None or isinstance(e.request_id, str)
    assert str(e).startswith("unauthorized: ")
    assert_clean(e, WRONG, PASSWORD, key.expose())


async def test_local_error_codes(authflow_mock: MockServer) -> None:
    bad_key = "af_not-a-real-key-Sekrit"
    with pytest.raises(AuthflowError) as err:
        AuthFlowClient(bad_key, authflow_mock.base_url)
    assert (err.value.code, err.value.status, err.value.request_id) == ("invalid_input", None, None)
    assert_clean(err.value, bad_key)

    client = AuthFlowClient(authflow_mock.api_key, authflow_mock.base_url)
    with pytest.raises(AuthflowError) as err:
        await client.sign_up("bob@example.com", "weakpw", "Bob", ROLE)
    assert err.value.code == "invalid_input"
    assert_clean(err.value, "weakpw")

    with pytest.raises(AuthflowError) as err:
        await client.sign_up("not-an-email", PASSWORD, "Bob", ROLE)
    assert err.value.code == "invalid_input"

    with pytest.raises(AuthflowError) as err:
        totp_now("not base32!")
    assert err.value.code == "invalid_input"
    assert_clean(err.value, "not base32!")

    with pytest.raises(TypeError):
        await client.verify_email(42)  # type: ignore[arg-type]


async def test_transport_error_names_no_url_secret() -> None:
    key = Secret("af_0123456789abcdef0123456789abcdef")
    client = AuthFlowClient(key, "http://127.0.0.1:9")
    with pytest.raises(AuthflowError) as err:
        await client.login(EMAIL, WRONG, ROLE)
    e = err.value
    assert (e.code, e.status) == ("transport", None)
    assert_clean(e, WRONG, key.expose())


def test_secret_is_redacted() -> None:
    s = Secret("hunter2-Secret!")
    assert repr(s) == "Secret('[REDACTED]')"
    assert str(s) == "[REDACTED]" and f"{s}" == "[REDACTED]"
    assert s.expose() == "hunter2-Secret!"


def test_error_is_an_exception() -> None:
    assert issubclass(AuthflowError, Exception)
    assert AuthflowError.__module__ == "authflow"
