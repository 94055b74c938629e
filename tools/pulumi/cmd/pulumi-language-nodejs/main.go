// Command pulumi-language-nodejs is the Node.js language host the Pulumi CLI
// starts to run a `runtime: nodejs` program.
//
// The upstream host lives in its own Go module that the module proxy reachable
// from our build machines does not serve, so scripts/install-pulumi.sh builds
// this small replacement next to the CLI instead. It speaks the same
// LanguageRuntime gRPC protocol and starts the program the same way: node runs
// @pulumi/pulumi/cmd/run from the program's own node_modules, so the SDK code
// that talks to the engine is the SDK the project pins.
//
// Deliberate differences from upstream:
//   - GetRequiredPackages reports nothing, so the engine never tries to
//     download provider plugins ahead of time (there is no network to do it).
//     A program that really registers a resource of a plugin that is not
//     installed still fails, naming the missing plugin.
//   - Dependency installation, templates and code generation are not offered.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is set at build time (-X main.version=...) to the CLI release this
// host is installed with.
var version = "0.0.0-dev"

// watchParent calls gone once the process's parent is no longer `parent`. The
// CLI starts its plugins in process groups of their own, so when the CLI is
// killed (SIGKILL of its process group, a cancelled CI job) nothing else tells
// this host; a host left behind keeps its program running, re-parented to init.
// The program gets SIGTERM when this host exits (Pdeathsig in Run).
func watchParent(parent int, every time.Duration, getppid func() int, gone func()) {
	for {
		time.Sleep(every)
		if getppid() != parent {
			gone()
			return
		}
	}
}

func main() {
	// The engine passes --logtostderr, -v=N and --tracing <url> ahead of the
	// engine address. The first two are registered by the logging package
	// (through glog); tracing is accepted and ignored.
	flag.String("tracing", "", "tracing endpoint (accepted for compatibility, unused)")
	flag.Parse()
	logging.InitLogging(false, 0, false)

	// The engine address is the last positional argument. A host attached
	// through PULUMI_DEBUG_LANGUAGES gets it from Handshake instead.
	engineAddress := ""
	if flag.NArg() > 0 {
		engineAddress = flag.Arg(flag.NArg() - 1)
	}

	host := newHost(engineAddress, version)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start the gRPC server: %v\n", err)
		os.Exit(1)
	}

	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)

	go watchParent(os.Getppid(), time.Second, os.Getppid, func() {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: the Pulumi CLI that started this host is gone; exiting\n")
		os.Exit(1)
	})

	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: gRPC server stopped: %v\n", err)
		os.Exit(1)
	}
}
