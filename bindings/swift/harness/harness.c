/*
 * A C stand-in for the Swift compiler: it is compiled against the header
 * that uniffi generated for Swift (Sources/authflow_ffiFFI/authflow_ffiFFI.h)
 * and linked to the facade's cdylib, and does what the generated Swift does
 * at its lowest level:
 *
 *   1. the start-up checks of `uniffiEnsureAuthflowFfiInitialized()`: the
 *      contract version and every API checksum equal the values the
 *      generated Swift compares against (expected.h, generated from the
 *      .swift by expected_table.py);
 *   2. async calls through the rust_future poll/complete/free protocol
 *      (`MockServer.start()`, `AuthFlowClient.signUp/login`,
 *      `MockServer.shutdown()`), a callback from a Rust thread waking the
 *      caller as Swift's continuation does;
 *   3. errors through the RustCallStatus: a sync one (a malformed API key
 *      rejected by the `AuthFlowClient` constructor) and an async one (a
 *      wrong password: `unauthorized`, HTTP 401), each an `AuthflowError`
 *      object whose methods are called and whose Display is checked to
 *      hold no secret;
 *   4. object methods (`MockServer.baseUrl()`, `AuthFlowClient.baseUrl()`,
 *      `Secret.expose()`), with the handle-cloning discipline of the Swift
 *      (a method consumes the handle it is given).
 *
 * Everything it allocates (handles, RustBuffers, futures) it frees.
 * Prints `N passed, 0 failed` and exits 0, or names the failed check and
 * exits 1.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authflow_ffiFFI.h"
#include "expected.h"

static unsigned passed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "harness: FAILED %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
            exit(1);                                                       \
        }                                                                  \
        passed++;                                                          \
    } while (0)

/* ---- RustBuffer helpers -------------------------------------------------- */

static RustCallStatus ok_status(void) {
    RustCallStatus s;
    memset(&s, 0, sizeof s);
    return s;
}

/* Fail unless a call succeeded (code 0); on a panic (code 2) show it. */
static void expect_success(const char *what, RustCallStatus *s) {
    if (s->code == 2 && s->errorBuf.data) {
        fprintf(stderr, "harness: %s panicked: %.*s\n", what, (int)s->errorBuf.len,
                (const char *)s->errorBuf.data);
    }
    CHECK(s->code == 0, "%s: RustCallStatus.code = %d, expected 0", what, s->code);
}

static void free_buffer(RustBuffer b) {
    RustCallStatus s = ok_status();
    ffi_authflow_ffi_rustbuffer_free(b, &s);
    expect_success("rustbuffer_free", &s);
}

static RustBuffer buffer_from(const void *bytes, size_t len) {
    RustCallStatus s = ok_status();
    ForeignBytes fb = { .len = (int32_t)len, .data = (const uint8_t *)bytes };
    RustBuffer b = ffi_authflow_ffi_rustbuffer_from_bytes(fb, &s);
    expect_success("rustbuffer_from_bytes", &s);
    return b;
}

/* A top-level `String` argument: the UTF-8 bytes, no length prefix. */
static RustBuffer string_arg(const char *text) { return buffer_from(text, strlen(text)); }

/* A top-level `String` result, copied to a NUL-terminated C string, freed. */
static char *take_string(RustBuffer b) {
    char *out = malloc(b.len + 1);
    CHECK(out != NULL, "malloc");
    if (b.len) memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    free_buffer(b);
    return out;
}

static uint64_t read_u64_be(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

static uint32_t read_u32_be(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ---- the rust_future protocol ------------------------------------------- */

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int8_t poll_result;
};

/* UniffiRustFutureContinuationCallback: called once per poll, possibly on a
 * Rust worker thread, with the callback_data we passed. */
static void on_poll(uint64_t data, int8_t poll_result) {
    struct waiter *w = (struct waiter *)(uintptr_t)data;
    pthread_mutex_lock(&w->lock);
    w->poll_result = poll_result;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

typedef void (*poll_fn)(uint64_t, UniffiRustFutureContinuationCallback, uint64_t);

/* Poll until READY (0); WAKE (1) means "poll again", as in the Swift. */
static void await_future(uint64_t future, poll_fn poll) {
    struct waiter w = { .done = 0, .poll_result = -1 };
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    unsigned polls = 0;
    for (;;) {
        pthread_mutex_lock(&w.lock);
        w.done = 0;
        pthread_mutex_unlock(&w.lock);
        poll(future, on_poll, (uint64_t)(uintptr_t)&w);
        polls++;
        pthread_mutex_lock(&w.lock);
        while (!w.done) pthread_cond_wait(&w.cond, &w.lock);
        int8_t r = w.poll_result;
        pthread_mutex_unlock(&w.lock);
        if (r == 0) break;
        /* Not CHECKs: how often a future wakes varies, the count must not. */
        if (r != 1 || polls >= 100000) {
            fprintf(stderr, "harness: FAILED: poll result %d after %u polls (READY is 0, WAKE 1)\n", r, polls);
            exit(1);
        }
    }
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
}

/* ---- objects ------------------------------------------------------------- */

/* Methods consume the handle they get, so the Swift passes a clone. */
#define CLONE(kind, h)                                                       \
    ({                                                                       \
        RustCallStatus cs_ = ok_status();                                    \
        uint64_t c_ = uniffi_authflow_ffi_fn_clone_##kind((h), &cs_);        \
        expect_success("clone_" #kind, &cs_);                                \
        c_;                                                                  \
    })

#define FREE(kind, h)                                                        \
    do {                                                                     \
        RustCallStatus fs_ = ok_status();                                    \
        uniffi_authflow_ffi_fn_free_##kind((h), &fs_);                       \
        expect_success("free_" #kind, &fs_);                                 \
    } while (0)

static uint64_t new_secret(const char *value) {
    RustCallStatus s = ok_status();
    uint64_t h = uniffi_authflow_ffi_fn_constructor_secret_new(string_arg(value), &s);
    expect_success("Secret.new", &s);
    CHECK(h != 0, "Secret.new returned a null handle");
    return h;
}

/* The error of a failed call: an AuthflowError object, its handle written
 * (u64, big-endian) into the RustCallStatus' errorBuf. Takes the buffer. */
static uint64_t take_error(const char *what, RustCallStatus *s) {
    CHECK(s->code == 1, "%s: RustCallStatus.code = %d, expected 1 (CALL_ERROR)", what, s->code);
    CHECK(s->errorBuf.len == 8, "%s: errorBuf holds %" PRIu64 " bytes, expected an 8-byte handle",
          what, s->errorBuf.len);
    uint64_t h = read_u64_be(s->errorBuf.data);
    free_buffer(s->errorBuf);
    CHECK(h != 0, "%s: null error handle", what);
    return h;
}

static char *error_code(uint64_t err) {
    RustCallStatus s = ok_status();
    RustBuffer b = uniffi_authflow_ffi_fn_method_authflowerror_code(CLONE(authflowerror, err), &s);
    expect_success("AuthflowError.code", &s);
    return take_string(b);
}

static char *error_display(uint64_t err) {
    RustCallStatus s = ok_status();
    RustBuffer b =
        uniffi_authflow_ffi_fn_method_authflowerror_uniffi_trait_display(CLONE(authflowerror, err), &s);
    expect_success("AuthflowError Display", &s);
    return take_string(b);
}

/* ---- the checks ---------------------------------------------------------- */

static void check_contract_and_checksums(void) {
    uint32_t v = ffi_authflow_ffi_uniffi_contract_version();
    CHECK(v == EXPECTED_CONTRACT_VERSION, "contract version: library %u, generated Swift expects %u",
          v, EXPECTED_CONTRACT_VERSION);
    for (unsigned i = 0; i < EXPECTED_CHECKSUM_COUNT; i++) {
        const struct expected_checksum *c = &EXPECTED_CHECKSUMS[i];
        uint16_t got = c->fn();
        CHECK(got == c->expected, "%s() = %u, generated Swift expects %u", c->name, got, c->expected);
    }
    printf("harness: contract version %u and %u checksums match the generated Swift\n", v,
           EXPECTED_CHECKSUM_COUNT);
}

static void check_sync_error(void) {
    const char *bad_key = "not-a-key-s3cr3t";
    uint64_t key = new_secret(bad_key);
    uint8_t none = 0; /* Option<String>::None: tag byte 0 */
    RustCallStatus s = ok_status();
    /* The constructor consumes `key` (the Swift passes a clone it owns). */
    uint64_t client = uniffi_authflow_ffi_fn_constructor_authflowclient_new(key, buffer_from(&none, 1), &s);
    CHECK(client == 0, "AuthFlowClient(apiKey: malformed) returned a client");
    uint64_t err = take_error("AuthFlowClient(apiKey: malformed)", &s);
    char *code = error_code(err);
    CHECK(strcmp(code, "invalid_input") == 0, "malformed key: code %s, expected invalid_input", code);
    char *text = error_display(err);
    CHECK(strstr(text, bad_key) == NULL, "error text shows the key: %s", text);
    printf("harness: sync error via RustCallStatus: %s\n", text);
    free(code);
    free(text);
    FREE(authflowerror, err);
}

int main(void) {
    check_contract_and_checksums();
    check_sync_error();

    /* MockServer.start(): an async constructor (u64 future). */
    uint64_t fut = uniffi_authflow_ffi_fn_constructor_mockserver_start();
    await_future(fut, ffi_authflow_ffi_rust_future_poll_u64);
    RustCallStatus s = ok_status();
    uint64_t mock = ffi_authflow_ffi_rust_future_complete_u64(fut, &s);
    expect_success("MockServer.start", &s);
    ffi_authflow_ffi_rust_future_free_u64(fut);
    CHECK(mock != 0, "MockServer.start returned a null handle");

    /* Object methods. */
    s = ok_status();
    char *base_url = take_string(uniffi_authflow_ffi_fn_method_mockserver_base_url(CLONE(mockserver, mock), &s));
    expect_success("MockServer.baseUrl", &s);
    CHECK(strncmp(base_url, "http://127.0.0.1:", 17) == 0, "MockServer.baseUrl() = %s", base_url);

    s = ok_status();
    uint64_t api_key = uniffi_authflow_ffi_fn_method_mockserver_api_key(CLONE(mockserver, mock), &s);
    expect_success("MockServer.apiKey", &s);
    s = ok_status();
    char *key_text = take_string(uniffi_authflow_ffi_fn_method_secret_expose(CLONE(secret, api_key), &s));
    expect_success("Secret.expose", &s);
    CHECK(strncmp(key_text, "af_", 3) == 0 && strlen(key_text) == 35, "api key shape: %zu chars",
          strlen(key_text));

    /* AuthFlowClient(apiKey:baseUrl:) with Some(base_url): tag 1, i32 len, bytes. */
    size_t n = strlen(base_url);
    uint8_t *opt = malloc(5 + n);
    CHECK(opt != NULL, "malloc");
    opt[0] = 1;
    opt[1] = (uint8_t)(n >> 24), opt[2] = (uint8_t)(n >> 16), opt[3] = (uint8_t)(n >> 8), opt[4] = (uint8_t)n;
    memcpy(opt + 5, base_url, n);
    s = ok_status();
    uint64_t client = uniffi_authflow_ffi_fn_constructor_authflowclient_new(CLONE(secret, api_key),
                                                                          buffer_from(opt, 5 + n), &s);
    expect_success("AuthFlowClient(apiKey:baseUrl:)", &s);
    free(opt);
    s = ok_status();
    char *client_url = take_string(uniffi_authflow_ffi_fn_method_authflowclient_base_url(CLONE(authflowclient, client), &s));
    expect_success("AuthFlowClient.baseUrl", &s);
    CHECK(strncmp(client_url, base_url, n) == 0, "client base URL %s, mock %s", client_url, base_url);

    /* signUp: async, returns a Session record (RustBuffer: token handle, email). */
    const char *email = "harness@example.com";
    const char *password = "HarnessPass123!";
    uint64_t pw = new_secret(password);
    fut = uniffi_authflow_ffi_fn_method_authflowclient_sign_up(
        CLONE(authflowclient, client), string_arg(email), CLONE(secret, pw), string_arg("Harness"),
        string_arg("detective"));
    await_future(fut, ffi_authflow_ffi_rust_future_poll_rust_buffer);
    s = ok_status();
    RustBuffer session = ffi_authflow_ffi_rust_future_complete_rust_buffer(fut, &s);
    expect_success("AuthFlowClient.signUp", &s);
    ffi_authflow_ffi_rust_future_free_rust_buffer(fut);
    CHECK(session.len == 8 + 4 + strlen(email), "Session record of %" PRIu64 " bytes", session.len);
    uint64_t token = read_u64_be(session.data);
    uint32_t email_len = read_u32_be(session.data + 8);
    CHECK(email_len == strlen(email) && memcmp(session.data + 12, email, email_len) == 0,
          "Session.email is not %s", email);
    free_buffer(session);
    s = ok_status();
    char *token_text = take_string(uniffi_authflow_ffi_fn_method_secret_expose(CLONE(secret, token), &s));
    expect_success("Session.token.expose", &s);
    CHECK(strlen(token_text) > 0, "empty session token");
    FREE(secret, token);

    /* login with a wrong password: an async error through complete's status. */
    const char *wrong = "WrongPass999!";
    uint64_t wrong_pw = new_secret(wrong);
    fut = uniffi_authflow_ffi_fn_method_authflowclient_login(CLONE(authflowclient, client), string_arg(email),
                                                             CLONE(secret, wrong_pw), string_arg("detective"));
    await_future(fut, ffi_authflow_ffi_rust_future_poll_rust_buffer);
    s = ok_status();
    RustBuffer outcome = ffi_authflow_ffi_rust_future_complete_rust_buffer(fut, &s);
    ffi_authflow_ffi_rust_future_free_rust_buffer(fut);
    CHECK(outcome.len == 0, "failed login returned a %" PRIu64 "-byte outcome", outcome.len);
    uint64_t err = take_error("AuthFlowClient.login(wrong password)", &s);
    char *code = error_code(err);
    CHECK(strcmp(code, "unauthorized") == 0, "wrong password: code %s, expected unauthorized", code);
    s = ok_status();
    RustBuffer status = uniffi_authflow_ffi_fn_method_authflowerror_status(CLONE(authflowerror, err), &s);
    expect_success("AuthflowError.status", &s);
    /* Option<u16>: tag 1, then big-endian u16. */
    CHECK(status.len == 3 && status.data[0] == 1 && ((status.data[1] << 8) | status.data[2]) == 401,
          "AuthflowError.status is not Some(401)");
    free_buffer(status);
    char *text = error_display(err);
    const char *secrets[] = { password, wrong, key_text, token_text };
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
        CHECK(strstr(text, secrets[i]) == NULL, "error text shows secret #%zu: %s", i, text);
    }
    printf("harness: async error via rust_future_complete: %s\n", text);
    free(code);
    free(text);
    FREE(authflowerror, err);

    /* MockServer.shutdown(): an async method returning nothing. */
    fut = uniffi_authflow_ffi_fn_method_mockserver_shutdown(CLONE(mockserver, mock));
    await_future(fut, ffi_authflow_ffi_rust_future_poll_void);
    s = ok_status();
    ffi_authflow_ffi_rust_future_complete_void(fut, &s);
    expect_success("MockServer.shutdown", &s);
    ffi_authflow_ffi_rust_future_free_void(fut);

    FREE(secret, wrong_pw);
    FREE(secret, pw);
    FREE(authflowclient, client);
    FREE(secret, api_key);
    FREE(mockserver, mock);
    free(base_url);
    free(client_url);
    free(key_text);
    free(token_text);

    printf("harness: %u passed, 0 failed\n", passed);
    return 0;
}
