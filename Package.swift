// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0335-existential-any.md
    .enableUpcomingFeature("ExistentialAny")
]

let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")

/// The C targets the audio sources need (ALSA, resampler, file decoder).
let audioDependencies: [Target.Dependency] = ["CALSA", "CSoxr", "CSndFile", "CSTTAudioShim"]

let package = Package(
    name: "swift-streaming-stt",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "StreamingSTT", targets: ["StreamingSTT"]),
        .library(name: "StreamingSTTTesting", targets: ["StreamingSTTTesting"]),
        .executable(name: "transcribe", targets: ["transcribe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - C
        .systemLibrary(
            name: "CLibWebSockets",
            pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev"])]
        ),
        .target(
            name: "CSTTShim",
            dependencies: ["CLibWebSockets"],
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto"), .linkedLibrary("pthread")]
        ),
        // The test server (listening loops, HTTP answers, test certificates) over CSTTShim's
        // internal hooks; only StreamingSTTTesting links it (checked by scripts/check-client-symbols).
        .target(
            name: "CSTTTestServer",
            dependencies: ["CSTTShim", "CLibWebSockets"],
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),

        // MARK: - Audio C libraries (owned by the audio work; add ALSA/soxr/sndfile targets here)
        .systemLibrary(name: "CALSA", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
        .systemLibrary(name: "CSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .target(name: "CSTTAudioShim", dependencies: ["CALSA"]),

        // MARK: - Library
        // The vendors' protocols as pure state machines: no sockets, tasks, clocks or C.
        .target(
            name: "StreamingSTTProtocol",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StreamingSTT",
            dependencies: ["StreamingSTTProtocol", "CSTTShim", logging] + audioDependencies,
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StreamingSTTTesting",
            dependencies: ["StreamingSTT", "CSTTShim", "CSTTTestServer", logging],
            swiftSettings: swiftSettings
        ),

        // MARK: - Executables
        .executableTarget(
            name: "transcribe",
            dependencies: [
                "StreamingSTT", "StreamingSTTTesting", logging,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/transcribe",
            exclude: ["Resources"],
            swiftSettings: swiftSettings
        ),
        // A client program: StreamingSTT alone (scripts/check-client-symbols checks its binary).
        .executableTarget(
            name: "quickstart",
            dependencies: ["StreamingSTT"],
            path: "Examples/quickstart",
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        // The protocol core, table-driven, without sockets.
        .testTarget(
            name: "StreamingSTTProtocolTests",
            dependencies: ["StreamingSTTProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StreamingSTTTests",
            dependencies: ["StreamingSTT", "StreamingSTTTesting", logging],
            swiftSettings: swiftSettings
        ),
    ]
)

// MARK: - Fuzzing (only with STT_FUZZ set; see scripts/fuzz)

// libFuzzer targets: built with `-sanitize=fuzzer`, which provides `main`, so they are left out
// of ordinary builds.
if Context.environment["STT_FUZZ"] != nil {
    for name in ["FuzzAssemblyAI", "FuzzSpeechmatics", "FuzzJSON"] {
        package.targets.append(
            .executableTarget(
                name: name,
                dependencies: ["StreamingSTTProtocol"],
                path: "Fuzz/\(name)",
                swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]
            ))
    }
}

// MARK: - Documentation

// swift-docc-plugin is resolved only when the docs are built, so ordinary builds never fetch it:
//   STT_DOCS=1 swift package generate-documentation --target StreamingSTT
if Context.environment["STT_DOCS"] != nil {
    package.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"))
}
