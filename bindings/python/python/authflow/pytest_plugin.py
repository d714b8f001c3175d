"""pytest plugin (entry point ``pytest11``): the ``authflow_mock`` fixture.

Each test that asks for ``authflow_mock`` gets its own in-process AuthFlow
mock server on a random loopback port, shut down after the test. The
fixture is synchronous (the server runs on the extension's own tokio
threads), so it works for sync tests and under any asyncio plugin::

    async def test_sign_up(authflow_mock):
        client = AuthFlowClient(authflow_mock.api_key, authflow_mock.base_url)
        ...
"""

from collections.abc import Iterator

import pytest

from authflow import MockServer


@pytest.fixture
def authflow_mock() -> Iterator[MockServer]:
    """A fresh in-process AuthFlow mock server for one test."""
    server = MockServer.start_blocking()
    try:
        yield server
    finally:
        server.shutdown_blocking()
