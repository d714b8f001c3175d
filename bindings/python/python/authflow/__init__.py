"""AuthFlow for Python: an asyncio client and an in-process mock server.

Thin wrappers over the authflow-rs Rust core (``authflow-ffi``)::

    import asyncio
    from authflow import AuthFlowClient, MockServer, Session

    async def main() -> None:
        mock = await MockServer.start()
        client = AuthFlowClient(mock.api_key, mock.base_url)
        session = await client.sign_up("ada@example.com", "TestPass123!", "Ada", "detective")
        assert await client.validate(session)
        await mock.shutdown()

    asyncio.run(main())

Every failure raises :class:`AuthflowError` with ``code``, ``status``,
``request_id``, ``detail`` and ``retryable``. Secrets are :class:`Secret`
objects (``repr`` is redacted; ``expose()`` reveals them); arguments that
take a secret accept a ``str`` too.
"""

from authflow._native import (
    AgentKey,
    AuthFlowClient,
    AuthflowError,
    Challenge,
    Email,
    MockServer,
    Profile,
    RecoverySession,
    Secret,
    Session,
    TotpSetup,
    UserRef,
    totp_at,
    totp_now,
)

__all__ = [
    "AgentKey",
    "AuthFlowClient",
    "AuthflowError",
    "Challenge",
    "Email",
    "MockServer",
    "Profile",
    "RecoverySession",
    "Secret",
    "Session",
    "TotpSetup",
    "UserRef",
    "totp_at",
    "totp_now",
]
