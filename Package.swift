// swift-tools-version:6.1
// Tailor: fine-tune, evaluate and run pretrained language models in-process on a CPU.
import PackageDescription

let package = Package(
    name: "Tailor",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Tailor", targets: ["Tailor"]),
        .library(name: "TailorTensor", targets: ["Tensor"]),
        .library(name: "TailorQuant", targets: ["Quant"]),
        .library(name: "TailorModel", targets: ["Model"]),
        .library(name: "TailorPEFT", targets: ["PEFT"]),
        .library(name: "TailorTrain", targets: ["Train"]),
        .library(name: "TailorGenerate", targets: ["Generate"]),
        .library(name: "TailorServe", targets: ["Serve"]),
        // Data-parallel training over MPI; the only product that needs Open MPI (libopenmpi-dev).
        .library(name: "TailorDistributed", targets: ["TailorDistributed"]),
        .executable(name: "tailor", targets: ["tailor"]),
        .executable(name: "tailor-bench", targets: ["tailor-bench"]),
        .executable(name: "tailor-finetune-demo", targets: ["tailor-finetune-demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The server (`Serve`, `tailor serve`) only; the library modules stay free of them.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Logging: the server's, and the batch scheduler's (silent unless given a logger).
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Open MPI's C API (Debian: libopenmpi-dev), for TailorDistributed only.
        .systemLibrary(
            name: "CMPI",
            path: "Sources/CMPI",
            pkgConfig: "ompi",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        // Hot kernels BLAS does not cover, compiled per function for AVX2/FMA and chosen at run time.
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "Quant", dependencies: ["Tensor", "CKernels"]),
        .target(name: "Model", dependencies: ["Tensor", "Quant"]),
        .target(name: "PEFT", dependencies: ["Tensor", "Model"]),
        .target(name: "Train", dependencies: ["Tensor", "Model", "PEFT", "Generate"]),
        .target(name: "Generate", dependencies: ["Tensor", "Model", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Tailor", dependencies: ["Tensor", "Quant", "Model", "PEFT", "Train", "Generate"]),
        // Data-parallel training: Train's `TrainingCommunicator` over MPI all-reduce.
        .target(name: "TailorDistributed", dependencies: ["CMPI", "Tensor", "Train"]),
        // OpenAI-compatible HTTP server with continuous batching (`tailor serve`).
        .target(
            name: "Serve",
            dependencies: [
                "Tailor",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .executableTarget(
            name: "tailor",
            dependencies: [
                "Tailor", "Serve", "TailorDistributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/tailor"
        ),
        .executableTarget(
            name: "tailor-bench",
            dependencies: ["Tailor", "CBLAS", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/tailor-bench"
        ),

        // Fuzz harnesses (Scripts/fuzz.sh builds tailor-fuzz with libFuzzer; normally it replays files).
        .target(name: "FuzzHarnesses", dependencies: ["Model", "Quant", "Tensor", "PEFT", "Train"], path: "Fuzz/Harnesses"),
        .executableTarget(name: "tailor-fuzz", dependencies: ["FuzzHarnesses"], path: "Fuzz/tailor-fuzz"),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .executableTarget(
            name: "tailor-finetune-demo",
            dependencies: ["Tailor", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/tailor-finetune-demo"
        ),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "CKernels", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "QuantTests", dependencies: ["Quant", "CKernels", "Model", "PEFT", "Train", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "PEFTTests", dependencies: ["PEFT", "Model", "Train", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TrainTests", dependencies: ["Train", "PEFT", "Model", "Generate", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "GenerateTests", dependencies: ["Generate", "Model", "PEFT", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzHarnesses"], exclude: ["Fixtures"]),
        .testTarget(name: "DistributedTests", dependencies: ["TailorDistributed", "Train", "PEFT", "Model", "Tensor", "TestSupport"]),
        .testTarget(
            name: "ServeTests",
            dependencies: [
                "Serve", "Tailor", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
