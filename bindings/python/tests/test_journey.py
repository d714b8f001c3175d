"""The AuthFlow journey through the Python binding against the in-process mock:
sign up -> verify the email from the captured mail -> log in -> enable TOTP ->
log in with the 2FA challenge -> recovery code -> log out."""

from urllib.parse import parse_qs, urlparse

import pytest

from authflow import (
    AuthFlowClient,
    AuthflowError,
    Challenge,
    MockServer,
    Secret,
    Session,
    totp_at,
)

EMAIL = "ada@example.com"
ROLE = "detective"
PASSWORD = "TestPass123!"


def link_token(link: str) -> Secret:
    return Secret(parse_qs(urlparse(link).query)["token"][0])


def client_for(mock: MockServer) -> AuthFlowClient:
    return AuthFlowClient(mock.api_key, mock.base_url)


async def test_journey(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    client = client_for(mock)

    session = await client.sign_up(EMAIL, PASSWORD, "Ada Lovelace", ROLE)
    assert isinstance(session, Session)
    assert session.email == EMAIL
    assert "[REDACTED]" in repr(session) and session.token.expose() not in repr(session)

    mail = mock.latest_email(EMAIL)
    assert mail is not None and mail.kind == "verification"
    assert [m.id for m in mock.emails_to(EMAIL)] == [mail.id]
    token = link_token(mail.links[0])
    await client.verify_email(token)
    with pytest.raises(AuthflowError) as err:
        await client.verify_email(token)  # single-use
    assert (err.value.code, err.value.status) == ("unauthorized", 401)

    outcome = await client.login(EMAIL, PASSWORD, ROLE)
    assert isinstance(outcome, Session)
    assert await client.validate(outcome)
    me = await client.me(outcome.token)
    assert (me.email, me.fullname, me.role) == (EMAIL, "Ada Lovelace", ROLE)
    user = me.user()

    setup = await client.enable_totp(outcome.token, user)
    assert setup.otpauth_url.expose().startswith("otpauth://totp/")
    code = totp_at(setup.secret, mock.now_secs())
    recovery = await client.verify_totp_setup(outcome.token, user, code, setup.secret)
    assert len(recovery) >= 1 and all(isinstance(c, Secret) for c in recovery)

    # A TOTP code works once per 30-second step: move the mock's clock on.
    mock.advance_clock(30)
    challenge = await client.login(EMAIL, PASSWORD, ROLE)
    assert isinstance(challenge, Challenge)
    assert challenge.user == user
    assert "[REDACTED]" in repr(challenge.temp_token)
    session = await challenge.verify_totp(totp_at(setup.secret, mock.now_secs()))
    assert await client.validate(session)

    # The same exchange with the client's own route method and a recovery code.
    challenge = await client.login(EMAIL, PASSWORD, ROLE)
    assert isinstance(challenge, Challenge)
    rec = await challenge.verify_recovery_code(recovery[0])
    assert rec.remaining_codes == len(recovery) - 1
    with pytest.raises(AuthflowError) as err:
        await challenge.verify_recovery_code(recovery[0])  # single-use
    assert err.value.status == 401

    await client.logout(session)
    assert not await client.validate(session)


async def test_verify_2fa_on_the_client_and_password_reset(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    client = client_for(mock)
    session = await client.sign_up(EMAIL, Secret(PASSWORD), "Ada", ROLE)
    user = (await client.me(session.token)).user()
    setup = await client.enable_totp(session.token, user)
    await client.verify_totp_setup(
        session.token, user, totp_at(setup.secret, mock.now_secs()), setup.secret
    )

    mock.advance_clock(30)
    challenge = await client.login(EMAIL, PASSWORD, ROLE)
    assert isinstance(challenge, Challenge)
    session = await client.verify_2fa(
        challenge.temp_token, challenge.user, totp_at(setup.secret, mock.now_secs())
    )
    assert await client.validate(session)

    await client.forgot_password(EMAIL, ROLE)
    mail = mock.latest_email(EMAIL)
    assert mail is not None and mail.kind == "password_reset"
    await client.reset_password(link_token(mail.links[0]), "NewPass123!")
    assert not await client.validate(session)  # sessions from before are revoked
    with pytest.raises(AuthflowError) as err:
        await client.login(EMAIL, PASSWORD, ROLE)
    assert err.value.code == "unauthorized"


async def test_mock_controls(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    assert mock.base_url.startswith("http://127.0.0.1:")
    assert mock.api_key.expose().startswith("af_")
    assert mock.owner_email and mock.owner_role and mock.org_id
    assert mock.agent_key.key.expose().startswith("aid_")
    assert mock.flows_admin_token.expose()

    client = client_for(mock)
    owner = await client.login(mock.owner_email, mock.owner_password, mock.owner_role)
    assert isinstance(owner, Session)

    # Sessions live 12 hours on the mock's clock.
    mock.freeze_clock()
    t = mock.now_secs()
    mock.advance_clock(13 * 3600)
    assert mock.now_secs() == t + 13 * 3600
    assert not await client.validate(owner)
    mock.unfreeze_clock()

    mock.reset()
    assert mock.emails_to(mock.owner_email) == []


async def test_async_start_and_shutdown() -> None:
    mock = await MockServer.start()
    client = client_for(mock)
    await client.sign_up(EMAIL, PASSWORD, "Ada", ROLE)
    await mock.shutdown()
    with pytest.raises(AuthflowError) as err:
        mock.emails_to(EMAIL)
    assert err.value.code == "mock"
    with pytest.raises(AuthflowError) as err:
        await client.sign_up("bob@example.com", PASSWORD, "Bob", ROLE)
    assert err.value.code == "transport"


def test_sync_test_can_use_the_fixture(authflow_mock: MockServer) -> None:
    assert authflow_mock.latest_email(EMAIL) is None


async def test_backup_email_code_and_change_password(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    client = client_for(mock)
    session = await client.sign_up(EMAIL, PASSWORD, "Ada", ROLE)
    user = (await client.me(session.token)).user()
    setup = await client.enable_totp(session.token, user)
    await client.verify_totp_setup(
        session.token, user, totp_at(setup.secret, mock.now_secs()), setup.secret
    )

    challenge = await client.login(EMAIL, PASSWORD, ROLE)
    assert isinstance(challenge, Challenge)
    await challenge.send_backup_email()
    mail = mock.latest_email(EMAIL)
    assert mail is not None and mail.kind == "two_factor_otp" and mail.codes
    session = await challenge.verify_email_otp(mail.codes[0])
    assert await client.validate(session)

    await client.change_password(session, PASSWORD, "NewPass123!")
    with pytest.raises(AuthflowError) as err:
        await client.login(EMAIL, PASSWORD, ROLE)
    assert err.value.status == 401
