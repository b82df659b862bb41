// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0335-existential-any.md
    .enableUpcomingFeature("ExistentialAny")
]

let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let hummingbirdCore: Target.Dependency = .product(name: "HummingbirdCore", package: "hummingbird")
let hummingbirdTLS: Target.Dependency = .product(name: "HummingbirdTLS", package: "hummingbird")
let nioSSL: Target.Dependency = .product(name: "NIOSSL", package: "swift-nio-ssl")
let hummingbirdWebSocket: Target.Dependency = .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let serviceLifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")
let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOWebSocket", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "HTTPTypes", package: "swift-http-types"),
]
// The transcriber without audio devices, files or resampling: the relay receives audio in the
// wire format, so the server links neither ALSA nor libsndfile nor soxr.
let streamingSTT: Target.Dependency = .product(name: "StreamingSTTCore", package: "swift-streaming-stt")

let package = Package(
    name: "stt-server-example",
    platforms: [.macOS(.v15)],
    products: [
        // The relay as a library: an existing Hummingbird 2 application mounts it on its router.
        .library(name: "TranscriptionRelay", targets: ["TranscriptionRelay"]),
        .executable(name: "stt-server", targets: ["stt-server"]),
    ],
    dependencies: [
        // in a real project this would be
        // .package(url: "https://github.com/swift-streaming-stt/swift-streaming-stt", from: "0.1.0")
        .package(name: "swift-streaming-stt", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // MARK: - Targets
        .target(
            name: "TranscriptionRelay",
            dependencies: [
                streamingSTT, hummingbird, hummingbirdCore, hummingbirdTLS, hummingbirdWebSocket, logging,
                serviceLifecycle, nioSSL, metrics, prometheus,
            ]
                + nio,
            resources: [.copy("Public")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "stt-server",
            dependencies: [
                "TranscriptionRelay", streamingSTT, hummingbird, logging, serviceLifecycle, metrics, prometheus,
                .product(name: "StreamingSTTTesting", package: "swift-streaming-stt"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        .testTarget(
            name: "TranscriptionRelayTests",
            dependencies: [
                "TranscriptionRelay", streamingSTT, hummingbird, logging, serviceLifecycle, nioSSL, metrics, prometheus,
                hummingbirdWebSocket,
                .product(name: "StreamingSTTTesting", package: "swift-streaming-stt"),
                .product(name: "StreamingSTTWebSocket", package: "swift-streaming-stt"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
