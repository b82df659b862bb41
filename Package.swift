// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0335-existential-any.md
    .enableUpcomingFeature("ExistentialAny")
]

let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "CoreMetrics", package: "swift-metrics")
let tracing: Target.Dependency = .product(name: "Tracing", package: "swift-distributed-tracing")
let serviceLifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")

let package = Package(
    name: "swift-streaming-stt",
    platforms: [.macOS(.v15)],
    products: [
        // Everything: the transcriber, both providers, and audio from microphones, files and
        // buffers in any format (links ALSA, libsndfile and soxr).
        .library(name: "StreamingSTT", targets: ["StreamingSTT"]),
        // The transcriber and both providers with audio given in the wire format: for servers
        // that never touch a microphone (links neither ALSA nor libsndfile nor soxr).
        .library(name: "StreamingSTTCore", targets: ["StreamingSTTCore"]),
        // The WebSocket and HTTP client over libwebsockets the transcriber uses.
        .library(name: "StreamingSTTWebSocket", targets: ["StreamingSTTWebSocket"]),
        // The emulator of both services and a test WebSocket server, for tests.
        .library(name: "StreamingSTTTesting", targets: ["StreamingSTTTesting"]),
        .executable(name: "transcribe", targets: ["transcribe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Opt-in observability and lifecycle (StreamingSTTCore): no-op unless the program
        // bootstraps a metrics backend or a tracer, or runs the transcription service in a
        // ServiceGroup.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
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

        // MARK: - Audio C libraries
        .systemLibrary(name: "CALSA", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
        .systemLibrary(name: "CSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .target(name: "CSTTAudioShim", dependencies: ["CALSA"]),

        // MARK: - Library
        // The layers, each a module, so that the compiler refuses what they must not use
        // (scripts/check-layers builds with undeclared imports as errors):
        //   StreamingSTTSupport (locks, queues) ← every Swift target below
        //   StreamingSTTProtocol: the vendors' protocols as pure state machines (no sockets,
        //     tasks, clocks, C or audio)
        //   StreamingSTTWebSocket: the WebSocket/HTTP client over CSTTShim
        //   StreamingSTTAudio: audio formats, buffers and sources in Swift alone
        //   StreamingSTTAudioIO: ALSA capture, files (libsndfile), resampling (soxr)
        //   StreamingSTTCore: the transcriber, over Protocol, WebSocket and Audio
        //   StreamingSTT: Core and AudioIO, with conversion of any audio
        //   StreamingSTTTesting: the emulator, over WebSocket and the test server alone (its
        //     reading and writing of vendor messages never uses the client's protocol code)
        .target(
            name: "StreamingSTTSupport",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StreamingSTTProtocol",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StreamingSTTWebSocket",
            dependencies: ["StreamingSTTSupport", "CSTTShim", logging],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StreamingSTTAudio",
            dependencies: ["StreamingSTTSupport"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StreamingSTTAudioIO",
            dependencies: [
                "StreamingSTTAudio", "StreamingSTTSupport", "CALSA", "CSoxr", "CSndFile", "CSTTAudioShim", logging,
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StreamingSTTCore",
            dependencies: [
                "StreamingSTTProtocol", "StreamingSTTWebSocket", "StreamingSTTAudio", "StreamingSTTSupport", logging,
                metrics, tracing, serviceLifecycle,
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StreamingSTT",
            dependencies: ["StreamingSTTCore", "StreamingSTTAudioIO", "StreamingSTTAudio", "StreamingSTTSupport"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StreamingSTTTesting",
            dependencies: ["StreamingSTTWebSocket", "StreamingSTTSupport", "CSTTShim", "CSTTTestServer", logging],
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
            dependencies: [
                "StreamingSTT", "StreamingSTTCore", "StreamingSTTProtocol", "StreamingSTTWebSocket",
                "StreamingSTTAudio", "StreamingSTTAudioIO", "StreamingSTTSupport", "StreamingSTTTesting", "CSTTShim",
                logging, metrics, tracing, serviceLifecycle,
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
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

// swift-docc-plugin (`swift package generate-documentation`) is declared only while documentation
// is built, so that neither ordinary builds nor the packages that depend on this one resolve it:
// - scripts/docs sets STT_DOCS;
// - Swift Package Index sets SPI_GENERATE_DOCS when it builds the documentation .spi.yml asks for.
//   The index adds the plugin itself only to a manifest whose text does not name the plugin's URL;
//   this one names it (behind this condition), so without SPI_GENERATE_DOCS here the index would
//   run `generate-documentation` with no plugin to provide it.
// An unconditional dependency would serve both as well, but every build of this package would
// then resolve (clone) the plugin and swift-docc-symbolkit for nothing, and so could the packages
// that depend on this one.
if Context.environment["STT_DOCS"] != nil || Context.environment["SPI_GENERATE_DOCS"] != nil {
    package.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"))
}
