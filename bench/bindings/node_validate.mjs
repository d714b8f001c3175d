// The Node binding's `validate` against global `fetch` (undici), side by side.
//
// Run by `bench/bindings/run.sh` (which builds the release addon into
// target/bench-node and points NAPI_RS_NATIVE_LIBRARY_PATH at it); standalone:
//
//   NAPI_RS_NATIVE_LIBRARY_PATH=$PWD/target/bench-node/authflow.linux-x64-gnu.node \
//     node bench/bindings/node_validate.mjs [--json OUT]
//
// One AuthFlow mock (`MockServer.start()`), one user signed up and logged in;
// then, against that mock:
//
// - concurrent: R rounds of B (1,000) concurrent `validate` calls with
//   `Promise.all`, through the binding (`client.validate(session)`) and through
//   `fetch` (`GET /auth/validate` with the query the SDK sends, built once;
//   every response's JSON body parsed and checked to say `{"valid": true}`),
//   order rotated every round;
// - sequential: S calls one at a time, each timed.
//
// Connection limits: the binding's reqwest pool has no cap (a new connection
// whenever none is idle); undici's global dispatcher has none either
// (`connections: null`), so both may open up to B connections.
//
// `--mock inproc` (default) starts the mock in this process: its axum server
// runs on napi's tokio runtime (multi-thread, one worker per core) next to
// the binding's client, while fetch runs on the JS thread. `--mock child`
// starts it in a child process (`--serve-mock`) instead.
//
// No secret is printed: the session token and API key stay in memory or on the
// pipe to the child.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const authflow = require(path.join(HERE, '..', '..', 'bindings', 'node', 'index.js'))
const { AuthFlowClient, MockServer, Session } = authflow

const EMAIL = 'bench-node@example.com'
const PASSWORD = 'BenchPass123!'
const ROLE = 'member'

function parseArgs(argv) {
  const a = { batch: 1000, rounds: 10, seq: 2000, mock: 'inproc', json: null, serveMock: false }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const next = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${k} needs a value`)
      return v
    }
    if (k === '--batch') a.batch = Number(next())
    else if (k === '--rounds') a.rounds = Number(next())
    else if (k === '--seq') a.seq = Number(next())
    else if (k === '--mock') a.mock = next()
    else if (k === '--json') a.json = next()
    else if (k === '--serve-mock') a.serveMock = true
    else throw new Error(`unknown argument ${k}`)
  }
  if (!['inproc', 'child'].includes(a.mock)) throw new Error('--mock inproc|child')
  return a
}

/** Threads of this process by name (Linux: /proc/self/task/*\/comm). */
function threadNames() {
  const names = {}
  try {
    for (const tid of fs.readdirSync('/proc/self/task')) {
      const n = fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()
      names[n] = (names[n] ?? 0) + 1
    }
  } catch {
    // not Linux
  }
  return Object.fromEntries(Object.entries(names).sort())
}

/** Child mode: start a mock, hand address and key to the parent over the pipe, serve until stdin closes. */
async function serveMock() {
  const mock = await MockServer.start()
  process.stdout.write(
    `${JSON.stringify({ baseUrl: mock.baseUrl, apiKey: mock.apiKey.expose(), threads: threadNames() })}\n`,
  )
  process.stdin.resume()
  await new Promise((resolve) => process.stdin.on('end', resolve))
  await mock.shutdown()
}

async function childMock() {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve-mock'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: process.env,
  })
  const rl = readline.createInterface({ input: proc.stdout })
  const line = await new Promise((resolve, reject) => {
    rl.once('line', resolve)
    proc.once('exit', (code) => reject(new Error(`mock child exited with ${code}`)))
  })
  rl.close()
  const info = JSON.parse(line)
  return {
    baseUrl: info.baseUrl,
    apiKey: info.apiKey,
    threads: info.threads,
    async shutdown() {
      proc.stdin.end()
      await new Promise((resolve) => proc.once('exit', resolve))
    },
  }
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6

async function bindingBatch(client, session, n) {
  const t = nowMs()
  const calls = new Array(n)
  for (let i = 0; i < n; i++) calls[i] = client.validate(session)
  const results = await Promise.all(calls)
  const took = nowMs() - t
  if (!results.every((r) => r === true)) throw new Error('binding: a validate call did not say valid')
  return took
}

async function fetchOne(url) {
  const r = await fetch(url)
  const body = await r.json()
  return r.status === 200 && body.valid === true
}

async function fetchBatch(url, n) {
  const t = nowMs()
  const calls = new Array(n)
  for (let i = 0; i < n; i++) calls[i] = fetchOne(url)
  const results = await Promise.all(calls)
  const took = nowMs() - t
  if (!results.every((r) => r === true)) throw new Error('fetch: a validate call did not say valid')
  return took
}

async function sequential(call, n) {
  const samples = new Array(n)
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint()
    const ok = await call()
    samples[i] = Number(process.hrtime.bigint() - t) / 1e3
    if (ok !== true) throw new Error('sequential validate did not say valid')
  }
  return samples
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function batchSummary(samples, n) {
  const med = median(samples)
  return {
    batch_size: n,
    batch_rounds: samples.length,
    batch_p50_ms: med,
    batch_min_ms: Math.min(...samples),
    batch_max_ms: Math.max(...samples),
    batch_calls_per_s: n / (med / 1e3),
  }
}

function seqSummary(samples) {
  const s = [...samples].sort((a, b) => a - b)
  return {
    seq_calls: s.length,
    seq_p50_us: median(s),
    seq_mean_us: s.reduce((a, b) => a + b, 0) / s.length,
    seq_p99_us: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))],
  }
}

/** The journaled `validate` requests: method, path, query (secrets redacted). */
async function journalShapes(baseUrl) {
  const r = await fetch(`${baseUrl}/__mock/requests`)
  if (!r.ok) throw new Error(`journal: HTTP ${r.status}`)
  const entries = await r.json()
  return entries
    .filter((e) => e.route === 'validate')
    .map((e) => `${e.method} ${e.path}?${e.query.map(([k, v]) => `${k}=${v}`).join('&')}`)
}

async function main(args) {
  const { batch: n, rounds, seq: seqN } = args
  let mock
  let baseUrl
  let apiKey
  let mockThreads = null
  let mockDesc
  if (args.mock === 'child') {
    mock = await childMock()
    ;({ baseUrl, apiKey } = mock)
    mockThreads = mock.threads
    mockDesc = "child process (MockServer.start in another node), its own napi tokio runtime"
  } else {
    mock = await MockServer.start()
    ;({ baseUrl, apiKey } = mock)
    mockDesc = "in-process (MockServer.start), on napi's tokio runtime"
  }
  const client = new AuthFlowClient(apiKey, baseUrl)
  await client.signUp(EMAIL, PASSWORD, 'Bench User', ROLE)
  const session = await client.login(EMAIL, PASSWORD, ROLE)
  if (!(session instanceof Session)) throw new Error('no 2FA in this bench')
  // The query the SDK sends (email, then sessionToken), encoded once.
  const query = new URLSearchParams([
    ['email', session.email],
    ['sessionToken', session.token.expose()],
  ])
  const url = `${baseUrl}/auth/validate?${query}`

  // Same request on the wire?
  if ((await client.validate(session)) !== true || (await fetchOne(url)) !== true) {
    throw new Error('warm-up validate failed')
  }
  const shapes = await journalShapes(baseUrl)
  const [a, b] = shapes.slice(-2)
  if (shapes.length < 2 || a !== b) throw new Error(`binding and fetch send different requests: ${a} / ${b}`)
  const wire = b

  const contenders = {
    node_binding: () => bindingBatch(client, session, n),
    node_fetch: () => fetchBatch(url, n),
  }
  const keys = Object.keys(contenders)
  for (const k of keys) await contenders[k]()
  const batches = Object.fromEntries(keys.map((k) => [k, []]))
  let peakThreads = {}
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[(i + r) % keys.length]
      batches[k].push(await contenders[k]())
      process.stderr.write(`  round ${r + 1} ${k}: ${batches[k].at(-1).toFixed(1)} ms\n`)
      const now = threadNames()
      const total = (o) => Object.values(o).reduce((a, b) => a + b, 0)
      if (total(now) > total(peakThreads)) peakThreads = now
    }
  }

  // No I/O: the SDK's input check refuses an empty token before any request,
  // so this is the binding's call machinery (Promise, tokio task, threadsafe
  // resolution) plus the AuthflowError conversion of index.js.
  const empty = new Session('', session.email)
  const refused = async () => {
    try {
      await client.validate(empty)
    } catch (e) {
      return e.code === 'invalid_input'
    }
    return false
  }
  const seqCalls = {
    node_binding: () => client.validate(session),
    node_fetch: () => fetchOne(url),
    node_binding_noio: refused,
  }
  const seqKeys = Object.keys(seqCalls)
  for (const k of seqKeys) await sequential(seqCalls[k], 200)
  const seqs = Object.fromEntries(seqKeys.map((k) => [k, []]))
  const blocks = 5
  for (let bl = 0; bl < blocks; bl++) {
    for (let i = 0; i < seqKeys.length; i++) {
      const k = seqKeys[(i + bl) % seqKeys.length]
      seqs[k].push(...(await sequential(seqCalls[k], Math.ceil(seqN / blocks))))
    }
  }
  const threads = threadNames()
  await mock.shutdown()

  const labels = {
    node_binding: 'Node binding AuthFlowClient.validate',
    node_fetch: 'fetch (undici, global dispatcher) + res.json()',
  }
  const results = {}
  for (const k of keys) {
    results[k] = { label: labels[k], ...batchSummary(batches[k], n), ...seqSummary(seqs[k]) }
  }
  results.node_binding_noio = {
    label: 'Node binding validate, refused before I/O (rejects with AuthflowError)',
    ...seqSummary(seqs.node_binding_noio),
  }
  return {
    bench: 'node_validate',
    node: process.version,
    undici: process.versions.undici ?? null,
    addon: process.env.NAPI_RS_NATIVE_LIBRARY_PATH ?? 'bindings/node (default loader)',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    mock: mockDesc,
    wire,
    threads,
    threads_peak: peakThreads,
    mock_threads: mockThreads,
    results,
  }
}

const args = parseArgs(process.argv.slice(2))
if (args.serveMock) {
  await serveMock()
} else {
  const doc = await main(args)
  console.log(`node_validate: mock ${doc.mock}; threads ${JSON.stringify(doc.threads)}`)
  console.log(`validate request (both): ${doc.wire}`)
  for (const r of Object.values(doc.results)) {
    let line = r.label.padEnd(60)
    if (r.batch_p50_ms !== undefined) {
      line += ` batch p50 ${r.batch_p50_ms.toFixed(1).padStart(8)} ms  min ${r.batch_min_ms.toFixed(1).padStart(8)} ms`
      line += `  ${r.batch_calls_per_s.toFixed(0).padStart(8)} calls/s`
    }
    line += `  seq p50 ${r.seq_p50_us.toFixed(1).padStart(7)} µs mean ${r.seq_mean_us.toFixed(1).padStart(7)} µs`
    console.log(line)
  }
  const { node_binding: bb, node_fetch: ff } = doc.results
  console.log(`binding vs fetch (batch p50): ${(ff.batch_p50_ms / bb.batch_p50_ms).toFixed(2)}x faster`)
  if (args.json) fs.writeFileSync(args.json, `${JSON.stringify(doc, null, 2)}\n`)
}
