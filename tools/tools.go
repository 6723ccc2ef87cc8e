//go:build tools

// Package tools pins the code generators the repository runs (scripts/gen-metadata.sh) in a
// module of their own, so their dependencies never reach the components' go.mod. mdatagen
// v0.155.0 is the newest the module proxy serves; what it generates compiles against
// collector core v0.165.0.
package tools

import _ "go.opentelemetry.io/collector/cmd/mdatagen"
