"""AidenIdClient through the Python binding against the in-process mock:
identities, inbox messages, reliability runs (link and OTP), secret
retrieval with `secrets:read` only, timeouts on the mock clock."""

import pytest

from authflow import (
    AgentKey,
    AidenIdClient,
    AuthflowError,
    Identity,
    IdentityPage,
    MockServer,
    Run,
    RunPage,
    Secret,
)


def client_for(mock: MockServer, key: AgentKey) -> AidenIdClient:
    return AidenIdClient(key.key, key.org_id, key.project_id, mock.base_url)


async def test_identities_and_inbox(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    aid = client_for(mock, mock.agent_key)
    ident = await aid.create_identity("signup-test", ttl_hours=2)
    assert isinstance(ident, Identity)
    assert ident.id.startswith("ident_") and ident.status == "active"
    assert await aid.identity(ident.id) == ident
    await aid.create_identity("second")

    page = await aid.list_identities(limit=1)
    assert isinstance(page, IdentityPage)
    assert (page.total, page.limit, len(page.items)) == (2, 1, 1)
    rest = await aid.list_identities(limit=1, offset=1)
    assert rest.items[0].id != page.items[0].id

    ids = mock.deliver_email(ident.email, "no-reply@example.com", "Your code", "Your verification code is 482913.")
    assert len(ids) == 1
    messages = await aid.messages(ident.id)
    assert [m.id for m in messages] == ids
    assert messages[0].extraction is not None
    assert messages[0].extraction.kind == "otp"
    assert messages[0].extraction.redacted_value == "***913"
    assert "482913" not in repr(messages)

    assert (await aid.squash_identity(ident.id)).status == "squashed"
    with pytest.raises(AuthflowError) as err:
        await aid.squash_identity(ident.id)
    assert (err.value.code, err.value.status) == ("identity_already_squashed", 409)
    with pytest.raises(AuthflowError) as err:
        await aid.identity("ident_nope")
    assert (err.value.code, err.value.status) == ("identity_not_found", 404)


async def test_password_reset_run_and_secret_scope(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    aid = client_for(mock, mock.agent_key)
    ident = await aid.create_identity("reset")
    target = mock.demo_target_url("password_reset")
    assert target.endswith("/__mock/demo/forgot-password")
    created = await aid.create_password_reset_run(ident.id, target, 120)
    assert isinstance(created, Run)
    assert created.kind == "password_reset" and created.identity_id == ident.id

    run = await aid.wait_for_run(created.id, max_wait_ms=30_000)
    assert run.status == "completed", run
    assert run.result is not None and run.failure is None
    assert run.result.kind == "link" and run.result.has_secret
    assert run.result.redacted_value.startswith("***")

    with pytest.raises(AuthflowError) as err:
        await aid.run_secret(run.id)
    assert (err.value.code, err.value.status) == ("forbidden", 403)
    secret = await client_for(mock, mock.agent_key_with_secrets).run_secret(run.id)
    assert isinstance(secret, Secret)
    assert "/__mock/demo/reset?token=" in secret.expose()
    assert secret.expose().endswith(run.result.redacted_value[3:])
    assert secret.expose() not in repr(secret)

    page = await aid.list_runs(status="completed")
    assert isinstance(page, RunPage)
    assert [r.id for r in page.items] == [run.id]


async def test_invite_run_otp_and_timeout(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    aid = client_for(mock, mock.agent_key_with_secrets)
    ident = await aid.create_identity("invite")
    run = await aid.wait_for_run(
        (await aid.create_invite_run(ident.id, mock.demo_target_url("invite"))).id
    )
    assert (run.kind, run.status, run.result.kind) == ("invite", "completed", "otp")
    code = (await aid.run_secret(run.id)).expose()
    assert len(code) == 6 and code.isdigit()

    dropped = await aid.create_password_reset_run(
        ident.id, mock.demo_target_url("password_reset") + "?drop=true", 60
    )
    with pytest.raises(AuthflowError) as err:
        await aid.wait_for_run(dropped.id, max_wait_ms=1)
    assert (err.value.code, err.value.status, err.value.retryable) == ("timeout", None, True)
    mock.advance_clock(61)
    timed_out = await aid.run(dropped.id)
    assert timed_out.status == "timeout"
    assert timed_out.failure is not None and timed_out.failure.code == "timeout"


async def test_errors_and_no_key_leak(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    key = mock.agent_key
    aid = client_for(mock, key)
    with pytest.raises(AuthflowError) as err:
        await aid.run("run_nope")
    assert (err.value.code, err.value.status) == ("run_not_found", 404)
    with pytest.raises(AuthflowError) as err:
        await aid.list_runs(status="queued")
    assert err.value.code == "invalid_input"
    with pytest.raises(AuthflowError) as err:
        mock.demo_target_url("signup")
    assert err.value.code == "invalid_input"
    with pytest.raises(AuthflowError) as err:
        await client_for(mock, mock.agent_key_read_only).create_identity("x")
    assert (err.value.code, err.value.status) == ("forbidden", 403)

    wrong = "aid_wrong_key_0123456789abcdef"
    with pytest.raises(AuthflowError) as err:
        await AidenIdClient(wrong, key.org_id, key.project_id, mock.base_url).list_identities()
    assert (err.value.code, err.value.status) == ("unauthorized", 401)
    with pytest.raises(AuthflowError) as bad:
        AidenIdClient("af_not_an_agent_key", "org", "proj")
    assert bad.value.code == "invalid_input"
    for secret in (wrong, key.key.expose(), "af_not_an_agent_key"):
        for text in (str(err.value), repr(err.value), str(bad.value), repr(key), repr(aid)):
            assert secret not in text
