//go:build tools

// Package tools pins the Pulumi CLI main package so that go.mod and go.sum
// record the exact module graph scripts/install-pulumi.sh builds from.
// The build tag keeps it out of normal builds; only `go mod tidy` and the
// install script look at it.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
