// ConsumerClient, ConsumerSession and InboxEvents through the Node binding
// against the in-process mock: magic-link sign-in, identities,
// notifications, upgrade, and the inbox stream with `for await`.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import util from 'node:util'

import { authflow, withMock } from './helpers.mjs'

const { AuthflowError, ConsumerClient, ConsumerSession, InboxEvents } = authflow

async function signedIn(mock, email) {
  const c = new ConsumerClient(mock.baseUrl)
  await c.signup(email)
  return c.verify(mock.magicLinkToken(email))
}

async function rejectsWith(promise, code, status) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof AuthflowError, String(e))
    assert.equal(e.code, code, e.message)
    if (status !== undefined) assert.equal(e.status, status)
    return true
  })
}

/** `promise`, or a failure after `ms`. */
function within(promise, ms = 10_000) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

test('magic-link sign-in and its errors', () =>
  withMock(async (mock) => {
    const c = new ConsumerClient(mock.baseUrl)
    assert.equal(c.baseUrl, mock.baseUrl)
    assert.equal(await c.signup('alice@example.com'), undefined)
    await rejectsWith(c.signup('alice@example.com'), 'email_already_registered', 409)
    await rejectsWith(c.login('nobody@example.com'), 'consumer_not_found', 404)

    const token = mock.magicLinkToken('alice@example.com')
    assert.ok(token.expose().startsWith('ml_'))
    const session = await c.verify(token)
    assert.ok(session instanceof ConsumerSession)
    assert.ok(session.consumerId.startsWith('csr_'))
    assert.ok(session.orgId.startsWith('org_personal_'))
    assert.ok(session.projectId.startsWith('proj_default_'))
    assert.ok(session.expiresAt)
    const sess = session.sessionToken.expose()
    assert.ok(sess.startsWith('sess_'))
    assert.ok(!util.inspect(session).includes(sess))
    assert.ok(!JSON.stringify(session).includes(sess))

    const e = await c.verify(token).catch((err) => err)
    assert.ok(e instanceof AuthflowError)
    assert.equal(e.code, 'invalid_magic_link')
    assert.equal(e.status, 401)
    assert.ok(!e.message.includes(token.expose()))
    assert.equal(mock.magicLinkToken('nobody@example.com'), null)
  }))

test('identities, tier limit, notifications and upgrade', () =>
  withMock(async (mock) => {
    const session = await signedIn(mock, 'bob@example.com')
    const made = []
    for (const label of ['one', 'two', 'three']) made.push(await session.createIdentity(label))
    await rejectsWith(session.createIdentity('four'), 'identity_limit_reached', 403)
    const page = await session.identities(2)
    assert.equal(page.total, 3)
    assert.equal(page.items.length, 2)

    mock.deliverEmail(made[0].email, 'no-reply@example.com', 'Code', 'Your verification code is 551234.')
    const notes = await session.notifications()
    assert.ok(notes.total >= 1)
    assert.equal(notes.items[0].kind, 'extraction.completed')
    assert.equal(notes.items[0].read, false)
    assert.ok(!JSON.stringify(notes).includes('551234'))

    const up = await session.upgrade()
    assert.ok(up.checkoutUrl.startsWith(mock.baseUrl))
  }))

test('inbox events: for await, resume, close', () =>
  withMock(async (mock) => {
    const session = await signedIn(mock, 'carol@example.com')
    const ident = await session.createIdentity('stream')
    // The stream starts with the consumer's event log: nothing is missed.
    mock.deliverEmail(ident.email, 'no-reply@example.com', 'Sign-in', 'Your verification code is 123456.')

    const events = session.inboxEvents()
    assert.ok(events instanceof InboxEvents)
    const seen = []
    await within(
      (async () => {
        for await (const event of events) {
          seen.push(event)
          if (seen.length === 2) break
        }
      })(),
    )
    assert.deepEqual(
      seen.map((e) => e.eventType),
      ['inbound.received', 'extraction.completed'],
    )
    assert.ok(seen.every((e) => e.identityId === ident.id))
    assert.equal(seen[0].messageId, seen[1].messageId)
    const data = JSON.parse(seen[1].dataJson)
    assert.equal(data.type, 'otp')
    assert.equal(data.redacted_value, '***456')
    assert.ok(!seen[1].dataJson.includes('123456'))
    // `break` closed the stream.
    assert.equal(await events.next(), null)

    // Resume after the first event: only the second comes again.
    const resumed = session.inboxEvents(seen[0].id)
    assert.equal((await within(resumed.next())).id, seen[1].id)

    // close() resolves a waiting next() to null.
    const waiting = resumed.next()
    await sleep(200)
    await resumed.close()
    assert.equal(await within(waiting), null)
    await resumed.close()
  }))

test('an expired session ends the stream with session_expired', () =>
  withMock(async (mock) => {
    const session = await signedIn(mock, 'dave@example.com')
    mock.advanceClock(8 * 24 * 3600)
    await rejectsWith(session.identities(), 'session_expired', 401)
    const e = await within(
      (async () => {
        // eslint-disable-next-line no-unused-vars
        for await (const _ of session.inboxEvents()) {
          /* no events before the error */
        }
      })(),
    ).catch((err) => err)
    assert.ok(e instanceof AuthflowError, String(e))
    assert.equal(e.code, 'session_expired')
    assert.ok(!e.message.includes(session.sessionToken.expose()))
  }))
