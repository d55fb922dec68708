module github.com/buildkit-riscv64-acceptance/sbom-scanner

go 1.24
