// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0335-existential-any.md
    .enableUpcomingFeature("ExistentialAny")
]

// The benchmarks are their own package, like Examples/server: the library's manifest carries no
// benchmark target, and the benchmark sees only the library's public API.
let package = Package(
    name: "stt-benchmarks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "stt-benchmark", targets: ["STTBenchmark"])
    ],
    dependencies: [
        // the library, from this repository
        .package(name: "swift-streaming-stt", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // the library's metrics dependency; its test backend records `client --metrics`
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    ],
    targets: [
        // libsndfile, for writing the audio files the audio benchmark decodes.
        .systemLibrary(
            name: "CBenchmarkSndFile",
            path: "CBenchmarkSndFile",
            pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]
        ),
        .executableTarget(
            name: "STTBenchmark",
            dependencies: [
                "CBenchmarkSndFile",
                .product(name: "StreamingSTT", package: "swift-streaming-stt"),
                .product(name: "StreamingSTTTesting", package: "swift-streaming-stt"),
                .product(name: "StreamingSTTWebSocket", package: "swift-streaming-stt"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "STTBenchmark",
            swiftSettings: swiftSettings
        ),
    ]
)
