// Error codes, statuses and request ids as typed `AuthflowError`s; no secret
// in any error text; `Secret` redaction.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import util from 'node:util'

import { EMAIL, PASSWORD, ROLE, WRONG, authflow, withMock } from './helpers.mjs'

const { AuthFlowClient, AuthflowError, Secret, Session, totpAt, totpNow } = authflow

/** Every text an error shows: message, stack, inspect, JSON, fields. */
function texts(e) {
  return [String(e), e.message, e.stack, util.inspect(e), JSON.stringify(e), e.detail ?? '']
}

function assertClean(e, ...secrets) {
  for (const text of texts(e)) {
    for (const s of secrets) {
      assert.ok(!text.includes(s), `secret in error text: ${text}`)
    }
  }
}

/** The error `promise` rejects with (or `fn` throws), asserting it is one. */
async function caught(promiseOrFn) {
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn)
  } catch (e) {
    return e
  }
  assert.fail('expected an error')
}

test('API errors: 404, 409, 401 with code, status, requestId, retryable', () =>
  withMock(async (mock, client) => {
    const key = mock.apiKey.expose()

    let e = await caught(client.login(EMAIL, WRONG, ROLE))
    assert.ok(e instanceof AuthflowError && e instanceof Error)
    assert.equal(e.name, 'AuthflowError')
    assert.deepEqual([e.code, e.status, e.retryable], ['not_found', 404, false])
    assertClean(e, WRONG, key)

    await client.signUp(EMAIL, PASSWORD, 'Ada', ROLE)
    e = await caught(client.signUp(EMAIL, PASSWORD, 'Ada', ROLE))
    assert.deepEqual([e.code, e.status], ['conflict', 409])
    assertClean(e, PASSWORD, key)

    e = await caught(client.login(EMAIL, WRONG, ROLE))
    assert.ok(e instanceof AuthflowError)
    assert.deepEqual([e.code, e.status], ['unauthorized', 401])
    assert.ok(e.detail.includes('login'))
    assert.ok(e.requestId === null || typeof e.requestId === 'string')
    assert.ok(e.message.startsWith('unauthorized: '))
    assert.equal(e.message, `${e.code}: ${e.detail}`)
    assertClean(e, WRONG, PASSWORD, key)

    // A session token never shows in the error of a call that carried it.
    const session = await client.login(EMAIL, PASSWORD, ROLE)
    await client.logout(session)
    e = await caught(client.me(session.token))
    assert.ok(e instanceof AuthflowError)
    assert.equal(e.status, 401)
    assertClean(e, session.token.expose(), key)
  }))

test('local errors: invalid_input before any request', () =>
  withMock(async (mock) => {
    const badKey = 'af_not-a-real-key-Sekrit'
    let e = await caught(() => new AuthFlowClient(badKey, mock.baseUrl))
    assert.ok(e instanceof AuthflowError)
    assert.deepEqual([e.code, e.status, e.requestId], ['invalid_input', null, null])
    assertClean(e, badKey, 'Sekrit')

    const client = new AuthFlowClient(mock.apiKey, mock.baseUrl)
    e = await caught(client.signUp('bob@example.com', 'weakpw', 'Bob', ROLE))
    assert.equal(e.code, 'invalid_input')
    assertClean(e, 'weakpw')

    e = await caught(client.signUp('not-an-email', PASSWORD, 'Bob', ROLE))
    assert.equal(e.code, 'invalid_input')

    e = await caught(() => totpNow('not base32!'))
    assert.ok(e instanceof AuthflowError)
    assert.equal(e.code, 'invalid_input')
    assertClean(e, 'not base32!')

    // Arguments of the wrong type: a TypeError (thrown when the call is
    // made) that does not echo the value.
    e = await caught(() => client.verifyEmail(424242))
    assert.ok(e instanceof TypeError && !(e instanceof AuthflowError))
    assertClean(e, '424242')
    e = await caught(() => client.validate({ token: 'sess_Sekrit', email: EMAIL }))
    assert.ok(e instanceof TypeError)
    assertClean(e, 'sess_Sekrit')
    e = await caught(() => mock.advanceClock(-5))
    assert.ok(e instanceof TypeError)
  }))

test('transport error names no URL secret', async () => {
  const key = new Secret('af_0123456789abcdef0123456789abcdef')
  const client = new AuthFlowClient(key, 'http://127.0.0.1:9')
  const e = await caught(client.login(EMAIL, WRONG, ROLE))
  assert.ok(e instanceof AuthflowError)
  assert.deepEqual([e.code, e.status, e.requestId], ['transport', null, null])
  assertClean(e, WRONG, key.expose())
})

test('Secret is redacted in toString, inspect and JSON', () => {
  const s = new Secret('hunter2-Secret!')
  assert.equal(String(s), '[REDACTED]')
  assert.equal(`${s}`, '[REDACTED]')
  assert.equal(util.inspect(s), 'Secret([REDACTED])')
  assert.equal(util.format('%o %O %s', s, s, s).includes('hunter2'), false)
  assert.equal(JSON.stringify({ s }), '{"s":"[REDACTED]"}')
  assert.equal(s.expose(), 'hunter2-Secret!')

  const session = new Session('sess_hunter2', EMAIL)
  assert.equal(session.token.expose(), 'sess_hunter2')
  assert.equal(JSON.stringify(session), `{"email":"${EMAIL}","token":"[REDACTED]"}`)
  assert.ok(!util.inspect({ session }, { depth: 5 }).includes('hunter2'))
  assert.ok(!util.inspect(session, { showHidden: true }).includes('hunter2'))
})

test('TOTP codes are Secrets of six digits', () => {
  const base32 = 'JBSWY3DPEHPK3PXP'
  const code = totpAt(base32, 1_700_000_000)
  assert.ok(code instanceof Secret)
  assert.match(code.expose(), /^\d{6}$/)
  assert.equal(totpAt(new Secret(base32), 1_700_000_000).expose(), code.expose())
  assert.match(totpNow(base32).expose(), /^\d{6}$/)
})

test('AuthflowError is an Error subclass with the documented fields', () => {
  assert.ok(AuthflowError.prototype instanceof Error)
  const e = new AuthflowError({ code: 'conflict', status: 409, requestId: 'req_1', detail: 'x', retryable: false })
  assert.deepEqual(
    { code: e.code, status: e.status, requestId: e.requestId, detail: e.detail, retryable: e.retryable },
    { code: 'conflict', status: 409, requestId: 'req_1', detail: 'x', retryable: false },
  )
  assert.equal(e.message, 'conflict: x')
})
