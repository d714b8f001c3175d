// The language-neutral value model of tests/conformance/README.md (section
// 3.1) in Kotlin, and its conversions from JSON and from the generated
// binding (package uniffi.authflow_ffi).
//
//   null, Boolean, Long (every int), Double (every float), String,
//   List<Any?>, Map<String, Any?> (records: snake_case field names),
//   SecretV (a facade Secret), Handle (a facade object with methods).
package authflow.conformance

import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonNull
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import com.google.gson.JsonPrimitive
import uniffi.authflow_ffi.Challenge
import uniffi.authflow_ffi.ConsumerSession
import uniffi.authflow_ffi.LoginOutcome
import uniffi.authflow_ffi.ProxyServer
import uniffi.authflow_ffi.Secret

/** A failure of the runner or of a check; its message never holds a secret value. */
class Fail(message: String) : Exception(message)

/** A facade `Secret`: compared by its exposed value, never printed. */
class SecretV(val secret: Secret) {
    val value: String get() = secret.expose()
    override fun toString(): String = "[REDACTED]"
}

/** A facade object with methods (`AuthFlowClient`, `Challenge`, …). */
class Handle(val type: String, val obj: Any) {
    override fun toString(): String = "<$type>"

    /** The readable fields of a handle (README sections 7 and 9). */
    fun fields(): Map<String, Any?> = when (obj) {
        is Challenge -> linkedMapOf(
            "user" to fromFacade(obj.user()),
            "temp_token" to SecretV(obj.tempToken()),
            "request_id" to obj.requestId(),
        )
        is ConsumerSession -> linkedMapOf(
            "consumer_id" to obj.consumerId(),
            "org_id" to obj.orgId(),
            "project_id" to obj.projectId(),
            "expires_at" to obj.expiresAt(),
            "session_token" to SecretV(obj.sessionToken()),
        )
        is ProxyServer -> linkedMapOf("base_url" to obj.baseUrl())
        else -> emptyMap()
    }
}

fun kind(v: Any?): String = when (v) {
    null -> "null"
    is Boolean -> "bool"
    is Long -> "int"
    is Double -> "float"
    is String -> "string"
    is SecretV -> "secret"
    is List<*> -> "list"
    is Map<*, *> -> "map"
    is Handle -> "handle"
    else -> "unknown ${v.javaClass.simpleName}"
}

// ---------------------------------------------------------------- JSON

fun fromJson(e: JsonElement?): Any? = when {
    e == null || e.isJsonNull -> null
    e.isJsonPrimitive -> {
        val p = e.asJsonPrimitive
        when {
            p.isBoolean -> p.asBoolean
            p.isString -> p.asString
            else -> {
                val text = p.asString
                if (text.any { it == '.' || it == 'e' || it == 'E' }) p.asDouble
                else text.toLongOrNull() ?: p.asDouble
            }
        }
    }
    e.isJsonArray -> e.asJsonArray.map { fromJson(it) }
    else -> LinkedHashMap<String, Any?>().also { m ->
        for ((k, v) in e.asJsonObject.entrySet()) m[k] = fromJson(v)
    }
}

fun toJson(v: Any?): JsonElement = when (v) {
    null -> JsonNull.INSTANCE
    is Boolean -> JsonPrimitive(v)
    is Long -> JsonPrimitive(v)
    is Double -> JsonPrimitive(v)
    is String -> JsonPrimitive(v)
    is List<*> -> JsonArray().also { a -> v.forEach { a.add(toJson(it)) } }
    is Map<*, *> -> JsonObject().also { o -> v.forEach { (k, x) -> o.add(k as String, toJson(x)) } }
    else -> throw Fail("a ${kind(v)} is not JSON")
}

/** JSON text from the facade (`graph_json`, `data_json`): parsed, or kept as a string. */
fun jsonText(s: String): Any? =
    try {
        fromJson(JsonParser.parseString(s))
    } catch (_: Exception) {
        s
    }

// ------------------------------------------------------- from the binding

private fun snake(camel: String): String = buildString {
    for (c in camel) {
        if (c.isUpperCase()) {
            append('_')
            append(c.lowercaseChar())
        } else {
            append(c)
        }
    }
}

private val HANDLE_TYPES = setOf(
    "AuthFlowClient", "Challenge", "FlowsClient", "AidenIdClient", "ConsumerClient",
    "ConsumerSession", "InboxEvents", "ProxyServer", "MockServer",
)

/**
 * A value of the generated binding in the value model: records (data
 * classes) become maps with the Rust facade's snake_case field names
 * (read by reflection, so new records need no code here), `*_json` text
 * fields are parsed, unsigned and signed integers become Long.
 */
fun fromFacade(x: Any?): Any? = when (x) {
    null -> null
    is Unit -> null
    is Secret -> SecretV(x)
    is String, is Boolean -> x
    is Byte -> x.toLong()
    is Short -> x.toLong()
    is Int -> x.toLong()
    is Long -> x
    is UByte -> x.toLong()
    is UShort -> x.toLong()
    is UInt -> x.toLong()
    is ULong -> x.toLong()
    is Float -> x.toDouble()
    is Double -> x
    is List<*> -> x.map { fromFacade(it) }
    is LoginOutcome.Session -> linkedMapOf("outcome" to "session", "session" to fromFacade(x.session))
    is LoginOutcome.TwoFactorRequired ->
        linkedMapOf("outcome" to "two_factor_required", "challenge" to Handle("Challenge", x.challenge))
    else -> {
        val cls = x.javaClass
        when {
            cls.simpleName in HANDLE_TYPES -> Handle(cls.simpleName, x)
            cls.packageName == "uniffi.authflow_ffi" -> record(x)
            else -> throw Fail("the binding returned an unexpected ${cls.name}")
        }
    }
}

private fun record(x: Any): Map<String, Any?> {
    val out = LinkedHashMap<String, Any?>()
    for (f in x.javaClass.declaredFields) {
        if (java.lang.reflect.Modifier.isStatic(f.modifiers) || f.isSynthetic) continue
        f.isAccessible = true
        val name = snake(f.name)
        val value = fromFacade(f.get(x))
        out[name] = if (name.endsWith("_json") && value is String) jsonText(value) else value
    }
    return out
}
