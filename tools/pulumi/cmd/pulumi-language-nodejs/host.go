package main

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// stopGrace is how long a program gets to exit after an interrupt when the
// engine cancels a run, before it is killed.
const stopGrace = 10 * time.Second

// host implements the parts of the LanguageRuntime service the CLI needs to
// preview, update, refresh and destroy a Node.js program. Everything else
// answers Unimplemented, which the engine treats as "not supported".
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	version string

	mu            sync.Mutex
	engineAddress string
}

func newHost(engineAddress, version string) *host {
	return &host{engineAddress: engineAddress, version: version}
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// Handshake is only sent when the engine attaches to an already running host.
func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.engineAddress = req.GetEngineAddress()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: h.version}, nil
}

// GetRequiredPlugins and GetRequiredPackages report nothing on purpose: see
// the package comment.
func (h *host) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// About names the node binary the programs run with, for `pulumi about`.
func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.AboutResponse{}, nil
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return &pulumirpc.AboutResponse{Executable: node}, nil
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimPrefix(strings.TrimSpace(string(out)), "v")}, nil
}

// Run starts the program under node and waits for it. Program failures are
// returned in the response (not as gRPC errors), as the engine expects.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "cannot run the Node.js program: no `node` on PATH"}, nil
	}
	plan, err := planRun(req, h.engine(), findRunScript)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	cmd := exec.CommandContext(ctx, node, plan.args...)
	cmd.Dir = plan.dir
	cmd.Env = append(os.Environ(), plan.env...)
	// The engine relays our stdout and stderr as the program's console output.
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = stopGrace
	// The program dies with this host (see watchParent). The kernel sends the signal when the
	// thread that started the child ends, so the goroutine keeps its thread until the child is done.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	return runResult(cmd.Run()), nil
}
