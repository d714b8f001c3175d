"""FlowsClient through the Python binding against the in-process mock: the
flow lifecycle, server-side validation and error codes."""

import json

import pytest

from authflow import (
    AuthflowError,
    CompileResult,
    Flow,
    FlowPage,
    FlowsClient,
    FlowStatus,
    MockServer,
    Secret,
    ValidationReport,
)

GRAPH = {
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "password", "type": "password_input"},
        {"id": "success", "type": "success"},
    ],
    "edges": [
        {"source": "start", "target": "password"},
        {"source": "password", "target": "success"},
    ],
}

BAD_GRAPH = {
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "success", "type": "success"},
        {"id": "fail", "type": "failure"},
    ],
    "edges": [{"source": "start", "target": "fail"}],
}


def flows_for(mock: MockServer) -> FlowsClient:
    return FlowsClient(mock.flows_admin_token, mock.base_url)


async def test_flow_lifecycle(authflow_mock: MockServer) -> None:
    flows = flows_for(authflow_mock)
    assert flows.base_url == authflow_mock.base_url

    created = await flows.create(
        "password-login", "Password login", "login", "by password", json.dumps(GRAPH)
    )
    assert isinstance(created, Flow)
    assert (created.id, created.status, created.version) == ("flow_password_login", "draft", 1)
    assert created.flow_type == "login" and not created.compiled
    assert json.loads(created.graph_json) == GRAPH

    got = await flows.get(created.id)
    assert json.loads(got.graph_json) == GRAPH
    assert got.description == "by password"

    page = await flows.list(limit=10, flow_type="login", status="draft")
    assert isinstance(page, FlowPage)
    assert created.id in [f.id for f in page.items]
    assert all(f.flow_type == "login" for f in page.items)

    report = await flows.validate(created.id)
    assert isinstance(report, ValidationReport)
    assert report.valid and report.errors == []

    compiled = await flows.compile(created.id)
    assert isinstance(compiled, CompileResult)
    assert compiled.compiled and compiled.version >= 2
    assert (await flows.get(created.id)).compiled

    mermaid = await flows.mermaid(created.id)
    assert mermaid.startswith("flowchart") and "password" in mermaid

    active = await flows.activate(created.id)
    assert isinstance(active, FlowStatus)
    assert active.status == "active" and active.activated_at is not None
    with pytest.raises(AuthflowError) as err:
        await flows.delete(created.id)
    assert (err.value.code, err.value.status) == ("flow_active", 409)

    assert (await flows.deactivate(created.id)).status == "inactive"
    updated = await flows.update(created.id, display_name="Renamed", graph_json=json.dumps(GRAPH))
    assert updated.display_name == "Renamed" and not updated.compiled

    assert await flows.delete(created.id) is None
    with pytest.raises(AuthflowError) as err:
        await flows.get(created.id)
    assert (err.value.code, err.value.status) == ("flow_not_found", 404)
    assert err.value.request_id


async def test_invalid_graph_is_reported_and_not_compiled(authflow_mock: MockServer) -> None:
    flows = flows_for(authflow_mock)
    f = await flows.create("broken", "Broken", "registration", None, json.dumps(BAD_GRAPH))
    report = await flows.validate(f.id)
    assert not report.valid
    assert [e.code for e in report.errors] == ["unreachable_success"]
    assert any(w.code == "unused_node" and w.node_id == "success" for w in report.warnings)
    with pytest.raises(AuthflowError) as err:
        await flows.compile(f.id)
    assert (err.value.code, err.value.status) == ("flow_invalid", 422)


async def test_local_checks_and_no_token_in_errors(authflow_mock: MockServer) -> None:
    flows = flows_for(authflow_mock)
    cases = [
        (flows.create("ok", "Ok", "nope", None, json.dumps(GRAPH)), "flow_type"),
        (flows.create("ok", "Ok", "login", None, "[1,"), "graph_json"),
        (flows.list(status="paused"), "status"),
        (flows.list(limit=0), "limit"),
    ]
    for awaitable, field in cases:
        with pytest.raises(AuthflowError) as err:
            await awaitable
        assert (err.value.code, err.value.status) == ("invalid_input", None)
        assert field in err.value.detail

    reader = FlowsClient(authflow_mock.flows_read_token, authflow_mock.base_url)
    with pytest.raises(AuthflowError) as err:
        await reader.create("ro", "Ro", "login", None, json.dumps(GRAPH))
    assert (err.value.code, err.value.status) == ("forbidden", 403)

    stranger = "not-the-admin-token-0123456789"
    with pytest.raises(AuthflowError) as err:
        await FlowsClient(Secret(stranger), authflow_mock.base_url).list()
    assert (err.value.code, err.value.status) == ("unauthorized", 401)
    for secret in (stranger, authflow_mock.flows_admin_token.expose()):
        assert secret not in str(err.value) and secret not in repr(err.value)
        assert secret not in repr(flows)
