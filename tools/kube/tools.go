//go:build tools

// Package tools pins the upstream main packages that scripts/install-kube.sh
// builds, so that go.mod and go.sum record their whole module graph. The
// build tag keeps it out of normal builds; only `go mod tidy` looks at it.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
