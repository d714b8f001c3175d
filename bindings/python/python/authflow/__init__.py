"""AuthFlow for Python: asyncio clients, the key-injecting proxy and an
in-process mock server.

Clients: :class:`AuthFlowClient` (``/auth``), :class:`FlowsClient` (Flow
admin API), :class:`AidenIdClient` (AIdenID agent API: identities, inboxes,
reliability runs), :class:`ConsumerClient` / :class:`ConsumerSession`
(AIdenID consumer API; ``async for event in session.inbox_events()``), and
:class:`ProxyServer` (the proxy, in-process).

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
    AidenIdClient,
    AuthFlowClient,
    AuthflowError,
    Challenge,
    CompileResult,
    ConsumerClient,
    ConsumerSession,
    Email,
    Extraction,
    Flow,
    FlowPage,
    FlowStatus,
    FlowSummary,
    FlowsClient,
    Identity,
    IdentityPage,
    InboxEvent,
    InboxEvents,
    InboxMessage,
    MockServer,
    Notification,
    NotificationPage,
    Profile,
    ProxyOptions,
    ProxyServer,
    RecoverySession,
    Run,
    RunFailure,
    RunPage,
    RunResult,
    Secret,
    Session,
    TotpSetup,
    Upgrade,
    UserRef,
    ValidationIssue,
    ValidationReport,
    totp_at,
    totp_now,
)

__all__ = [
    "AgentKey",
    "AidenIdClient",
    "AuthFlowClient",
    "AuthflowError",
    "Challenge",
    "CompileResult",
    "ConsumerClient",
    "ConsumerSession",
    "Email",
    "Extraction",
    "Flow",
    "FlowPage",
    "FlowStatus",
    "FlowSummary",
    "FlowsClient",
    "Identity",
    "IdentityPage",
    "InboxEvent",
    "InboxEvents",
    "InboxMessage",
    "MockServer",
    "Notification",
    "NotificationPage",
    "Profile",
    "ProxyOptions",
    "ProxyServer",
    "RecoverySession",
    "Run",
    "RunFailure",
    "RunPage",
    "RunResult",
    "Secret",
    "Session",
    "TotpSetup",
    "Upgrade",
    "UserRef",
    "ValidationIssue",
    "ValidationReport",
    "totp_at",
    "totp_now",
]
