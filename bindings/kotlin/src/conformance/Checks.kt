// References (README section 2), paths, matchers (section 5) and the set of
// known secrets (section 6).
package authflow.conformance

/** The exposed values of every secret seen in the run, each with a name to report. */
class KnownSecrets {
    private val names = LinkedHashMap<String, String>()

    fun add(value: String, name: String) {
        if (value.length >= 6 && value !in names) names[value] = name
    }

    /** Every secret inside `v` (lists, maps, the readable fields of handles). */
    fun learn(v: Any?, name: String) {
        when (v) {
            is SecretV -> add(v.value, name)
            is List<*> -> v.forEach { learn(it, name) }
            is Map<*, *> -> v.values.forEach { learn(it, name) }
            is Handle -> v.fields().values.forEach { learn(it, name) }
        }
    }

    /** The name of a known secret `text` contains, if any. */
    fun leakIn(text: String): String? = names.entries.firstOrNull { text.contains(it.key) }?.value

    fun isSecretText(text: String): Boolean = leakIn(text) != null
}

/** A value as a failure message may show it: secrets as `[REDACTED]`. */
fun render(v: Any?, known: KnownSecrets): String = when (v) {
    null -> "null"
    is SecretV -> "[REDACTED]"
    is String -> if (known.isSecretText(v)) "[REDACTED]" else com.google.gson.Gson().toJson(v)
    is List<*> -> v.joinToString(", ", "[", "]") { render(it, known) }
    is Map<*, *> -> v.entries.joinToString(", ", "{", "}") { (k, x) -> "\"$k\": ${render(x, known)}" }
    else -> v.toString()
}

// ------------------------------------------------------------------ paths

fun field(v: Any?, seg: String): Any? = when (v) {
    is Map<*, *> -> if (v.containsKey(seg)) v[seg] else throw Fail("no field `$seg`")
    is List<*> -> {
        val i = seg.toIntOrNull()
        if (i == null || i < 0 || !seg.all { it.isDigit() }) throw Fail("`$seg` is not an index into a list")
        if (i >= v.size) throw Fail("index $i is out of range (length ${v.size})")
        v[i]
    }
    is Handle -> {
        val f = v.fields()
        if (f.containsKey(seg)) f[seg] else throw Fail("a ${v.type} has no readable field `$seg`")
    }
    is SecretV -> throw Fail("field `$seg` of a secret")
    else -> throw Fail("field `$seg` of a ${kind(v)}")
}

/** The value at `path` relative to `v` (`"$"` = `v`). */
fun at(v: Any?, path: String): Any? {
    if (path == "$") return v
    var cur = v
    for (seg in path.split('.')) cur = field(cur, seg)
    return cur
}

// ---------------------------------------------------------------- matching

private fun number(v: Any?): Double? = when (v) {
    is Long -> v.toDouble()
    is Double -> v
    else -> null
}

fun equal(a: Any?, b: Any?): Boolean {
    if (a is Long && b is Long) return a == b
    val na = number(a)
    val nb = number(b)
    if (na != null || nb != null) return na != null && nb != null && na == nb
    return when (a) {
        null -> b == null
        is SecretV -> when (b) {
            is SecretV -> a.value == b.value
            is String -> a.value == b
            else -> false
        }
        is String -> when (b) {
            is String -> a == b
            is SecretV -> a == b.value
            else -> false
        }
        is Boolean -> b is Boolean && a == b
        is List<*> -> b is List<*> && a.size == b.size && a.indices.all { equal(a[it], b[it]) }
        is Map<*, *> -> b is Map<*, *> && a.keys == b.keys && a.keys.all { equal(a[it], b[it]) }
        is Handle -> b is Handle && a.obj === b.obj
        else -> false
    }
}

private fun length(v: Any?): Int? = when (v) {
    is String -> v.codePointCount(0, v.length)
    is SecretV -> v.value.let { it.codePointCount(0, it.length) }
    is List<*> -> v.size
    is Map<*, *> -> v.size
    else -> null
}

private fun text(v: Any?): String? = when (v) {
    is String -> v
    is SecretV -> v.value
    else -> null
}

private val TYPES = setOf("null", "bool", "int", "float", "string", "secret", "list", "map", "handle")

/** An operator object: exactly one key, starting with `$`. */
fun isOperator(m: Any?): Boolean = m is Map<*, *> && m.size == 1 && (m.keys.first() as String).startsWith("$")

/** Whether `actual` satisfies `matcher` (already resolved). */
fun holds(actual: Any?, matcher: Any?): Boolean {
    if (!isOperator(matcher)) return equal(actual, matcher)
    val (op, arg) = (matcher as Map<*, *>).entries.first()
    return when (op) {
        "\$type" -> {
            val t = arg as? String ?: throw Fail("`\$type` takes a string")
            if (t !in TYPES) throw Fail("unknown `\$type` $t")
            kind(actual) == t || (t == "float" && actual is Long)
        }
        "\$ne" -> !equal(actual, arg)
        "\$len" -> length(actual)?.toLong() == (arg as? Long ?: throw Fail("`\$len` takes an int"))
        "\$min_len" -> {
            val n = arg as? Long ?: throw Fail("`\$min_len` takes an int")
            (length(actual) ?: return false) >= n
        }
        "\$starts_with" -> {
            val s = arg as? String ?: throw Fail("`\$starts_with` takes a string")
            text(actual)?.startsWith(s) ?: false
        }
        "\$contains" -> {
            val s = arg as? String ?: throw Fail("`\$contains` takes a string")
            if (actual is List<*>) actual.any { equal(it, s) } else text(actual)?.contains(s) ?: false
        }
        "\$gte" -> {
            val n = number(arg) ?: throw Fail("`\$gte` takes a number")
            val x = number(actual) ?: return false
            x >= n
        }
        "\$in" -> {
            val options = arg as? List<*> ?: throw Fail("`\$in` takes a list")
            options.any { equal(actual, it) }
        }
        else -> throw Fail("unknown matcher `$op`")
    }
}
