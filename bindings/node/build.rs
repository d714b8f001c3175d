//! Node-API link setup for the addon.

fn main() {
    napi_build::setup();
}
