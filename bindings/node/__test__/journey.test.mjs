// The AuthFlow journey through the Node binding against the in-process mock:
// sign up -> verify the email from the captured mail -> log in -> enable
// TOTP -> log in with the 2FA challenge -> recovery code -> log out.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import util from 'node:util'

import { EMAIL, PASSWORD, ROLE, authflow, linkToken, withMock } from './helpers.mjs'

const { AuthFlowClient, AuthflowError, Challenge, MockServer, Secret, Session, totpAt } = authflow

test('journey: sign up, verify, login, TOTP, challenge, recovery code, logout', () =>
  withMock(async (mock, client) => {
    let session = await client.signUp(EMAIL, PASSWORD, 'Ada Lovelace', ROLE)
    assert.ok(session instanceof Session)
    assert.equal(session.email, EMAIL)
    assert.ok(!util.inspect(session).includes(session.token.expose()))

    const mail = mock.latestEmail(EMAIL)
    assert.equal(mail.kind, 'verification')
    assert.deepEqual(
      mock.emailsTo(EMAIL).map((m) => m.id),
      [mail.id],
    )
    const token = linkToken(mail.links[0])
    await client.verifyEmail(token)
    await assert.rejects(client.verifyEmail(token), (e) => {
      // single-use
      assert.ok(e instanceof AuthflowError)
      assert.equal(e.code, 'unauthorized')
      assert.equal(e.status, 401)
      return true
    })

    const outcome = await client.login(EMAIL, PASSWORD, ROLE)
    assert.ok(outcome instanceof Session)
    assert.equal(await client.validate(outcome), true)
    const me = await client.me(outcome.token)
    assert.deepEqual([me.email, me.fullname, me.role], [EMAIL, 'Ada Lovelace', ROLE])
    const user = { email: me.email, orgId: me.orgId, role: me.role }

    const setup = await client.enableTotp(outcome.token, me) // a Profile is a UserRef
    assert.ok(setup.otpauthUrl.expose().startsWith('otpauth://totp/'))
    const recovery = await client.verifyTotpSetup(
      outcome.token,
      user,
      totpAt(setup.secret, mock.nowSecs()),
      setup.secret,
    )
    assert.ok(recovery.length >= 1)
    assert.ok(recovery.every((c) => c instanceof Secret))

    // A TOTP code works once per 30-second step: move the mock's clock on.
    mock.advanceClock(30)
    let challenge = await client.login(EMAIL, PASSWORD, ROLE)
    assert.ok(challenge instanceof Challenge)
    assert.deepEqual(challenge.user, user)
    assert.ok(!util.inspect(challenge).includes(challenge.tempToken.expose()))
    session = await challenge.verifyTotp(totpAt(setup.secret, mock.nowSecs()))
    assert.equal(await client.validate(session), true)

    challenge = await client.login(EMAIL, PASSWORD, ROLE)
    assert.ok(challenge instanceof Challenge)
    const rec = await challenge.verifyRecoveryCode(recovery[0])
    assert.equal(rec.remainingCodes, recovery.length - 1)
    assert.ok(rec.session instanceof Session)
    await assert.rejects(challenge.verifyRecoveryCode(recovery[0]), (e) => {
      // single-use
      assert.ok(e instanceof AuthflowError)
      assert.equal(e.status, 401)
      return true
    })

    await client.logout(session)
    assert.equal(await client.validate(session), false)
  }))

test('verify2fa on the client, then password reset', () =>
  withMock(async (mock, client) => {
    let session = await client.signUp(EMAIL, new Secret(PASSWORD), 'Ada', ROLE)
    const user = await client.me(session.token)
    const setup = await client.enableTotp(session.token, user)
    await client.verifyTotpSetup(session.token, user, totpAt(setup.secret, mock.nowSecs()), setup.secret)

    mock.advanceClock(30)
    const challenge = await client.login(EMAIL, PASSWORD, ROLE)
    assert.ok(challenge instanceof Challenge)
    session = await client.verify2fa(challenge.tempToken, challenge.user, totpAt(setup.secret, mock.nowSecs()))
    assert.equal(await client.validate(session), true)

    await client.forgotPassword(EMAIL, ROLE)
    const mail = mock.latestEmail(EMAIL)
    assert.equal(mail.kind, 'password_reset')
    await client.resetPassword(linkToken(mail.links[0]), 'NewPass123!')
    assert.equal(await client.validate(session), false) // sessions from before are revoked
    await assert.rejects(client.login(EMAIL, PASSWORD, ROLE), { name: 'AuthflowError', code: 'unauthorized' })
  }))

test('backup email code and change password', () =>
  withMock(async (mock, client) => {
    let session = await client.signUp(EMAIL, PASSWORD, 'Ada', ROLE)
    const user = await client.me(session.token)
    const setup = await client.enableTotp(session.token, user)
    await client.verifyTotpSetup(session.token, user, totpAt(setup.secret, mock.nowSecs()), setup.secret)

    const challenge = await client.login(EMAIL, PASSWORD, ROLE)
    assert.ok(challenge instanceof Challenge)
    await challenge.sendBackupEmail()
    const mail = mock.latestEmail(EMAIL)
    assert.equal(mail.kind, 'two_factor_otp')
    assert.ok(mail.codes.length > 0)
    session = await challenge.verifyEmailOtp(mail.codes[0])
    assert.equal(await client.validate(session), true)

    await client.changePassword(session, PASSWORD, 'NewPass123!')
    await assert.rejects(client.login(EMAIL, PASSWORD, ROLE), { status: 401 })
    assert.ok((await client.login(EMAIL, 'NewPass123!', ROLE)) instanceof Challenge) // 2FA stays on
  }))

test('mock controls: credentials, clock, reset', () =>
  withMock(async (mock, client) => {
    assert.match(mock.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(mock.apiKey.expose().startsWith('af_'))
    assert.ok(mock.ownerEmail && mock.ownerRole && mock.orgId)
    assert.ok(mock.agentKey.key.expose().startsWith('aid_'))
    assert.ok(mock.flowsAdminToken.expose())
    assert.equal(client.baseUrl, mock.baseUrl)

    const owner = await client.login(mock.ownerEmail, mock.ownerPassword, mock.ownerRole)
    assert.ok(owner instanceof Session)

    // Sessions live 12 hours on the mock's clock.
    mock.freezeClock()
    const t = mock.nowSecs()
    mock.advanceClock(13 * 3600)
    assert.equal(mock.nowSecs(), t + 13 * 3600)
    assert.equal(await client.validate(owner), false)
    mock.unfreezeClock()

    mock.reset()
    assert.deepEqual(mock.emailsTo(mock.ownerEmail), [])
    assert.equal(mock.latestEmail(EMAIL), null)
  }))

test('owner deletes a user; a proxy client holds no key', () =>
  withMock(async (mock, client) => {
    await client.signUp(EMAIL, PASSWORD, 'Ada', ROLE)
    const owner = await client.login(mock.ownerEmail, mock.ownerPassword, mock.ownerRole)
    await client.deleteUser(owner, mock.orgId, EMAIL)
    await assert.rejects(client.login(EMAIL, PASSWORD, ROLE), { code: 'not_found', status: 404 })

    const proxied = AuthFlowClient.viaProxy('http://127.0.0.1:9')
    assert.ok(proxied instanceof AuthFlowClient)
    assert.equal(proxied.baseUrl, 'http://127.0.0.1:9')
  }))

test('start and shutdown; calls after shutdown', async () => {
  const mock = await MockServer.start()
  const client = new AuthFlowClient(mock.apiKey, mock.baseUrl)
  await client.signUp(EMAIL, PASSWORD, 'Ada', ROLE)
  await mock.shutdown()
  assert.throws(() => mock.emailsTo(EMAIL), { name: 'AuthflowError', code: 'mock' })
  await assert.rejects(client.signUp('bob@example.com', PASSWORD, 'Bob', ROLE), {
    name: 'AuthflowError',
    code: 'transport',
  })
  await mock.shutdown() // idempotent
})
