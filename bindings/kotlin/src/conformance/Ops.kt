// The ops of tests/conformance/README.md (sections 7-9), each one call of
// the generated Kotlin binding (package uniffi.authflow_ffi).
package authflow.conformance

import com.google.gson.Gson
import kotlinx.coroutines.withTimeoutOrNull
import uniffi.authflow_ffi.AidenIdClient
import uniffi.authflow_ffi.AuthFlowClient
import uniffi.authflow_ffi.Challenge
import uniffi.authflow_ffi.ConsumerClient
import uniffi.authflow_ffi.ConsumerSession
import uniffi.authflow_ffi.Email
import uniffi.authflow_ffi.FlowsClient
import uniffi.authflow_ffi.InboxEvents
import uniffi.authflow_ffi.MockServer
import uniffi.authflow_ffi.ProxyOptions
import uniffi.authflow_ffi.ProxyServer
import uniffi.authflow_ffi.Secret
import uniffi.authflow_ffi.Session
import uniffi.authflow_ffi.UserRef
import uniffi.authflow_ffi.totpAt
import uniffi.authflow_ffi.totpNow

/** How long `InboxEvents.next` may wait for an event. */
private const val NEXT_EVENT_TIMEOUT_MS = 30_000L

/** The resolved `args` of a step, type-checked as the op reads them (README 3.1). */
class Args(private val m: Map<String, Any?>, private val known: KnownSecrets, private val step: String) {
    private val used = HashSet<String>()

    private fun req(k: String): Any? {
        used += k
        if (!m.containsKey(k)) throw Fail("missing argument `$k`")
        return m[k]
    }

    private fun opt(k: String): Any? {
        used += k
        return m[k]
    }

    private fun bad(k: String, want: String, v: Any?): Nothing = throw Fail("`$k`: $want, not a ${kind(v)}")

    fun string(k: String): String = req(k).let { it as? String ?: bad(k, "a string", it) }

    fun optString(k: String): String? = opt(k)?.let { it as? String ?: bad(k, "a string or null", it) }

    fun int(k: String): Long = req(k).let { it as? Long ?: bad(k, "an int", it) }

    fun optInt(k: String): Long? = opt(k)?.let { it as? Long ?: bad(k, "an int or null", it) }

    fun u32(k: String): UInt = toU32(k, int(k))

    fun optU32(k: String): UInt? = optInt(k)?.let { toU32(k, it) }

    fun u64(k: String): ULong = toU64(k, int(k))

    fun optU64(k: String): ULong? = optInt(k)?.let { toU64(k, it) }

    private fun toU32(k: String, v: Long): UInt =
        if (v in 0..UInt.MAX_VALUE.toLong()) v.toUInt() else throw Fail("`$k`: $v is not a u32")

    private fun toU64(k: String, v: Long): ULong =
        if (v >= 0) v.toULong() else throw Fail("`$k`: $v is not a u64")

    /** A facade `Secret` from a secret or a string; its value becomes a known secret. */
    fun secret(k: String): Secret = asSecret(k, req(k))

    private fun asSecret(k: String, v: Any?): Secret = when (v) {
        is SecretV -> v.secret.also { known.add(v.value, "secret argument `$k` of step '$step'") }
        is String -> Secret(v).also { known.add(v, "secret argument `$k` of step '$step'") }
        else -> bad(k, "a secret or a string", v)
    }

    fun session(k: String): Session {
        val v = req(k) as? Map<*, *> ?: bad(k, "a session map", m[k])
        if (!v.containsKey("token")) throw Fail("`$k`: no `token`")
        val email = v["email"] as? String ?: throw Fail("`$k.email`: a string")
        return Session(asSecret("$k.token", v["token"]), email)
    }

    fun user(k: String): UserRef {
        val v = req(k) as? Map<*, *> ?: bad(k, "a user map", m[k])
        fun s(f: String) = v[f] as? String ?: throw Fail("`$k.$f`: a string")
        return UserRef(s("email"), s("org_id"), s("role"))
    }

    fun json(k: String): String = Gson().toJson(toJson(req(k)))

    fun optJson(k: String): String? = if (opt(k) == null) null else json(k)

    fun map(k: String): Map<*, *> = req(k).let { it as? Map<*, *> ?: bad(k, "a map", it) }

    /** An optional argument of any kind. */
    fun optAny(k: String): Any? = opt(k)

    /** Every argument was read: unknown names are failures. */
    fun done() {
        val unknown = m.keys - used
        if (unknown.isNotEmpty()) throw Fail("unknown argument(s) ${unknown.sorted().joinToString { "`$it`" }}")
    }
}

/** One vector file's facade state: the mock, and what must be closed at the end. */
class FileState(val mock: MockServer) {
    val streams = ArrayList<InboxEvents>()
    val proxies = ArrayList<ProxyServer>()
}

private fun unit(@Suppress("UNUSED_PARAMETER") u: Unit): Any? = null

/** The newest email to `to` of `kind` (README section 8, `util.*`). */
private fun newestEmail(mock: MockServer, to: String, kind: String): Email =
    mock.emailsTo(to).lastOrNull { it.kind == kind } ?: throw Fail("no `$kind` email to $to")

/** The percent-decoded value of `name` in the query of `url`. */
private fun queryParam(url: String, name: String): String? {
    val query = url.substringAfter('?', "").substringBefore('#')
    if (query.isEmpty()) return null
    for (pair in query.split('&')) {
        val k = pair.substringBefore('=')
        if (k == name) return java.net.URLDecoder.decode(pair.substringAfter('=', ""), Charsets.UTF_8)
    }
    return null
}

/**
 * Run `op` with `args`; `on` is the resolved receiver, if the step named
 * one. Returns the result in the value model. Facade errors propagate as
 * `AuthflowException`; everything else wrong is a `Fail`.
 */
suspend fun callOp(op: String, on: Any?, a: Args, s: FileState): Any? {
    fun <T> recv(type: String, cast: (Any) -> T?): T {
        val h = on as? Handle ?: throw Fail("this op needs `on` (a $type)")
        return cast(h.obj) ?: throw Fail("`on` is a ${h.type}, this op needs a $type")
    }
    fun client() = recv("AuthFlowClient") { it as? AuthFlowClient }
    fun challenge() = recv("Challenge") { it as? Challenge }
    fun flows() = recv("FlowsClient") { it as? FlowsClient }
    fun aidenid() = recv("AidenIdClient") { it as? AidenIdClient }
    fun consumer() = recv("ConsumerClient") { it as? ConsumerClient }
    fun csession() = recv("ConsumerSession") { it as? ConsumerSession }
    fun events() = recv("InboxEvents") { it as? InboxEvents }
    fun proxy() = recv("ProxyServer") { it as? ProxyServer }
    val mock = s.mock
    // Each branch reads its arguments, then `a.done()`, then calls the facade.
    val r: Any? = when (op) {
        // ------------------------------------------------------ AuthFlowClient
        "AuthFlowClient.new" -> {
            val (k, url) = a.secret("api_key") to a.optString("base_url")
            a.done()
            AuthFlowClient(k, url)
        }
        "AuthFlowClient.via_proxy" -> {
            val url = a.string("base_url")
            a.done()
            AuthFlowClient.viaProxy(url)
        }
        "AuthFlowClient.base_url" -> client().let { c -> a.done(); c.baseUrl() }
        "AuthFlowClient.sign_up" -> {
            val c = client()
            val (e, p) = a.string("email") to a.secret("password")
            val (f, role) = a.string("fullname") to a.string("role")
            a.done()
            c.signUp(e, p, f, role)
        }
        "AuthFlowClient.login" -> {
            val c = client()
            val (e, p, role) = Triple(a.string("email"), a.secret("password"), a.string("role"))
            a.done()
            c.login(e, p, role)
        }
        "AuthFlowClient.validate" -> {
            val c = client()
            val x = a.session("session")
            a.done()
            c.validate(x)
        }
        "AuthFlowClient.me" -> {
            val c = client()
            val t = a.secret("session_token")
            a.done()
            c.me(t)
        }
        "AuthFlowClient.logout" -> {
            val c = client()
            val x = a.session("session")
            a.done()
            unit(c.logout(x))
        }
        "AuthFlowClient.delete_user" -> {
            val c = client()
            val (o, org, u) = Triple(a.session("owner"), a.string("org_id"), a.string("user_email"))
            a.done()
            unit(c.deleteUser(o, org, u))
        }
        "AuthFlowClient.forgot_password" -> {
            val c = client()
            val (e, role) = a.string("email") to a.optString("role")
            a.done()
            unit(c.forgotPassword(e, role))
        }
        "AuthFlowClient.reset_password" -> {
            val c = client()
            val (t, p) = a.secret("token") to a.secret("new_password")
            a.done()
            unit(c.resetPassword(t, p))
        }
        "AuthFlowClient.change_password" -> {
            val c = client()
            val (x, o, n) = Triple(a.session("session"), a.secret("old_password"), a.secret("new_password"))
            a.done()
            unit(c.changePassword(x, o, n))
        }
        "AuthFlowClient.verify_email" -> {
            val c = client()
            val t = a.secret("token")
            a.done()
            unit(c.verifyEmail(t))
        }
        "AuthFlowClient.resend_verification" -> {
            val c = client()
            val (e, role) = a.string("email") to a.optString("role")
            a.done()
            unit(c.resendVerification(e, role))
        }
        "AuthFlowClient.enable_totp" -> {
            val c = client()
            val (t, u) = a.secret("session_token") to a.user("user")
            a.done()
            c.enableTotp(t, u)
        }
        "AuthFlowClient.verify_totp_setup" -> {
            val c = client()
            val (t, u) = a.secret("session_token") to a.user("user")
            val (code, secret) = a.secret("code") to a.secret("secret")
            a.done()
            c.verifyTotpSetup(t, u, code, secret)
        }
        "AuthFlowClient.disable_totp" -> {
            val c = client()
            val (t, u, p) = Triple(a.secret("session_token"), a.user("user"), a.secret("password"))
            a.done()
            unit(c.disableTotp(t, u, p))
        }
        "AuthFlowClient.regenerate_recovery_codes" -> {
            val c = client()
            val (t, u, p) = Triple(a.secret("session_token"), a.user("user"), a.secret("password"))
            a.done()
            c.regenerateRecoveryCodes(t, u, p)
        }
        "AuthFlowClient.verify_2fa" -> {
            val c = client()
            val (t, u, code) = Triple(a.secret("temp_token"), a.user("user"), a.secret("code"))
            a.done()
            c.verify2fa(t, u, code)
        }
        "AuthFlowClient.send_backup_email" -> {
            val c = client()
            val (t, u) = a.secret("temp_token") to a.user("user")
            a.done()
            unit(c.sendBackupEmail(t, u))
        }
        "AuthFlowClient.verify_email_otp" -> {
            val c = client()
            val (u, otp) = a.user("user") to a.secret("otp")
            a.done()
            c.verifyEmailOtp(u, otp)
        }
        "AuthFlowClient.verify_recovery_code" -> {
            val c = client()
            val (u, code) = a.user("user") to a.secret("code")
            a.done()
            c.verifyRecoveryCode(u, code)
        }
        // ----------------------------------------------------------- Challenge
        "Challenge.verify_totp" -> {
            val c = challenge()
            val code = a.secret("code")
            a.done()
            c.verifyTotp(code)
        }
        "Challenge.send_backup_email" -> challenge().let { c -> a.done(); unit(c.sendBackupEmail()) }
        "Challenge.verify_email_otp" -> {
            val c = challenge()
            val otp = a.secret("otp")
            a.done()
            c.verifyEmailOtp(otp)
        }
        "Challenge.verify_recovery_code" -> {
            val c = challenge()
            val code = a.secret("code")
            a.done()
            c.verifyRecoveryCode(code)
        }
        // ---------------------------------------------------------- MockServer
        "MockServer.emails_to" -> a.string("address").let { x -> a.done(); mock.emailsTo(x) }
        "MockServer.latest_email" -> a.string("address").let { x -> a.done(); mock.latestEmail(x) }
        "MockServer.advance_clock" -> a.u64("seconds").let { x -> a.done(); unit(mock.advanceClock(x)) }
        "MockServer.freeze_clock" -> { a.done(); unit(mock.freezeClock()) }
        "MockServer.unfreeze_clock" -> { a.done(); unit(mock.unfreezeClock()) }
        "MockServer.now_secs" -> { a.done(); mock.nowSecs() }
        "MockServer.reset" -> { a.done(); unit(mock.reset()) }
        "MockServer.flows_read_token" -> { a.done(); mock.flowsReadToken() }
        "MockServer.agent_key_with_secrets" -> { a.done(); mock.agentKeyWithSecrets() }
        "MockServer.agent_key_read_only" -> { a.done(); mock.agentKeyReadOnly() }
        "MockServer.demo_target_url" -> a.string("kind").let { x -> a.done(); mock.demoTargetUrl(x) }
        "MockServer.magic_link_token" -> a.string("address").let { x -> a.done(); mock.magicLinkToken(x) }
        "MockServer.deliver_email" -> {
            val (to, sender) = a.string("to") to a.string("sender")
            val (subject, text) = a.string("subject") to a.string("text")
            a.done()
            mock.deliverEmail(to, sender, subject, text)
        }
        // ---------------------------------------------------------------- TOTP
        "totp_at" -> {
            val (secret, t) = a.secret("secret") to a.u64("unix_seconds")
            a.done()
            totpAt(secret, t)
        }
        "totp_now" -> a.secret("secret").let { x -> a.done(); totpNow(x) }
        // ------------------------------------------------------------- helpers
        "util.email_link_token", "util.email_link" -> {
            val (to, k) = a.string("to") to a.string("kind")
            a.done()
            val link = newestEmail(mock, to, k).links.firstOrNull() ?: throw Fail("the `$k` email has no link")
            if (op == "util.email_link") {
                link
            } else {
                Secret(queryParam(link, "token") ?: throw Fail("the `$k` email's link has no token"))
            }
        }
        "util.email_code" -> {
            val (to, k) = a.string("to") to a.string("kind")
            a.done()
            Secret(newestEmail(mock, to, k).codes.firstOrNull() ?: throw Fail("the `$k` email has no code"))
        }
        "util.totp_at_mock_now" -> {
            val secret = a.secret("secret")
            val offset = a.optInt("offset_seconds") ?: 0L
            a.done()
            val t = mock.nowSecs() + offset
            if (t < 0) throw Fail("mock time + offset_seconds is negative")
            totpAt(secret, t.toULong())
        }
        // --------------------------------------------------------- FlowsClient
        "FlowsClient.new" -> {
            val (t, url) = a.secret("token") to a.optString("base_url")
            a.done()
            FlowsClient(t, url)
        }
        "FlowsClient.base_url" -> flows().let { c -> a.done(); c.baseUrl() }
        "FlowsClient.list" -> {
            val c = flows()
            val (l, cur) = a.optU32("limit") to a.optString("cursor")
            val (t, st) = a.optString("flow_type") to a.optString("status")
            a.done()
            c.list(l, cur, t, st)
        }
        "FlowsClient.get" -> flows().let { c -> val id = a.string("id"); a.done(); c.get(id) }
        "FlowsClient.create" -> {
            val c = flows()
            val (n, d, t) = Triple(a.string("name"), a.string("display_name"), a.string("flow_type"))
            val (desc, g) = a.optString("description") to a.json("graph_json")
            a.done()
            c.create(n, d, t, desc, g)
        }
        "FlowsClient.update" -> {
            val c = flows()
            val (id, d) = a.string("id") to a.optString("display_name")
            val (desc, g) = a.optString("description") to a.optJson("graph_json")
            a.done()
            c.update(id, d, desc, g)
        }
        "FlowsClient.delete" -> flows().let { c -> val id = a.string("id"); a.done(); unit(c.delete(id)) }
        "FlowsClient.validate" -> flows().let { c -> val id = a.string("id"); a.done(); c.validate(id) }
        "FlowsClient.compile" -> flows().let { c -> val id = a.string("id"); a.done(); c.compile(id) }
        "FlowsClient.activate" -> flows().let { c -> val id = a.string("id"); a.done(); c.activate(id) }
        "FlowsClient.deactivate" -> flows().let { c -> val id = a.string("id"); a.done(); c.deactivate(id) }
        "FlowsClient.mermaid" -> flows().let { c -> val id = a.string("id"); a.done(); c.mermaid(id) }
        // ------------------------------------------------------- AidenIdClient
        "AidenIdClient.new" -> {
            val (k, o) = a.secret("agent_key") to a.string("org_id")
            val (p, url) = a.string("project_id") to a.optString("base_url")
            a.done()
            AidenIdClient(k, o, p, url)
        }
        "AidenIdClient.base_url" -> aidenid().let { c -> a.done(); c.baseUrl() }
        "AidenIdClient.create_identity" -> {
            val c = aidenid()
            val (l, ttl) = a.string("label") to a.optU32("ttl_hours")
            a.done()
            c.createIdentity(l, ttl)
        }
        "AidenIdClient.identity" -> aidenid().let { c -> val id = a.string("id"); a.done(); c.identity(id) }
        "AidenIdClient.list_identities" -> {
            val c = aidenid()
            val (l, o) = a.optU32("limit") to a.optU64("offset")
            a.done()
            c.listIdentities(l, o)
        }
        "AidenIdClient.squash_identity" ->
            aidenid().let { c -> val id = a.string("id"); a.done(); c.squashIdentity(id) }
        "AidenIdClient.messages" -> aidenid().let { c -> val id = a.string("id"); a.done(); c.messages(id) }
        "AidenIdClient.create_password_reset_run", "AidenIdClient.create_invite_run" -> {
            val c = aidenid()
            val (i, t, secs) = Triple(a.string("identity_id"), a.string("target_url"), a.optU32("timeout_seconds"))
            a.done()
            if (op == "AidenIdClient.create_invite_run") c.createInviteRun(i, t, secs)
            else c.createPasswordResetRun(i, t, secs)
        }
        "AidenIdClient.run" -> aidenid().let { c -> val id = a.string("id"); a.done(); c.run(id) }
        "AidenIdClient.list_runs" -> {
            val c = aidenid()
            val (st, l, o) = Triple(a.optString("status"), a.optU32("limit"), a.optU64("offset"))
            a.done()
            c.listRuns(st, l, o)
        }
        "AidenIdClient.run_secret" -> aidenid().let { c -> val id = a.string("id"); a.done(); c.runSecret(id) }
        "AidenIdClient.wait_for_run" -> {
            val c = aidenid()
            val (id, w) = a.string("id") to a.optU64("max_wait_ms")
            a.done()
            c.waitForRun(id, w)
        }
        // ---------------------------------------------- ConsumerClient/Session
        "ConsumerClient.new" -> a.optString("base_url").let { url -> a.done(); ConsumerClient(url) }
        "ConsumerClient.base_url" -> consumer().let { c -> a.done(); c.baseUrl() }
        "ConsumerClient.signup" -> consumer().let { c -> val e = a.string("email"); a.done(); unit(c.signup(e)) }
        "ConsumerClient.login" -> consumer().let { c -> val e = a.string("email"); a.done(); unit(c.login(e)) }
        "ConsumerClient.verify" -> consumer().let { c -> val t = a.secret("token"); a.done(); c.verify(t) }
        "ConsumerSession.identities" -> {
            val c = csession()
            val (l, o) = a.optU32("limit") to a.optU64("offset")
            a.done()
            c.identities(l, o)
        }
        "ConsumerSession.create_identity" ->
            csession().let { c -> val l = a.string("label"); a.done(); c.createIdentity(l) }
        "ConsumerSession.notifications" -> {
            val c = csession()
            val (l, o) = a.optU32("limit") to a.optU64("offset")
            a.done()
            c.notifications(l, o)
        }
        "ConsumerSession.upgrade" -> csession().let { c -> a.done(); c.upgrade() }
        "ConsumerSession.inbox_events" -> {
            val c = csession()
            val last = a.optString("last_event_id")
            a.done()
            c.inboxEvents(last).also { s.streams += it }
        }
        "InboxEvents.next" -> {
            val e = events()
            a.done()
            val got = withTimeoutOrNull(NEXT_EVENT_TIMEOUT_MS) { listOf(e.next()) }
                ?: throw Fail("no event within ${NEXT_EVENT_TIMEOUT_MS} ms")
            got[0]
        }
        "InboxEvents.close" -> events().let { e -> a.done(); unit(e.stop()) }
        // --------------------------------------------------------- ProxyServer
        "ProxyServer.start", "ProxyServer.start_with" -> {
            val (u, k) = a.string("upstream") to a.secret("api_key")
            val p = if (op == "ProxyServer.start_with") {
                val o = Args(a.map("options").entries.associate { (k2, v) -> k2 as String to v }, KnownSecrets(), "")
                fun strings(k2: String): List<String> = when (val v = o.optJsonList(k2)) {
                    null -> emptyList()
                    else -> v.map { it as? String ?: throw Fail("`options.$k2`: a list of strings") }
                }
                val options = ProxyOptions(strings("cookie_origins"), strings("cors_origins"), o.optU64("body_limit"))
                try {
                    o.done()
                } catch (e: Fail) {
                    throw Fail("`options`: ${e.message}")
                }
                a.done()
                ProxyServer.startWith(u, k, options)
            } else {
                a.done()
                ProxyServer.start(u, k)
            }
            p.also { s.proxies += it }
        }
        "ProxyServer.base_url" -> proxy().let { p -> a.done(); p.baseUrl() }
        "ProxyServer.shutdown" -> proxy().let { p -> a.done(); unit(p.shutdown()) }
        else -> throw Fail("unknown op `$op`")
    }
    return fromFacade(r)
}

/** A list argument, absent or null allowed. */
fun Args.optJsonList(k: String): List<*>? {
    val v = optAny(k) ?: return null
    return v as? List<*> ?: throw Fail("`$k`: a list, not a ${kind(v)}")
}
