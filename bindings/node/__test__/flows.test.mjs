// FlowsClient through the Node binding against the in-process mock: the flow
// lifecycle, server-side validation, typed errors without the token.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import util from 'node:util'

import { authflow, withMock } from './helpers.mjs'

const { AuthflowError, FlowsClient, Secret } = authflow

const GRAPH = {
  nodes: [
    { id: 'start', type: 'start' },
    { id: 'password', type: 'password_input' },
    { id: 'success', type: 'success' },
  ],
  edges: [
    { source: 'start', target: 'password' },
    { source: 'password', target: 'success' },
  ],
}

const BAD_GRAPH = {
  nodes: [
    { id: 'start', type: 'start' },
    { id: 'success', type: 'success' },
    { id: 'fail', type: 'failure' },
  ],
  edges: [{ source: 'start', target: 'fail' }],
}

/** `promise` rejects with an `AuthflowError` of `code` (and `status`). */
async function rejectsWith(promise, code, status) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof AuthflowError, String(e))
    assert.equal(e.code, code, e.message)
    if (status !== undefined) assert.equal(e.status, status)
    return true
  })
}

test('flow lifecycle: create, get, list, validate, compile, activate, delete', () =>
  withMock(async (mock) => {
    const flows = new FlowsClient(mock.flowsAdminToken, mock.baseUrl)
    assert.equal(flows.baseUrl, mock.baseUrl)
    const created = await flows.create(
      'password-login',
      'Password login',
      'login',
      'by password',
      JSON.stringify(GRAPH),
    )
    assert.equal(created.id, 'flow_password_login')
    assert.equal(created.flowType, 'login')
    assert.equal(created.status, 'draft')
    assert.equal(created.version, 1)
    assert.equal(created.compiled, false)
    assert.deepEqual(JSON.parse(created.graphJson), GRAPH)

    const got = await flows.get(created.id)
    assert.deepEqual(JSON.parse(got.graphJson), GRAPH)
    assert.equal(got.description, 'by password')

    const page = await flows.list(10, null, 'login', 'draft')
    assert.ok(page.items.some((f) => f.id === created.id))
    assert.ok(page.items.every((f) => f.flowType === 'login'))
    assert.equal(typeof page.total, 'number')

    const report = await flows.validate(created.id)
    assert.equal(report.valid, true)
    assert.deepEqual(report.errors, [])

    const compiled = await flows.compile(created.id)
    assert.equal(compiled.compiled, true)
    assert.ok(compiled.version >= 2)
    assert.ok((await flows.get(created.id)).compiled)

    const mermaid = await flows.mermaid(created.id)
    assert.ok(mermaid.startsWith('flowchart') && mermaid.includes('password'), mermaid)

    const active = await flows.activate(created.id)
    assert.equal(active.status, 'active')
    assert.equal(typeof active.activatedAt, 'number')
    await rejectsWith(flows.delete(created.id), 'flow_active', 409)
    assert.equal((await flows.deactivate(created.id)).status, 'inactive')

    const updated = await flows.update(created.id, 'Renamed', undefined, JSON.stringify(GRAPH))
    assert.equal(updated.displayName, 'Renamed')
    assert.equal(updated.compiled, false)

    assert.equal(await flows.delete(created.id), undefined)
    await rejectsWith(flows.get(created.id), 'flow_not_found', 404)
  }))

test('an invalid graph is reported and refused by compile', () =>
  withMock(async (mock) => {
    const flows = new FlowsClient(mock.flowsAdminToken, mock.baseUrl)
    const f = await flows.create('broken', 'Broken', 'registration', null, JSON.stringify(BAD_GRAPH))
    const report = await flows.validate(f.id)
    assert.equal(report.valid, false)
    assert.deepEqual(
      report.errors.map((e) => e.code),
      ['unreachable_success'],
    )
    assert.ok(report.warnings.some((w) => w.code === 'unused_node' && w.nodeId === 'success'))
    await rejectsWith(flows.compile(f.id), 'flow_invalid', 422)
  }))

test('local checks are invalid_input; no token in errors', () =>
  withMock(async (mock) => {
    const flows = new FlowsClient(mock.flowsAdminToken, mock.baseUrl)
    await rejectsWith(flows.create('ok', 'Ok', 'nope', null, JSON.stringify(GRAPH)), 'invalid_input', null)
    await rejectsWith(flows.create('ok', 'Ok', 'login', null, '[1,'), 'invalid_input', null)
    await rejectsWith(flows.list(null, null, null, 'paused'), 'invalid_input', null)

    const reader = new FlowsClient(mock.flowsReadToken, mock.baseUrl)
    await rejectsWith(reader.create('ro', 'Ro', 'login', null, JSON.stringify(GRAPH)), 'forbidden', 403)

    const stranger = 'not-the-admin-token-0123456789'
    const e = await new FlowsClient(new Secret(stranger), mock.baseUrl).list().catch((err) => err)
    assert.ok(e instanceof AuthflowError)
    assert.equal(e.code, 'unauthorized')
    for (const s of [stranger, mock.flowsAdminToken.expose()]) {
      for (const text of [e.message, e.stack, util.inspect(e), JSON.stringify(e), util.inspect(flows)]) {
        assert.ok(!text.includes(s), text)
      }
    }
    assert.throws(() => new FlowsClient(new Secret('has space'), mock.baseUrl), AuthflowError)
  }))
