#!/usr/bin/env bash
# Build the Rust library the Swift package links (macOS, with Xcode).
#
#   ./build-rust.sh               release static library for this Mac,
#                                 copied to lib/libauthflow_ffi.a (for `swift test`)
#   ./build-rust.sh xcframework   release static libraries for macOS (arm64 +
#                                 x86_64), iOS (arm64) and the iOS simulator
#                                 (arm64 + x86_64), packed with the header and
#                                 modulemap into AuthFlowFFI.xcframework
#
# Not run by this repository's CI (Linux, no Xcode): see README.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

case "${1:-host}" in
host)
    cargo build -p authflow-ffi --release --locked
    mkdir -p "$HERE/lib"
    # Only the static library goes in lib/: with a .dylib beside it the
    # linker would pick the dylib, which then has to be found at run time.
    cp target/release/libauthflow_ffi.a "$HERE/lib/"
    echo "built $HERE/lib/libauthflow_ffi.a"
    ;;
xcframework)
    TARGETS=(aarch64-apple-darwin x86_64-apple-darwin aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
    rustup target add "${TARGETS[@]}"
    for t in "${TARGETS[@]}"; do
        cargo build -p authflow-ffi --release --locked --target "$t"
    done
    OUT="$ROOT/target/swift-xcframework"
    rm -rf "$OUT" "$HERE/AuthFlowFFI.xcframework"
    mkdir -p "$OUT/macos" "$OUT/ios-sim" "$OUT/headers"
    lipo -create -output "$OUT/macos/libauthflow_ffi.a" \
        target/aarch64-apple-darwin/release/libauthflow_ffi.a \
        target/x86_64-apple-darwin/release/libauthflow_ffi.a
    lipo -create -output "$OUT/ios-sim/libauthflow_ffi.a" \
        target/aarch64-apple-ios-sim/release/libauthflow_ffi.a \
        target/x86_64-apple-ios/release/libauthflow_ffi.a
    cp "$HERE/Sources/authflow_ffiFFI/authflow_ffiFFI.h" "$OUT/headers/"
    # Inside an xcframework the library is linked by SwiftPM itself: drop
    # the modulemap's `link` line.
    grep -v '^ *link "authflow_ffi"$' "$HERE/Sources/authflow_ffiFFI/module.modulemap" \
        > "$OUT/headers/module.modulemap"
    xcodebuild -create-xcframework \
        -library "$OUT/macos/libauthflow_ffi.a" -headers "$OUT/headers" \
        -library target/aarch64-apple-ios/release/libauthflow_ffi.a -headers "$OUT/headers" \
        -library "$OUT/ios-sim/libauthflow_ffi.a" -headers "$OUT/headers" \
        -output "$HERE/AuthFlowFFI.xcframework"
    echo "built $HERE/AuthFlowFFI.xcframework"
    ;;
*)
    echo "usage: ./build-rust.sh [host|xcframework]" >&2
    exit 2
    ;;
esac
