// AidenIdClient through the Node binding against the in-process mock:
// identities, inbox messages, reliability runs (link and OTP), secret
// retrieval with `secrets:read` only, timeouts on the mock clock.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import util from 'node:util'

import { authflow, withMock } from './helpers.mjs'

const { AidenIdClient, AuthflowError, Secret } = authflow

function clientFor(mock, key) {
  return new AidenIdClient(key.key, key.orgId, key.projectId, mock.baseUrl)
}

async function rejectsWith(promise, code, status) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof AuthflowError, String(e))
    assert.equal(e.code, code, e.message)
    if (status !== undefined) assert.equal(e.status, status)
    return true
  })
}

test('identities and their inbox', () =>
  withMock(async (mock) => {
    const aid = clientFor(mock, mock.agentKey)
    const ident = await aid.createIdentity('signup-test', 2)
    assert.ok(ident.id.startsWith('ident_'))
    assert.equal(ident.status, 'active')
    assert.deepEqual(await aid.identity(ident.id), ident)
    await aid.createIdentity('second')

    const page = await aid.listIdentities(1)
    assert.equal(page.total, 2)
    assert.equal(page.items.length, 1)
    const rest = await aid.listIdentities(1, 1)
    assert.notEqual(rest.items[0].id, page.items[0].id)

    const ids = mock.deliverEmail(ident.email, 'no-reply@example.com', 'Your code', 'Your verification code is 482913.')
    assert.equal(ids.length, 1)
    const messages = await aid.messages(ident.id)
    assert.deepEqual(
      messages.map((m) => m.id),
      ids,
    )
    assert.equal(messages[0].extraction.kind, 'otp')
    assert.equal(messages[0].extraction.redactedValue, '***913')
    assert.ok(!JSON.stringify(messages).includes('482913'))

    assert.equal((await aid.squashIdentity(ident.id)).status, 'squashed')
    await rejectsWith(aid.squashIdentity(ident.id), 'identity_already_squashed', 409)
    await rejectsWith(aid.identity('ident_nope'), 'identity_not_found', 404)
  }))

test('password-reset run completes; the secret needs secrets:read', () =>
  withMock(async (mock) => {
    const aid = clientFor(mock, mock.agentKey)
    const ident = await aid.createIdentity('reset')
    const target = mock.demoTargetUrl('password_reset')
    assert.ok(target.endsWith('/__mock/demo/forgot-password'))
    const created = await aid.createPasswordResetRun(ident.id, target, 120)
    assert.equal(created.kind, 'password_reset')
    assert.equal(created.identityId, ident.id)

    const run = await aid.waitForRun(created.id, 30_000)
    assert.equal(run.status, 'completed')
    assert.equal(run.result.kind, 'link')
    assert.equal(run.result.hasSecret, true)
    assert.ok(run.result.redactedValue.startsWith('***'))
    assert.equal(run.failure, null)

    await rejectsWith(aid.runSecret(run.id), 'forbidden', 403)
    const secret = await clientFor(mock, mock.agentKeyWithSecrets).runSecret(run.id)
    assert.ok(secret instanceof Secret)
    assert.ok(secret.expose().includes('/__mock/demo/reset?token='))
    assert.ok(secret.expose().endsWith(run.result.redactedValue.slice(3)))
    assert.ok(!util.inspect(secret).includes(secret.expose()))

    const page = await aid.listRuns('completed')
    assert.deepEqual(
      page.items.map((r) => r.id),
      [run.id],
    )
  }))

test('invite run extracts an OTP; a dropped mail times out on the mock clock', () =>
  withMock(async (mock) => {
    const aid = clientFor(mock, mock.agentKeyWithSecrets)
    const ident = await aid.createIdentity('invite')
    const created = await aid.createInviteRun(ident.id, mock.demoTargetUrl('invite'))
    const run = await aid.waitForRun(created.id)
    assert.equal(run.kind, 'invite')
    assert.equal(run.status, 'completed')
    assert.equal(run.result.kind, 'otp')
    assert.match((await aid.runSecret(run.id)).expose(), /^\d{6}$/)

    const dropped = await aid.createPasswordResetRun(
      ident.id,
      `${mock.demoTargetUrl('password_reset')}?drop=true`,
      60,
    )
    await assert.rejects(aid.waitForRun(dropped.id, 1), (e) => {
      assert.ok(e instanceof AuthflowError)
      assert.equal(e.code, 'timeout')
      assert.equal(e.status, null)
      assert.equal(e.retryable, true)
      return true
    })
    mock.advanceClock(61)
    const timedOut = await aid.run(dropped.id)
    assert.equal(timedOut.status, 'timeout')
    assert.equal(timedOut.failure.code, 'timeout')
  }))

test('errors carry codes and never the key', () =>
  withMock(async (mock) => {
    const key = mock.agentKey
    const aid = clientFor(mock, key)
    await rejectsWith(aid.run('run_nope'), 'run_not_found', 404)
    await rejectsWith(aid.listRuns('queued'), 'invalid_input', null)
    assert.throws(() => mock.demoTargetUrl('signup'), AuthflowError)
    await rejectsWith(clientFor(mock, mock.agentKeyReadOnly).createIdentity('x'), 'forbidden', 403)

    const wrong = 'aid_wrong_key_0123456789abcdef'
    const e = await new AidenIdClient(wrong, key.orgId, key.projectId, mock.baseUrl).listIdentities().catch((err) => err)
    assert.ok(e instanceof AuthflowError)
    assert.equal(e.code, 'unauthorized')
    let bad
    try {
      new AidenIdClient('af_not_an_agent_key', 'org', 'proj')
    } catch (err) {
      bad = err
    }
    assert.ok(bad instanceof AuthflowError)
    assert.equal(bad.code, 'invalid_input')
    for (const s of [wrong, key.key.expose(), 'af_not_an_agent_key']) {
      for (const text of [e.message, e.stack, util.inspect(e), bad.message, util.inspect(key), util.inspect(aid)]) {
        assert.ok(!text.includes(s), text)
      }
    }
  }))
