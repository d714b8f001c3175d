// ProxyServer through the Node binding: a key-less client signs up and logs
// in through the in-process proxy in front of the mock.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { PASSWORD, ROLE, WRONG, authflow, withMock } from './helpers.mjs'

const { AuthFlowClient, AuthflowError, ProxyServer, Session } = authflow

async function rejectsWith(promise, code, status) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof AuthflowError, String(e))
    assert.equal(e.code, code, e.message)
    if (status !== undefined) assert.equal(e.status, status)
    return true
  })
}

test('sign up and log in through the proxy; shutdown stops it', () =>
  withMock(async (mock) => {
    const proxy = await ProxyServer.start(mock.baseUrl, mock.apiKey)
    assert.ok(proxy.baseUrl.startsWith('http://127.0.0.1:'))
    assert.notEqual(proxy.baseUrl, mock.baseUrl)
    const client = AuthFlowClient.viaProxy(proxy.baseUrl)
    const session = await client.signUp('eve@example.com', PASSWORD, 'Eve', ROLE)
    assert.equal(session.email, 'eve@example.com')
    const login = await client.login('eve@example.com', PASSWORD, ROLE)
    assert.ok(login instanceof Session)
    assert.equal(await client.validate(login), true)
    await rejectsWith(client.login('eve@example.com', WRONG, ROLE), 'unauthorized', 401)

    await proxy.shutdown()
    await proxy.shutdown()
    await rejectsWith(client.login('eve@example.com', PASSWORD, ROLE), 'transport')
  }))

test('options take effect; bad configuration is `config` without the key', () =>
  withMock(async (mock) => {
    const proxy = await ProxyServer.startWith(mock.baseUrl, mock.apiKey, { bodyLimit: 16 })
    const client = AuthFlowClient.viaProxy(proxy.baseUrl)
    await rejectsWith(client.forgotPassword('someone-with-a-long-address@example.com'), 'payload_too_large', 413)
    await proxy.shutdown()

    const cookie = await ProxyServer.startWith(mock.baseUrl, mock.apiKey, {
      cookieOrigins: ['http://localhost:3000'],
      corsOrigins: ['http://localhost:3000'],
    })
    await cookie.shutdown()

    const bad = 'af_not-a-valid-key-SECRETVALUE'
    const e = await ProxyServer.start(mock.baseUrl, bad).catch((err) => err)
    assert.ok(e instanceof AuthflowError)
    assert.equal(e.code, 'config')
    assert.equal(e.status, null)
    assert.ok(!e.message.includes('SECRETVALUE') && !e.stack.includes('SECRETVALUE'))
    await rejectsWith(ProxyServer.startWith(mock.baseUrl, mock.apiKey, { corsOrigins: ['not an origin'] }), 'config')
  }))
