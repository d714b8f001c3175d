// The Kotlin conformance runner: replays tests/conformance/*.json (format in
// tests/conformance/README.md) against the uniffi-generated Kotlin binding.
//
//   java -Djna.library.path=target/debug -cp … authflow.conformance.MainKt VECTOR.json…
//
// Each file runs against its own fresh MockServer. A failure stops its file,
// is printed as `<file> step #<n> "<name>" (<op>): <what>` (never with a
// secret value), and makes the exit status 1. The last line is
// `kotlin-conformance: N passed, M failed` (N = steps executed, M = failures).
package authflow.conformance

import com.google.gson.JsonParser
import java.io.File
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking
import uniffi.authflow_ffi.AuthflowException
import uniffi.authflow_ffi.MockServer

private val STEP_KEYS = setOf("name", "op", "on", "args", "save", "expect", "expect_error", "note")
private val ERROR_KEYS = setOf("code", "status", "retryable", "detail_contains")
private val REF = Regex("""\$\{([^}]*)}""")

class FileReport(val file: String, val total: Int) {
    var executed = 0
    var failure: String? = null
}

private class Run(val file: String, val vars: Map<String, Any?>, val mockEnv: Map<String, Any?>, val known: KnownSecrets) {
    val saved = LinkedHashMap<String, Any?>()

    fun lookup(path: String): Any? {
        val segs = path.split('.')
        val name = segs[0]
        var v: Any? = when {
            saved.containsKey(name) -> saved[name]
            vars.containsKey(name) -> vars[name]
            name == "mock" -> mockEnv
            else -> throw Fail("unknown name `$name` in `\${$path}`")
        }
        for (seg in segs.drop(1)) {
            v = try {
                field(v, seg)
            } catch (e: Fail) {
                throw Fail("`\${$path}`: ${e.message}")
            }
        }
        return v
    }

    /** README section 2: references in strings, recursively. */
    fun resolve(v: Any?): Any? = when (v) {
        is String -> {
            val whole = REF.matchEntire(v)
            when {
                whole != null -> lookup(whole.groupValues[1])
                !v.contains("\${") -> v
                else -> REF.replace(v) { m ->
                    when (val x = lookup(m.groupValues[1])) {
                        is String -> x
                        is Long -> x.toString()
                        else -> throw Fail("`\${${m.groupValues[1]}}` is a ${kind(x)}, not text, inside a longer string")
                    }
                }
            }
        }
        is List<*> -> v.map { resolve(it) }
        is Map<*, *> -> LinkedHashMap<String, Any?>().also { out -> v.forEach { (k, x) -> out[k as String] = resolve(x) } }
        else -> v
    }

    fun save(spec: Any?, result: Any?) {
        fun put(name: String, value: Any?) {
            if (name == "mock" || vars.containsKey(name)) throw Fail("`save` under the name of a var or `mock`: `$name`")
            saved[name] = value
        }
        when (spec) {
            null -> {}
            is String -> put(spec, result)
            is Map<*, *> -> spec.forEach { (name, path) ->
                val p = path as? String ?: throw Fail("`save.$name`: a path string")
                put(name as String, try {
                    at(result, p)
                } catch (e: Fail) {
                    throw Fail("`save.$name` = `$p`: ${e.message}")
                })
            }
            else -> throw Fail("`save`: a name or an object of paths")
        }
    }
}

/** Every rendering Kotlin offers of an error (README section 6). */
private fun renderings(e: AuthflowException): List<Pair<String, String>> = listOf(
    "message" to (e.message ?: ""),
    "toString()" to e.toString(),
    "detail()" to e.detail(),
    "localizedMessage" to (e.localizedMessage ?: ""),
    "stackTraceToString()" to e.stackTraceToString(),
)

private fun mockEnv(mock: MockServer): Map<String, Any?> = linkedMapOf(
    "base_url" to mock.baseUrl(),
    "api_key" to SecretV(mock.apiKey()),
    "org_id" to mock.orgId(),
    "owner_email" to mock.ownerEmail(),
    "owner_password" to SecretV(mock.ownerPassword()),
    "owner_role" to mock.ownerRole(),
    "flows_admin_token" to SecretV(mock.flowsAdminToken()),
    "agent_key" to fromFacade(mock.agentKey()),
)

private suspend fun runFile(path: File): FileReport {
    val file = path.name
    val doc = try {
        @Suppress("UNCHECKED_CAST")
        fromJson(JsonParser.parseString(path.readText())) as Map<String, Any?>
    } catch (e: Exception) {
        return FileReport(file, 0).also { it.failure = "$file: not a JSON object: ${e.javaClass.simpleName}" }
    }
    val steps = doc["steps"] as? List<*>
    val report = FileReport(file, steps?.size ?: 0)
    if (doc["format"] != 1L) return report.also { it.failure = "$file: `format` is not 1" }
    if (steps == null) return report.also { it.failure = "$file: no `steps` list" }
    @Suppress("UNCHECKED_CAST")
    val vars = (doc["vars"] ?: emptyMap<String, Any?>()) as? Map<String, Any?>
        ?: return report.also { it.failure = "$file: `vars` is not an object" }
    val known = KnownSecrets()
    for (name in (doc["secrets"] as? List<*>).orEmpty()) {
        val v = vars[name as? String ?: ""]
        when (v) {
            is String -> known.add(v, "var `$name`")
            else -> return report.also { it.failure = "$file: secret `$name` is not a string var" }
        }
    }

    val mock = try {
        MockServer.start()
    } catch (e: AuthflowException) {
        return report.also { it.failure = "$file: the mock did not start: ${e.code()}" }
    }
    val state = FileState(mock)
    try {
        val env = mockEnv(mock)
        known.learn(env, "a secret of `mock`")
        val run = Run(file, vars, env, known)
        for ((i, raw) in steps.withIndex()) {
            val step = raw as? Map<*, *>
            val name = step?.get("name") as? String ?: "?"
            val op = step?.get("op") as? String ?: "?"
            val where = "$file step #${i + 1} \"$name\" ($op)"
            try {
                if (step == null) throw Fail("a step is not an object")
                runStep(step, name, op, run, state)
                report.executed++
            } catch (e: Fail) {
                report.failure = "$where: ${e.message}"
                break
            } catch (e: Exception) {
                // Not an AuthflowException (those are handled in runStep):
                // show only the class, never a message that could hold data.
                report.failure = "$where: ${e.javaClass.name} from the binding"
                break
            }
        }
    } finally {
        for (st in state.streams) runCatching { st.stop() }
        for (p in state.proxies) runCatching { p.shutdown() }
        mock.shutdown()
    }
    return report
}

private suspend fun runStep(step: Map<*, *>, name: String, op: String, run: Run, state: FileState) {
    val extra = step.keys.map { it as String }.filter { it !in STEP_KEYS }
    if (extra.isNotEmpty()) throw Fail("unknown step key(s) ${extra.sorted().joinToString { "`$it`" }}")
    if (step["name"] !is String || step["op"] !is String) throw Fail("`name` and `op` must be strings")
    val expectError = step["expect_error"]
    if (expectError != null && (step.containsKey("expect") || step.containsKey("save"))) {
        throw Fail("`expect_error` together with `expect` or `save`")
    }
    val on = step["on"]?.let { n ->
        val plain = n as? String ?: throw Fail("`on` must be a plain name")
        if (plain.contains("\${")) throw Fail("`on` must be a plain name, not a reference")
        run.lookup(plain)
    }
    @Suppress("UNCHECKED_CAST")
    val args = run.resolve(step["args"] ?: emptyMap<String, Any?>()) as? Map<String, Any?>
        ?: throw Fail("`args` must be an object")
    val known = run.known

    val result: Any? = try {
        callOp(op, on, Args(args, known, name), state)
    } catch (e: AuthflowException) {
        // Section 6 first: no rendering of any error may hold a known secret.
        for ((how, text) in renderings(e)) {
            known.leakIn(text)?.let { secretName -> throw Fail("the error's $how contains $secretName") }
        }
        val code = e.code()
        val status = e.status()?.toLong()
        if (expectError == null) throw Fail("failed: code `$code`, status $status")
        checkError(run.resolve(expectError), e, code, status, known)
        return
    }
    if (expectError != null) throw Fail("succeeded, but `expect_error` wants code ${render(run.resolve((expectError as? Map<*, *>)?.get("code")), known)}")
    known.learn(result, "secret from step '$name'")

    val expect = step["expect"]
    if (expect != null) {
        val checks = expect as? Map<*, *> ?: throw Fail("`expect` must be an object")
        val failures = ArrayList<String>()
        for ((path, matcher) in checks) {
            val p = path as String
            val want = run.resolve(matcher)
            val actual = try {
                at(result, p)
            } catch (e: Fail) {
                failures += "`$p`: ${e.message}"
                continue
            }
            if (!holds(actual, want)) failures += "`$p`: expected ${render(want, known)}, got ${render(actual, known)}"
        }
        if (failures.isNotEmpty()) throw Fail(failures.joinToString("; "))
    }
    run.save(step["save"], result)
}

private fun checkError(spec: Any?, e: AuthflowException, code: String, status: Long?, known: KnownSecrets) {
    val want = spec as? Map<*, *> ?: throw Fail("`expect_error` must be an object")
    val extra = want.keys.map { it as String }.filter { it !in ERROR_KEYS }
    if (extra.isNotEmpty()) throw Fail("unknown `expect_error` key(s) ${extra.sorted().joinToString { "`$it`" }}")
    if (!want.containsKey("code") || !want.containsKey("status")) throw Fail("`expect_error` needs `code` and `status`")
    val problems = ArrayList<String>()
    if (want["code"] != code) problems += "code `$code`, expected ${render(want["code"], known)}"
    val ws = want["status"]
    if (!(ws == null && status == null) && !(ws is Long && ws == status)) {
        problems += "status $status, expected ${render(ws, known)}"
    }
    if (want.containsKey("retryable") && want["retryable"] != e.retryable()) {
        problems += "retryable ${e.retryable()}, expected ${render(want["retryable"], known)}"
    }
    if (want.containsKey("detail_contains")) {
        val s = want["detail_contains"] as? String ?: throw Fail("`detail_contains` must be a string")
        if (!e.detail().contains(s)) problems += "detail does not contain ${render(s, known)}"
    }
    if (problems.isNotEmpty()) throw Fail("wrong error: ${problems.joinToString("; ")}")
}

fun main(argv: Array<String>) {
    val files = argv.map { File(it) }.sortedBy { it.name }
    if (files.isEmpty()) {
        System.err.println("kotlin-conformance: no vector files given")
        exitProcess(1)
    }
    val reports = runBlocking { files.map { runFile(it) } }
    var failed = 0
    for (r in reports) {
        println("kotlin-conformance: ${r.file}: ${r.executed}/${r.total} steps")
        r.failure?.let {
            failed++
            System.err.println("FAILED $it")
        }
    }
    val executed = reports.sumOf { it.executed }
    val total = reports.sumOf { it.total }
    if (failed == 0 && executed != total) {
        System.err.println("FAILED executed $executed steps of $total")
        failed++
    }
    println("kotlin-conformance: $executed passed, $failed failed")
    // uniffi's tokio runtime threads are not daemons: exit explicitly.
    exitProcess(if (failed == 0) 0 else 1)
}
