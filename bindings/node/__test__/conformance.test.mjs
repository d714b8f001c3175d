// The conformance runner in Node: replays every `tests/conformance/*.json`
// vector (the journey as data) through the Node binding.
//
// The format and the op vocabulary are specified in
// `tests/conformance/README.md`; this is one interpreter of it (Rust, Python
// and Kotlin have theirs). Each op is one binding call (snake_case op names,
// camelCase JS names); every `AuthflowError` is checked for secrets in its
// `message`, `String(err)`, `stack`, `util.inspect` and the JSON of its own
// properties.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import util from 'node:util'

import { authflow } from './helpers.mjs'

// CONFORMANCE_DIR: another directory of vectors (e.g. mutated ones, to see the runner fail).
const VECTORS = process.env.CONFORMANCE_DIR || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../tests/conformance')
const FILES = fs
  .readdirSync(VECTORS)
  .filter((f) => f.endsWith('.json'))
  .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
const MIN_SECRET_LEN = 6
const NEXT_EVENT_TIMEOUT_MS = 30_000
const STEP_KEYS = new Set(['name', 'op', 'on', 'args', 'save', 'expect', 'expect_error', 'note'])
const REF = /\$\{([^}]*)\}/g

// Objects with methods (README section 3.1 "handle") and their readable fields.
const HANDLE_FIELDS = {
  AuthFlowClient: [],
  Challenge: ['user', 'temp_token', 'request_id'],
  FlowsClient: [],
  AidenIdClient: [],
  ConsumerClient: [],
  ConsumerSession: ['consumer_id', 'org_id', 'project_id', 'expires_at', 'session_token'],
  InboxEvents: [],
  ProxyServer: ['base_url'],
}

class RunnerError extends Error {
  name = 'RunnerError'
}

const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())
const snake = (s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/** A getter: a property, or a method without arguments. */
function get(obj, name) {
  const v = obj[camel(name)]
  return typeof v === 'function' ? v.call(obj) : v
}

class Handle {
  constructor(obj, type) {
    this.obj = obj
    this.type = type
  }
  field(name) {
    if (!HANDLE_FIELDS[this.type].includes(name)) throw new RunnerError(`${this.type} has no field \`${name}\``)
    return norm(get(this.obj, name))
  }
  fields() {
    return HANDLE_FIELDS[this.type].map((n) => this.field(n))
  }
}

const isSecret = (v) => v instanceof authflow.Secret
const className = (x) => Object.getPrototypeOf(x)?.constructor?.name

/** A binding value in the README's model (section 3.1). */
function norm(x) {
  if (x === null || x === undefined) return null
  if (typeof x === 'bigint') return Number(x)
  if (typeof x !== 'object') return x
  if (isSecret(x) || x instanceof Handle) return x
  if (Array.isArray(x)) return x.map(norm)
  const name = className(x)
  if (name in HANDLE_FIELDS) return new Handle(x, name)
  if (x instanceof authflow.Session) return { token: x.token, email: x.email }
  const out = {}
  const put = (k, v) => {
    const key = snake(k)
    if (key.endsWith('_json') && typeof v === 'string') {
      try {
        out[key] = JSON.parse(v)
        return
      } catch {
        // left as text: a check on it will fail
      }
    }
    out[key] = norm(v)
  }
  for (const [k, v] of Object.entries(x)) if (typeof v !== 'function') put(k, v)
  const proto = Object.getPrototypeOf(x)
  if (proto && proto !== Object.prototype) {
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (d.get && !(snake(k) in out)) put(k, x[k])
    }
  }
  return out
}

function kind(v) {
  if (v === null) return 'null'
  if (typeof v === 'boolean') return 'bool'
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float'
  if (typeof v === 'string') return 'string'
  if (isSecret(v)) return 'secret'
  if (Array.isArray(v)) return 'list'
  if (v instanceof Handle) return 'handle'
  if (typeof v === 'object') return 'map'
  return typeof v
}

const textOf = (v) => (isSecret(v) ? v.expose() : typeof v === 'string' ? v : null)

function equal(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a === b
  const [ka, kb] = [kind(a), kind(b)]
  const texty = (k) => k === 'string' || k === 'secret'
  if (texty(ka) && texty(kb)) return textOf(a) === textOf(b)
  if (ka !== kb) return false
  if (ka === 'list') return a.length === b.length && a.every((x, i) => equal(x, b[i]))
  if (ka === 'map') {
    const [x, y] = [Object.keys(a).sort(), Object.keys(b).sort()]
    return x.length === y.length && x.every((k, i) => k === y[i] && equal(a[k], b[k]))
  }
  if (ka === 'null' || ka === 'bool') return a === b
  return false
}

function field(v, seg) {
  const k = kind(v)
  if (k === 'map') {
    if (!Object.hasOwn(v, seg)) throw new RunnerError(`no field \`${seg}\``)
    return v[seg]
  }
  if (k === 'list') {
    if (!/^\d+$/.test(seg) || Number(seg) >= v.length) throw new RunnerError(`no index \`${seg}\` in a list of ${v.length}`)
    return v[Number(seg)]
  }
  if (k === 'handle') return v.field(seg)
  throw new RunnerError(`cannot take \`${seg}\` of a ${k}`)
}

function at(v, p) {
  if (p === '$') return v
  for (const seg of p.split('.')) {
    try {
      v = field(v, seg)
    } catch (e) {
      throw new RunnerError(`path \`${p}\`: ${e.message}`)
    }
  }
  return v
}

function errorTexts(e) {
  const own = Object.fromEntries(Object.getOwnPropertyNames(e).map((k) => [k, e[k]]))
  return [e.message, String(e), e.stack ?? '', JSON.stringify(own), util.inspect(e)]
}

function toJson(v) {
  const plain = (x) => {
    if (isSecret(x) || x instanceof Handle) throw new RunnerError(`a ${kind(x)} cannot be part of a json argument`)
    if (Array.isArray(x)) return x.map(plain)
    if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, i]) => [k, plain(i)]))
    return x
  }
  return JSON.stringify(plain(v))
}

/** The resolved arguments of a step, consumed by the op. */
class Args {
  constructor(m) {
    this.m = m
    this.used = new Set()
    this.secrets = []
  }
  take(k) {
    this.used.add(k)
    return this.m[k] ?? null
  }
  req(k) {
    const v = this.take(k)
    if (v === null) throw new RunnerError(`missing argument \`${k}\``)
    return v
  }
  string(k) {
    const v = this.req(k)
    if (typeof v !== 'string') throw new RunnerError(`argument \`${k}\`: a string, not a ${kind(v)}`)
    return v
  }
  opt_string(k) {
    return this.take(k) === null ? null : this.string(k)
  }
  int(k) {
    const v = this.req(k)
    if (kind(v) !== 'int') throw new RunnerError(`argument \`${k}\`: an int, not a ${kind(v)}`)
    return v
  }
  opt_int(k) {
    return this.take(k) === null ? null : this.int(k)
  }
  secret(k) {
    let v = this.req(k)
    if (typeof v === 'string') v = new authflow.Secret(v)
    if (!isSecret(v)) throw new RunnerError(`argument \`${k}\`: a secret, not a ${kind(v)}`)
    this.secrets.push(v.expose())
    return v
  }
  session(k) {
    const v = this.req(k)
    let token = field(v, 'token')
    const email = field(v, 'email')
    if (typeof token === 'string') token = new authflow.Secret(token)
    if (!isSecret(token) || typeof email !== 'string') throw new RunnerError(`argument \`${k}\` is not a session`)
    this.secrets.push(token.expose())
    return new authflow.Session(token, email)
  }
  user(k) {
    const v = this.req(k)
    const [email, orgId, role] = ['email', 'org_id', 'role'].map((f) => field(v, f))
    if (![email, orgId, role].every((s) => typeof s === 'string')) throw new RunnerError(`argument \`${k}\` is not a user`)
    return { email, orgId, role }
  }
  json(k) {
    return toJson(this.req(k))
  }
  opt_json(k) {
    const v = this.take(k)
    return v === null ? null : toJson(v)
  }
  strings(k) {
    const v = this.take(k)
    if (v === null) return []
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new RunnerError(`argument \`${k}\`: a list of strings`)
    return v
  }
  done() {
    const unknown = Object.keys(this.m).filter((k) => !this.used.has(k))
    if (unknown.length) throw new RunnerError(`unknown arguments ${JSON.stringify(unknown)}`)
  }
}

// Instance methods: op → [[argument, kind]] in the facade's order.
const METHOD_OPS = {
  'AuthFlowClient.base_url': [],
  'AuthFlowClient.sign_up': [['email', 'string'], ['password', 'secret'], ['fullname', 'string'], ['role', 'string']],
  'AuthFlowClient.validate': [['session', 'session']],
  'AuthFlowClient.me': [['session_token', 'secret']],
  'AuthFlowClient.logout': [['session', 'session']],
  'AuthFlowClient.delete_user': [['owner', 'session'], ['org_id', 'string'], ['user_email', 'string']],
  'AuthFlowClient.forgot_password': [['email', 'string'], ['role', 'opt_string']],
  'AuthFlowClient.reset_password': [['token', 'secret'], ['new_password', 'secret']],
  'AuthFlowClient.change_password': [['session', 'session'], ['old_password', 'secret'], ['new_password', 'secret']],
  'AuthFlowClient.verify_email': [['token', 'secret']],
  'AuthFlowClient.resend_verification': [['email', 'string'], ['role', 'opt_string']],
  'AuthFlowClient.enable_totp': [['session_token', 'secret'], ['user', 'user']],
  'AuthFlowClient.verify_totp_setup': [['session_token', 'secret'], ['user', 'user'], ['code', 'secret'], ['secret', 'secret']],
  'AuthFlowClient.disable_totp': [['session_token', 'secret'], ['user', 'user'], ['password', 'secret']],
  'AuthFlowClient.regenerate_recovery_codes': [['session_token', 'secret'], ['user', 'user'], ['password', 'secret']],
  'AuthFlowClient.verify_2fa': [['temp_token', 'secret'], ['user', 'user'], ['code', 'secret']],
  'AuthFlowClient.send_backup_email': [['temp_token', 'secret'], ['user', 'user']],
  'AuthFlowClient.verify_email_otp': [['user', 'user'], ['otp', 'secret']],
  'AuthFlowClient.verify_recovery_code': [['user', 'user'], ['code', 'secret']],
  'Challenge.verify_totp': [['code', 'secret']],
  'Challenge.send_backup_email': [],
  'Challenge.verify_email_otp': [['otp', 'secret']],
  'Challenge.verify_recovery_code': [['code', 'secret']],
  'FlowsClient.base_url': [],
  'FlowsClient.list': [['limit', 'opt_int'], ['cursor', 'opt_string'], ['flow_type', 'opt_string'], ['status', 'opt_string']],
  'FlowsClient.get': [['id', 'string']],
  'FlowsClient.create': [['name', 'string'], ['display_name', 'string'], ['flow_type', 'string'], ['description', 'opt_string'], ['graph_json', 'json']],
  'FlowsClient.update': [['id', 'string'], ['display_name', 'opt_string'], ['description', 'opt_string'], ['graph_json', 'opt_json']],
  'FlowsClient.delete': [['id', 'string']],
  'FlowsClient.validate': [['id', 'string']],
  'FlowsClient.compile': [['id', 'string']],
  'FlowsClient.activate': [['id', 'string']],
  'FlowsClient.deactivate': [['id', 'string']],
  'FlowsClient.mermaid': [['id', 'string']],
  'AidenIdClient.base_url': [],
  'AidenIdClient.create_identity': [['label', 'string'], ['ttl_hours', 'opt_int']],
  'AidenIdClient.identity': [['id', 'string']],
  'AidenIdClient.list_identities': [['limit', 'opt_int'], ['offset', 'opt_int']],
  'AidenIdClient.squash_identity': [['id', 'string']],
  'AidenIdClient.messages': [['id', 'string']],
  'AidenIdClient.create_password_reset_run': [['identity_id', 'string'], ['target_url', 'string'], ['timeout_seconds', 'opt_int']],
  'AidenIdClient.create_invite_run': [['identity_id', 'string'], ['target_url', 'string'], ['timeout_seconds', 'opt_int']],
  'AidenIdClient.run': [['id', 'string']],
  'AidenIdClient.list_runs': [['status', 'opt_string'], ['limit', 'opt_int'], ['offset', 'opt_int']],
  'AidenIdClient.run_secret': [['id', 'string']],
  'AidenIdClient.wait_for_run': [['id', 'string'], ['max_wait_ms', 'opt_int']],
  'ConsumerClient.base_url': [],
  'ConsumerClient.signup': [['email', 'string']],
  'ConsumerClient.login': [['email', 'string']],
  'ConsumerClient.verify': [['token', 'secret']],
  'ConsumerSession.identities': [['limit', 'opt_int'], ['offset', 'opt_int']],
  'ConsumerSession.create_identity': [['label', 'string']],
  'ConsumerSession.notifications': [['limit', 'opt_int'], ['offset', 'opt_int']],
  'ConsumerSession.upgrade': [],
  'ConsumerSession.inbox_events': [['last_event_id', 'opt_string']],
  'InboxEvents.next': [],
  'InboxEvents.close': [],
  'ProxyServer.base_url': [],
  'ProxyServer.shutdown': [],
}

// MockServer methods (the file's mock, no `on`).
const MOCK_OPS = {
  emails_to: [['address', 'string']],
  latest_email: [['address', 'string']],
  advance_clock: [['seconds', 'int']],
  freeze_clock: [],
  unfreeze_clock: [],
  now_secs: [],
  reset: [],
  flows_read_token: [],
  agent_key_with_secrets: [],
  agent_key_read_only: [],
  demo_target_url: [['kind', 'string']],
  magic_link_token: [['address', 'string']],
}

/** The next event of an `InboxEvents` (`null` when it ended), bounded in time. */
async function nextEvent(events) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new RunnerError(`no event within ${NEXT_EVENT_TIMEOUT_MS} ms`)), NEXT_EVENT_TIMEOUT_MS)
  })
  try {
    const r = await Promise.race([events.next(), timeout])
    // An async-iterator result, or the event itself.
    if (r && typeof r === 'object' && 'done' in r && 'value' in r) return r.done ? null : r.value
    return r
  } finally {
    clearTimeout(timer)
  }
}

async function closeEvents(events) {
  if (typeof events.close === 'function') await events.close()
  else if (typeof events.return === 'function') await events.return()
}

/** One vector file being run. */
class Run1 {
  constructor(mock, doc) {
    this.mock = mock
    this.vars = doc.vars ?? {}
    this.saved = new Map()
    this.known = []
    this.proxies = []
    this.streams = []
    this.builtin = {
      base_url: mock.baseUrl,
      api_key: mock.apiKey,
      org_id: mock.orgId,
      owner_email: mock.ownerEmail,
      owner_password: mock.ownerPassword,
      owner_role: mock.ownerRole,
      flows_admin_token: mock.flowsAdminToken,
      agent_key: norm(mock.agentKey),
    }
    this.collect(this.builtin, 'a secret of the mock')
    for (const name of doc.secrets ?? []) {
      if (typeof this.vars[name] !== 'string') throw new RunnerError(`secret \`${name}\` is not a string var`)
      this.addSecret(`var \`${name}\``, this.vars[name])
    }
  }

  addSecret(label, value) {
    if (value.length >= MIN_SECRET_LEN && !this.known.some(([, v]) => v === value)) this.known.push([label, value])
  }

  collect(v, label) {
    const k = kind(v)
    if (k === 'secret') this.addSecret(label, v.expose())
    else if (k === 'list') v.forEach((x) => this.collect(x, label))
    else if (k === 'map') Object.values(v).forEach((x) => this.collect(x, label))
    else if (k === 'handle') v.fields().forEach((x) => this.collect(x, label))
  }

  leak(e) {
    const texts = errorTexts(e)
    const hit = this.known.find(([, s]) => texts.some((t) => t.includes(s)))
    return hit ? hit[0] : null
  }

  lookup(p) {
    const i = p.indexOf('.')
    const [name, rest] = i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)]
    let root
    if (this.saved.has(name)) root = this.saved.get(name)
    else if (Object.hasOwn(this.vars, name)) root = this.vars[name]
    else if (name === 'mock') root = this.builtin
    else throw new RunnerError(`unknown name \`${name}\` in \`\${${p}}\``)
    return rest ? at(root, rest) : root
  }

  resolve(j) {
    if (typeof j === 'string') {
      const whole = /^\$\{([^}]*)\}$/.exec(j)
      if (whole) return this.lookup(whole[1])
      return j.replace(REF, (_, p) => {
        const v = this.lookup(p)
        if (typeof v === 'string') return v
        if (kind(v) === 'int') return String(v)
        throw new RunnerError(`a ${kind(v)} cannot be interpolated into a string`)
      })
    }
    if (Array.isArray(j)) return j.map((x) => this.resolve(x))
    if (j !== null && typeof j === 'object') return Object.fromEntries(Object.entries(j).map(([k, v]) => [k, this.resolve(v)]))
    return j
  }

  show(v) {
    const k = kind(v)
    if (k === 'secret') return '[REDACTED]'
    if (k === 'string') {
      if (this.known.some(([, s]) => v.includes(s))) return '[REDACTED]'
      return JSON.stringify(v.length > 120 ? `${v.slice(0, 120)}…` : v)
    }
    if (k === 'list') return `[${v.map((x) => this.show(x)).join(', ')}]`
    if (k === 'map') return `{${Object.entries(v).map(([n, x]) => `${n}: ${this.show(x)}`).join(', ')}}`
    if (k === 'handle') return `<${v.type}>`
    return String(v)
  }

  check(actual, matcher) {
    if (matcher !== null && typeof matcher === 'object' && !Array.isArray(matcher)) {
      const keys = Object.keys(matcher)
      if (keys.length === 1 && keys[0].startsWith('$')) {
        const op = keys[0]
        const want = this.resolve(matcher[op])
        let ok
        const k = kind(actual)
        switch (op) {
          case '$type':
            ok = k === want || (want === 'float' && k === 'int')
            break
          case '$ne':
            ok = !equal(actual, want)
            break
          case '$len':
          case '$min_len': {
            const n = k === 'string' || k === 'secret' ? [...textOf(actual)].length : k === 'list' ? actual.length : k === 'map' ? Object.keys(actual).length : null
            ok = n !== null && (op === '$len' ? n === want : n >= want)
            break
          }
          case '$starts_with':
            ok = textOf(actual)?.startsWith(textOf(want) ?? '\0') ?? false
            break
          case '$contains':
            ok = k === 'list' ? actual.some((x) => equal(x, want)) : (textOf(actual)?.includes(textOf(want) ?? '\0') ?? false)
            break
          case '$gte':
            ok = typeof actual === 'number' && actual >= want
            break
          case '$in':
            ok = want.some((x) => equal(actual, x))
            break
          default:
            throw new RunnerError(`unknown matcher \`${op}\``)
        }
        return ok ? null : `expected ${op} ${this.show(want)}, got ${this.show(actual)}`
      }
    }
    const want = this.resolve(matcher)
    return equal(actual, want) ? null : `expected ${this.show(want)}, got ${this.show(actual)}`
  }

  handle(on, type) {
    if (on === undefined) throw new RunnerError('this op needs `on`')
    const v = this.saved.get(on)
    if (!(v instanceof Handle)) throw new RunnerError(`\`on: ${on}\` is not a saved handle`)
    if (v.type !== type) throw new RunnerError(`\`on\` is a ${v.type}, this op needs a ${type}`)
    return v.obj
  }

  newestEmail(to, k) {
    const mail = this.mock.emailsTo(to).findLast((m) => m.kind === k)
    if (!mail) throw new RunnerError(`no \`${k}\` email to ${to}`)
    return mail
  }

  async call(op, on, a) {
    const mock = this.mock
    const dot = op.indexOf('.')
    const [type, method] = dot < 0 ? [op, ''] : [op.slice(0, dot), op.slice(dot + 1)]
    switch (op) {
      case 'AuthFlowClient.new': {
        const [key, url] = [a.secret('api_key'), a.opt_string('base_url')]
        a.done()
        return new Handle(new authflow.AuthFlowClient(key, url), 'AuthFlowClient')
      }
      case 'AuthFlowClient.via_proxy': {
        const url = a.string('base_url')
        a.done()
        return new Handle(authflow.AuthFlowClient.viaProxy(url), 'AuthFlowClient')
      }
      case 'AuthFlowClient.login': {
        const c = this.handle(on, 'AuthFlowClient')
        const [e, p, r] = [a.string('email'), a.secret('password'), a.string('role')]
        a.done()
        const out = await c.login(e, p, r)
        if (out instanceof authflow.Challenge) return { outcome: 'two_factor_required', challenge: new Handle(out, 'Challenge') }
        return { outcome: 'session', session: norm(out) }
      }
      case 'FlowsClient.new': {
        const [t, url] = [a.secret('token'), a.opt_string('base_url')]
        a.done()
        return new Handle(new authflow.FlowsClient(t, url), 'FlowsClient')
      }
      case 'AidenIdClient.new': {
        const args = [a.secret('agent_key'), a.string('org_id'), a.string('project_id'), a.opt_string('base_url')]
        a.done()
        return new Handle(new authflow.AidenIdClient(...args), 'AidenIdClient')
      }
      case 'ConsumerClient.new': {
        const url = a.opt_string('base_url')
        a.done()
        return new Handle(new authflow.ConsumerClient(url), 'ConsumerClient')
      }
      case 'ProxyServer.start':
      case 'ProxyServer.start_with': {
        const [u, k] = [a.string('upstream'), a.secret('api_key')]
        let p
        if (op === 'ProxyServer.start_with') {
          const o = a.req('options')
          if (kind(o) !== 'map') throw new RunnerError('`options`: a map')
          const oa = new Args(o)
          const options = { cookieOrigins: oa.strings('cookie_origins'), corsOrigins: oa.strings('cors_origins'), bodyLimit: oa.opt_int('body_limit') }
          oa.done()
          a.done()
          p = await authflow.ProxyServer.startWith(u, k, options)
        } else {
          a.done()
          p = await authflow.ProxyServer.start(u, k)
        }
        this.proxies.push(p)
        return new Handle(p, 'ProxyServer')
      }
      case 'util.email_link_token':
      case 'util.email_link':
      case 'util.email_code': {
        const [to, k] = [a.string('to'), a.string('kind')]
        a.done()
        const mail = this.newestEmail(to, k)
        if (op === 'util.email_code') {
          if (!mail.codes.length) throw new RunnerError(`the \`${k}\` email has no code`)
          return new authflow.Secret(mail.codes[0])
        }
        if (!mail.links.length) throw new RunnerError(`the \`${k}\` email has no link`)
        if (op === 'util.email_link') return mail.links[0]
        const token = new URL(mail.links[0]).searchParams.get('token')
        if (token === null) throw new RunnerError(`the \`${k}\` email's link has no token`)
        return new authflow.Secret(token)
      }
      case 'util.totp_at_mock_now': {
        const [s, off] = [a.secret('secret'), a.opt_int('offset_seconds')]
        a.done()
        return authflow.totpAt(s, mock.nowSecs() + (off ?? 0))
      }
      case 'totp_at': {
        const [s, t] = [a.secret('secret'), a.int('unix_seconds')]
        a.done()
        return authflow.totpAt(s, t)
      }
      case 'totp_now': {
        const s = a.secret('secret')
        a.done()
        return authflow.totpNow(s)
      }
    }
    if (type === 'MockServer') {
      const spec = MOCK_OPS[method]
      if (!spec) throw new RunnerError(`unknown op \`${op}\``)
      const values = spec.map(([n, k]) => a[k](n))
      a.done()
      const attr = mock[camel(method)]
      if (typeof attr !== 'function') {
        if (spec.length || attr === undefined) throw new RunnerError(`MockServer has no method \`${camel(method)}\``)
        return norm(attr) // a getter
      }
      return norm(await attr.apply(mock, values))
    }
    const spec = METHOD_OPS[op]
    if (!spec) throw new RunnerError(`unknown op \`${op}\``)
    const target = this.handle(on, type)
    const values = spec.map(([n, k]) => a[k](n))
    a.done()
    if (op === 'InboxEvents.next') return norm(await nextEvent(target))
    if (op === 'InboxEvents.close') {
      await closeEvents(target)
      return null
    }
    const attr = target[camel(method)]
    if (typeof attr !== 'function') {
      if (spec.length || attr === undefined) throw new RunnerError(`${type} has no method \`${camel(method)}\``)
      return norm(attr) // a getter (`baseUrl`)
    }
    const out = await attr.apply(target, values)
    if (op === 'ConsumerSession.inbox_events') this.streams.push(out)
    return norm(out)
  }

  async close() {
    for (const s of this.streams) await closeEvents(s)
    for (const p of this.proxies) await p.shutdown()
  }
}

async function runStep(r, step, name) {
  const unknown = Object.keys(step).filter((k) => !STEP_KEYS.has(k))
  if (unknown.length) throw new RunnerError(`unknown step keys ${JSON.stringify(unknown)}`)
  const op = step.op
  if (typeof op !== 'string') throw new RunnerError('a step without `op`')
  const wantError = step.expect_error
  if (wantError !== undefined && ('expect' in step || 'save' in step)) throw new RunnerError('`expect_error` with `expect` or `save`')
  const rawArgs = step.args ?? {}
  if (kind(rawArgs) !== 'map') throw new RunnerError('`args` is not an object')
  const a = new Args(r.resolve(rawArgs))
  let value
  try {
    value = await r.call(op, step.on, a)
  } catch (e) {
    for (const s of a.secrets) r.addSecret(`a secret argument of step ${JSON.stringify(name)}`, s)
    if (!(e instanceof authflow.AuthflowError)) throw e
    const label = r.leak(e)
    if (label !== null) throw new RunnerError(`the error text contains a secret: ${label} (code ${e.code})`)
    if (wantError === undefined) throw new RunnerError(`unexpected error: code ${e.code}, status ${e.status}: ${e.detail}`)
    if (!('status' in wantError)) throw new RunnerError('`expect_error` without `status`')
    const problems = []
    const code = r.resolve(wantError.code)
    if (e.code !== code) problems.push(`code ${e.code} (expected ${code})`)
    if (!equal(e.status, wantError.status)) problems.push(`status ${e.status} (expected ${wantError.status})`)
    if ('retryable' in wantError && e.retryable !== wantError.retryable) problems.push(`retryable ${e.retryable} (expected ${wantError.retryable})`)
    if ('detail_contains' in wantError) {
      const part = r.resolve(wantError.detail_contains)
      if (!e.detail.includes(part)) problems.push(`detail does not contain ${JSON.stringify(part)}`)
    }
    if (problems.length) throw new RunnerError(`wrong error: ${problems.join(', ')} (${e.detail})`)
    return
  }
  for (const s of a.secrets) r.addSecret(`a secret argument of step ${JSON.stringify(name)}`, s)
  if (wantError !== undefined) throw new RunnerError(`expected error ${JSON.stringify(wantError)}, but the call succeeded`)
  r.collect(value, `a secret from step ${JSON.stringify(name)}`)
  const problems = []
  for (const [p, matcher] of Object.entries(step.expect ?? {})) {
    let problem
    try {
      problem = r.check(at(value, p), matcher)
    } catch (e) {
      problem = e.message
    }
    if (problem !== null) problems.push(`\`${p}\`: ${problem}`)
  }
  if (problems.length) throw new RunnerError(problems.join('; '))
  const save = step.save
  const targets = typeof save === 'string' ? { [save]: '$' } : (save ?? {})
  for (const [target, p] of Object.entries(targets)) {
    if (target === 'mock' || Object.hasOwn(r.vars, target)) throw new RunnerError(`\`save\` over the var or builtin \`${target}\``)
    r.saved.set(target, at(value, p))
  }
}

/** Run one file; its report. */
async function runFile(file) {
  const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, file), 'utf8'))
  const steps = doc.steps ?? []
  const report = { file, executed: 0, total: steps.length, failure: null }
  if (doc.format !== 1) {
    report.failure = `${file}: \`format\` is not 1`
    return report
  }
  const mock = await authflow.MockServer.start()
  try {
    const r = new Run1(mock, doc)
    const names = new Set()
    for (const [i, step] of steps.entries()) {
      const name = step.name ?? '<unnamed>'
      const where = `${file} step #${i + 1} ${JSON.stringify(name)} (${step.op})`
      try {
        if (names.has(name)) throw new RunnerError('duplicate step name')
        names.add(name)
        await runStep(r, step, name)
      } catch (e) {
        // Thrown by a util op or the runner itself: never print a secret.
        const detail = e instanceof authflow.AuthflowError ? `code ${e.code}${r.leak(e) ? `, leaks ${r.leak(e)}` : ''}` : `${e.name}: ${e.message}`
        report.failure = `${where}: ${detail}`
        break
      }
      report.executed += 1
    }
    await r.close()
  } finally {
    await mock.shutdown()
  }
  return report
}

test('conformance vectors (tests/conformance/*.json)', async (t) => {
  assert.ok(FILES.length > 0, `no vector files in ${VECTORS}`)
  const reports = []
  for (const file of FILES) {
    await t.test(file, async () => {
      const rep = await runFile(file)
      reports.push(rep)
      console.log(`conformance (node): ${rep.file}: ${rep.executed}/${rep.total} steps`)
      assert.equal(rep.failure, null, rep.failure ?? '')
      assert.equal(rep.executed, rep.total)
    })
  }
  const executed = reports.reduce((n, r) => n + r.executed, 0)
  const total = FILES.map((f) => JSON.parse(fs.readFileSync(path.join(VECTORS, f), 'utf8')).steps.length).reduce((a, b) => a + b, 0)
  assert.equal(executed, total, `every step of every vector file must run (${executed} of ${total} did)`)
})
