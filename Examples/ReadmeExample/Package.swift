// swift-tools-version:6.0
// The README's Swift example as a program in its own package, importing Tailor by path — the way
// another project uses it. Scripts/readme-example.sh builds and runs it on the tiny fixture model.
import PackageDescription

let package = Package(
    name: "ReadmeExample",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Tailor", path: "../..")],
    targets: [
        .executableTarget(name: "ReadmeExample", dependencies: [.product(name: "Tailor", package: "Tailor")]),
    ]
)
