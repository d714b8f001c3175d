"""ConsumerClient, ConsumerSession and InboxEvents through the Python binding
against the in-process mock: magic-link sign-in, identities, notifications,
upgrade, and the inbox stream with `async for`."""

import asyncio
import json

import pytest

from authflow import (
    AuthflowError,
    ConsumerClient,
    ConsumerSession,
    InboxEvent,
    InboxEvents,
    MockServer,
)


async def signed_in(mock: MockServer, email: str) -> ConsumerSession:
    c = ConsumerClient(mock.base_url)
    await c.signup(email)
    token = mock.magic_link_token(email)
    assert token is not None
    return await c.verify(token)


async def test_magic_link_sign_in_and_errors(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    c = ConsumerClient(mock.base_url)
    assert c.base_url == mock.base_url
    assert await c.signup("alice@example.com") is None
    with pytest.raises(AuthflowError) as err:
        await c.signup("alice@example.com")
    assert (err.value.code, err.value.status) == ("email_already_registered", 409)
    with pytest.raises(AuthflowError) as err:
        await c.login("nobody@example.com")
    assert (err.value.code, err.value.status) == ("consumer_not_found", 404)

    token = mock.magic_link_token("alice@example.com")
    assert token is not None and token.expose().startswith("ml_")
    session = await c.verify(token)
    assert isinstance(session, ConsumerSession)
    assert session.consumer_id.startswith("csr_")
    assert session.org_id.startswith("org_personal_")
    assert session.project_id.startswith("proj_default_")
    assert session.expires_at
    sess = session.session_token.expose()
    assert sess.startswith("sess_") and sess not in repr(session)

    with pytest.raises(AuthflowError) as err:
        await c.verify(token)
    assert (err.value.code, err.value.status) == ("invalid_magic_link", 401)
    assert token.expose() not in str(err.value)
    assert mock.magic_link_token("nobody@example.com") is None


async def test_identities_notifications_and_upgrade(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    session = await signed_in(mock, "bob@example.com")
    made = [await session.create_identity(label) for label in ("one", "two", "three")]
    with pytest.raises(AuthflowError) as err:
        await session.create_identity("four")
    assert (err.value.code, err.value.status) == ("identity_limit_reached", 403)
    page = await session.identities(limit=2)
    assert (page.total, len(page.items)) == (3, 2)

    mock.deliver_email(made[0].email, "no-reply@example.com", "Code", "Your verification code is 551234.")
    notes = await session.notifications()
    assert notes.total >= 1
    assert notes.items[0].kind == "extraction.completed" and not notes.items[0].read
    assert "551234" not in repr(notes.items) and "551234" not in notes.items[0].body

    up = await session.upgrade()
    assert up.checkout_url.startswith(mock.base_url)


async def test_inbox_events_async_for_resume_and_close(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    session = await signed_in(mock, "carol@example.com")
    ident = await session.create_identity("stream")
    # The stream starts with the consumer's event log: nothing is missed.
    mock.deliver_email(ident.email, "no-reply@example.com", "Sign-in", "Your verification code is 123456.")

    events = session.inbox_events()
    assert isinstance(events, InboxEvents)
    seen: list[InboxEvent] = []

    async def collect() -> None:
        async for event in events:
            seen.append(event)
            if len(seen) == 2:
                break

    await asyncio.wait_for(collect(), 10)
    assert [e.event_type for e in seen] == ["inbound.received", "extraction.completed"]
    assert all(e.identity_id == ident.id for e in seen)
    assert seen[0].message_id == seen[1].message_id
    data = json.loads(seen[1].data_json)
    assert (data["type"], data["redacted_value"]) == ("otp", "***456")
    assert "123456" not in seen[1].data_json

    # Resume after the first event: only the second comes again.
    async with session.inbox_events(seen[0].id) as resumed:
        again = await asyncio.wait_for(resumed.next(), 10)
        assert again is not None and again.id == seen[1].id
    assert await resumed.next() is None, "the context manager closed it"

    # close() ends a waiting `async for`.
    waiting = asyncio.ensure_future(asyncio.wait_for(events.next(), 10))
    await asyncio.sleep(0.2)
    await events.close()
    assert await waiting is None
    assert [e async for e in events] == []


async def test_expired_session_ends_the_stream_with_an_error(authflow_mock: MockServer) -> None:
    mock = authflow_mock
    session = await signed_in(mock, "dave@example.com")
    mock.advance_clock(8 * 24 * 3600)
    with pytest.raises(AuthflowError) as err:
        await session.identities()
    assert (err.value.code, err.value.status) == ("session_expired", 401)
    with pytest.raises(AuthflowError) as err:
        async for _ in session.inbox_events():
            pass
    assert (err.value.code, err.value.status) == ("session_expired", 401)
    assert session.session_token.expose() not in str(err.value)
