// Command pulumi-resource-kubernetes is the Pulumi Kubernetes resource
// provider, built from github.com/pulumi/pulumi-kubernetes/provider/v4 by
// scripts/install-kubernetes-provider.sh.
//
// Upstream's own main package cannot be built from the module zip: it embeds
// two files its release build generates and that the zip does not carry. This
// one embeds the same two files, written next to it at build time by
// ../kubernetes-embed from the schema and Terraform mapping the module ships.
// The provider's version is set at link time (pkg/version.Version).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

// The package schema with its version field set to the release being built.
//
//go:embed schema-embed.json
var schema []byte

// The Terraform-to-Pulumi type mapping, compacted.
//
//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
