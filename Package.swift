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
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
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
        .testTarget(name: "LifeboatCoreTests", dependencies: ["LifeboatCore"]),
        .testTarget(name: "IntegrationTests", dependencies: ["LifeboatCore"]),
    ],
    swiftLanguageModes: [.v6]
)
