// swift-tools-version:5.9
//
// AuthFlow for Swift: the uniffi-generated binding of the Rust facade
// (bindings/ffi, crate `authflow-ffi`). See README.md for building the Rust
// library first.
//
// Targets:
//   AuthFlow         the generated Swift API (Sources/AuthFlow/authflow_ffi.swift,
//                    written by scripts/gen-swift; do not edit)
//   authflow_ffiFFI  the C module of the Rust scaffolding, one of:
//     - AuthFlowFFI.xcframework, when it exists next to this file
//       (`./build-rust.sh xcframework`: macOS + iOS + iOS simulator static
//       libraries with the header and modulemap inside): a binary target,
//       usable from apps and other packages;
//     - otherwise Sources/authflow_ffiFFI (generated header + module.modulemap,
//       whose `link "authflow_ffi"` links libauthflow_ffi): a system-library
//       target, the Rust static library found in ./lib
//       (`./build-rust.sh`) or in $AUTHFLOW_RUST_LIB_DIR. This form passes
//       `-L` as an unsafe flag, so it is for working in this repository
//       (`swift test`), not for depending on the package from elsewhere.
//   AuthFlowTests    `swift test`: sign up and log in against the in-process mock.
import Foundation
import PackageDescription

let packageDir = Context.packageDirectory
let useXCFramework = FileManager.default.fileExists(atPath: "\(packageDir)/AuthFlowFFI.xcframework")
let rustLibDir = Context.environment["AUTHFLOW_RUST_LIB_DIR"] ?? "\(packageDir)/lib"

let ffiTarget: Target = useXCFramework
    ? .binaryTarget(name: "authflow_ffiFFI", path: "AuthFlowFFI.xcframework")
    : .systemLibrary(name: "authflow_ffiFFI", path: "Sources/authflow_ffiFFI")

// What the Rust static library needs from the system (rustls' platform
// verifier and reqwest use Security / CoreFoundation / SystemConfiguration).
var linkerSettings: [LinkerSetting] = [
    .linkedFramework("Security"),
    .linkedFramework("CoreFoundation"),
    .linkedFramework("SystemConfiguration"),
]
if !useXCFramework {
    linkerSettings.append(.unsafeFlags(["-L", rustLibDir]))
}

let package = Package(
    name: "AuthFlow",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [
        .library(name: "AuthFlow", targets: ["AuthFlow"]),
    ],
    targets: [
        ffiTarget,
        .target(
            name: "AuthFlow",
            dependencies: ["authflow_ffiFFI"],
            path: "Sources/AuthFlow",
            linkerSettings: linkerSettings
        ),
        .testTarget(
            name: "AuthFlowTests",
            dependencies: ["AuthFlow"],
            path: "Tests/AuthFlowTests"
        ),
    ]
)
