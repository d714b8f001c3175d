//! `uniffi-bindgen`: uniffi's bindings generator, pinned to the workspace's
//! uniffi version so generated code and the facade's scaffolding always
//! agree (contract version and checksums).
//!
//! ```text
//! cargo run -q -p uniffi-bindgen -- generate --no-format \
//!     --library target/debug/libauthflow_ffi.so --language swift --out-dir OUT
//! ```

fn main() {
    uniffi::uniffi_bindgen_main();
}
