// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Lifeboat",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lifeboat", targets: ["lifeboat"]),
        .library(name: "LifeboatCore", targets: ["LifeboatCore"]),
    ],
    dependencies: [
        // Exact versions: Lifeboat is an application, so every build uses the same ones.
        // (Package.resolved is not committed: see CONTRIBUTING.md, "Dependencies".)
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Headers only: libpq itself is loaded on first use (Sources/CLibPQ/shim.h).
        .systemLibrary(name: "CLibPQ", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CTLS", pkgConfig: "libssl", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "LifeboatCore",
            dependencies: [
                "CArchive", "CZlib", "CCrypto", "CLibPQ", "CZstd", "CTLS",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "lifeboat",
            dependencies: [
                "LifeboatCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // In-memory storage with fault injection and the storage conformance checks, shared by
        // both test targets.
        .target(name: "LifeboatTestSupport", dependencies: ["LifeboatCore"], path: "Tests/LifeboatTestSupport"),
        .testTarget(name: "LifeboatCoreTests", dependencies: ["LifeboatCore", "LifeboatTestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["LifeboatCore", "LifeboatTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
