// Command syft-scanner is the lab's BuildKit SBOM generator: it implements BuildKit's SBOM scanning
// protocol (docs/attestations/sbom-protocol.md) around the syft CLI, as docker/buildkit-syft-scanner does
// around syft's library. That image publishes linux/riscv64 on Docker Hub, which the lab cannot reach, and
// its source is not served by the Go module proxy; syft is, so the lab builds syft from it and this glue.
//
// For the main target (BUILDKIT_SCAN_SOURCE) and each directory under BUILDKIT_SCAN_SOURCE_EXTRAS, it runs
// syft on the root filesystem with the catalogers syft uses for container images, and writes the SPDX JSON
// document as an in-toto statement to BUILDKIT_SCAN_DESTINATION/<name>.spdx.json. Any failure exits
// non-zero with syft's own output: an SBOM is never silently left out.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	statementType = "https://in-toto.io/Statement/v0.1"
	predicateSPDX = "https://spdx.dev/Document"
)

// syft is the CLI beside this binary in the image.
var syft = "/usr/bin/syft"

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "syft-scanner: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	dest := os.Getenv("BUILDKIT_SCAN_DESTINATION")
	src := os.Getenv("BUILDKIT_SCAN_SOURCE")
	if dest == "" || src == "" {
		return fmt.Errorf("BUILDKIT_SCAN_DESTINATION and BUILDKIT_SCAN_SOURCE must be set (BuildKit's SBOM protocol)")
	}
	targets := []string{src}
	// Optional: unset, empty or missing means no extras.
	if extras := os.Getenv("BUILDKIT_SCAN_SOURCE_EXTRAS"); extras != "" {
		if entries, err := os.ReadDir(extras); err == nil {
			for _, e := range entries {
				if e.IsDir() {
					targets = append(targets, filepath.Join(extras, e.Name()))
				}
			}
		}
	}
	for _, t := range targets {
		if err := scan(t, dest); err != nil {
			return err
		}
	}
	return nil
}

func scan(root, dest string) error {
	name := filepath.Base(root)
	out := filepath.Join(os.TempDir(), name+".syft-spdx.json")
	cmd := exec.Command(syft, "scan", "dir:"+root,
		// A build stage's root filesystem is an image's. Of syft's image catalogers, the two for what a
		// Debian image with Go binaries holds: Debian's package database (dpkg-db-cataloger) and the Go
		// binaries' build info (go-module-binary-cataloger), selected by tag as syft requires (a name
		// fails the scan, and so does a tag no cataloger has); no file catalogers (-file). The others
		// (the binary classifier, ELF notes, language package files) read every executable's contents
		// and took the scan of the BuildKit image to 4 min under TCG, to find nothing those two do not
		// (docs/lab.md).
		"--override-default-catalogers", "image",
		"--select-catalogers", "dpkg,go,-file",
		"--source-name", name,
		"-o", "spdx-json="+out)
	cmd.Env = append(os.Environ(),
		// No network in a build step: no update check.
		"SYFT_CHECK_FOR_APP_UPDATE=false",
		// Packages, not a digest of every file they own (minutes under emulation).
		"SYFT_FILE_METADATA_SELECTION=none",
	)
	// The Go binaries' versions are read as Docker Hub's scanner reads them (syft's defaults): from the
	// -ldflags the build info records, never guessed from a binary's contents. A binary built with
	// -trimpath (Go then records no -ldflags) is listed as (devel), in the lab as on a board.
	// Without a terminal syft logs only its warnings and errors; they are the build step's output only
	// when the scan fails (quiet on success, syft's own words on failure).
	var log bytes.Buffer
	cmd.Stdout = &log
	cmd.Stderr = &log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("syft scan of %s: %w\n%s", root, err, strings.TrimSpace(log.String()))
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	if !json.Valid(doc) {
		return fmt.Errorf("syft wrote no valid JSON for %s", root)
	}
	statement, err := json.Marshal(struct {
		Type          string          `json:"_type"`
		PredicateType string          `json:"predicateType"`
		Subject       []struct{}      `json:"subject"`
		Predicate     json.RawMessage `json:"predicate"`
	}{statementType, predicateSPDX, []struct{}{}, doc})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dest, name+".spdx.json"), statement, 0o644)
}
