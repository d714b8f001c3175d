"""ProxyServer through the Python binding: a key-less client signs up and
logs in through the in-process proxy in front of the mock."""

import pytest

from authflow import AuthFlowClient, AuthflowError, MockServer, ProxyOptions, ProxyServer, Session

PASSWORD = "TestPass123!"


async def test_sign_up_and_log_in_through_the_proxy(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    proxy = await ProxyServer.start(mock.base_url, mock.api_key)
    assert proxy.base_url.startswith("http://127.0.0.1:") and proxy.base_url != mock.base_url
    client = AuthFlowClient.via_proxy(proxy.base_url)
    session = await client.sign_up("eve@example.com", PASSWORD, "Eve", "detective")
    assert session.email == "eve@example.com"
    login = await client.login("eve@example.com", PASSWORD, "detective")
    assert isinstance(login, Session)
    assert await client.validate(login)
    with pytest.raises(AuthflowError) as err:
        await client.login("eve@example.com", "Wrong123!x", "detective")
    assert (err.value.code, err.value.status) == ("unauthorized", 401)

    await proxy.shutdown()
    await proxy.shutdown()
    with pytest.raises(AuthflowError) as err:
        await client.login("eve@example.com", PASSWORD, "detective")
    assert err.value.code == "transport"


async def test_options_and_config_errors(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    opts = ProxyOptions(body_limit=16)
    assert (opts.cookie_origins, opts.cors_origins, opts.body_limit) == ([], [], 16)
    proxy = await ProxyServer.start_with(mock.base_url, mock.api_key, opts)
    client = AuthFlowClient.via_proxy(proxy.base_url)
    with pytest.raises(AuthflowError) as err:
        await client.forgot_password("someone-with-a-long-address@example.com")
    assert (err.value.code, err.value.status) == ("payload_too_large", 413)
    await proxy.shutdown()

    bad = "af_not-a-valid-key-SECRETVALUE"
    with pytest.raises(AuthflowError) as err:
        await ProxyServer.start(mock.base_url, bad)
    assert (err.value.code, err.value.status) == ("config", None)
    assert "SECRETVALUE" not in str(err.value) and "SECRETVALUE" not in repr(err.value)
    with pytest.raises(AuthflowError) as err:
        await ProxyServer.start_with(mock.base_url, mock.api_key, ProxyOptions(cors_origins=["not an origin"]))
    assert err.value.code == "config"
