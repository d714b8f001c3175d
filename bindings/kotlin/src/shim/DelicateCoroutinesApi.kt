// Debian's libkotlinx-coroutines-java is kotlinx.coroutines 1.0.1, older than
// the `DelicateCoroutinesApi` opt-in marker (1.5) that uniffi's generated
// Kotlin imports (and does not otherwise use). This declares the marker so
// the generated file compiles against that jar; with kotlinx.coroutines
// >= 1.5 on the classpath, leave this file out.
package kotlinx.coroutines

/** Stand-in for kotlinx.coroutines' opt-in marker of the same name. */
@RequiresOptIn
@Retention(AnnotationRetention.BINARY)
annotation class DelicateCoroutinesApi
