package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// bailExitCode is the exit code @pulumi/pulumi's run script uses after it has
// already reported the program's error to the engine; the host then asks the
// engine not to print a second, generic error.
const bailExitCode = 32

// runScriptPath is where the SDK's program runner sits inside a package tree.
var runScriptPath = filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", "run", "index.js")

// runPlan is everything needed to start `node` for one RunRequest.
type runPlan struct {
	dir  string   // working directory of the node process
	args []string // arguments after the node binary
	env  []string // KEY=VALUE entries added to the host's environment
}

// runtimeOptions are the Pulumi.yaml `runtime.options` this host honours.
type runtimeOptions struct {
	typescript bool     // load ts-node before the program (upstream default: true)
	tsconfig   string   // tsconfig file for ts-node, relative to the program directory
	nodeargs   []string // extra arguments for node itself
}

// parseRuntimeOptions reads the options map with upstream's defaults, and
// rejects values of the wrong type so a typo in Pulumi.yaml is not ignored.
func parseRuntimeOptions(raw map[string]any) (runtimeOptions, error) {
	opts := runtimeOptions{typescript: true}
	for key, value := range raw {
		switch key {
		case "typescript":
			b, ok := value.(bool)
			if !ok {
				return opts, fmt.Errorf("Pulumi.yaml runtime.options.typescript must be true or false, got %v", value)
			}
			opts.typescript = b
		case "tsconfig":
			s, ok := value.(string)
			if !ok {
				return opts, fmt.Errorf("Pulumi.yaml runtime.options.tsconfig must be a string, got %v", value)
			}
			opts.tsconfig = s
		case "nodeargs":
			s, ok := value.(string)
			if !ok {
				return opts, fmt.Errorf("Pulumi.yaml runtime.options.nodeargs must be a string, got %v", value)
			}
			opts.nodeargs = strings.Fields(s)
		}
	}
	return opts, nil
}

// planRun turns a RunRequest into the node command line and environment.
// findRun locates the SDK's run script starting from the program directory.
func planRun(req *pulumirpc.RunRequest, engineAddress string, findRun func(string) (string, error)) (runPlan, error) {
	info := req.GetInfo()
	dir := req.GetPwd()
	if dir == "" && info != nil {
		dir = info.GetProgramDirectory()
	}
	entry := req.GetProgram()
	if info != nil && info.GetEntryPoint() != "" {
		entry = info.GetEntryPoint()
	}
	if entry == "" {
		entry = "."
	}

	var raw map[string]any
	if info != nil && info.GetOptions() != nil {
		raw = info.GetOptions().AsMap()
	}
	opts, err := parseRuntimeOptions(raw)
	if err != nil {
		return runPlan{}, err
	}

	runScript, err := findRun(dir)
	if err != nil {
		return runPlan{}, err
	}

	args := append([]string{}, opts.nodeargs...)
	args = append(args, runScript,
		"--monitor="+req.GetMonitorAddress(),
		"--engine="+engineAddress,
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--parallel="+strconv.Itoa(int(req.GetParallel())),
	)
	if org := req.GetOrganization(); org != "" {
		args = append(args, "--organization="+org)
	}
	if info != nil && info.GetRootDirectory() != "" {
		args = append(args, "--root-directory="+info.GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env, err := programEnv(req.GetConfig(), req.GetConfigSecretKeys(), opts)
	if err != nil {
		return runPlan{}, err
	}
	return runPlan{dir: dir, args: args, env: env}, nil
}

// programEnv passes stack configuration the way @pulumi/pulumi reads it.
func programEnv(config map[string]string, secretKeys []string, opts runtimeOptions) ([]string, error) {
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("encoding stack configuration for the program: %w", err)
	}
	env := []string{"PULUMI_CONFIG=" + string(configJSON)}
	if len(secretKeys) > 0 {
		keysJSON, err := json.Marshal(secretKeys)
		if err != nil {
			return nil, fmt.Errorf("encoding secret configuration keys for the program: %w", err)
		}
		env = append(env, "PULUMI_CONFIG_SECRET_KEYS="+string(keysJSON))
	}
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	return env, nil
}

// findRunScript walks up from dir the way node resolves packages and returns
// the first @pulumi/pulumi run script it finds.
func findRunScript(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving program directory %q: %w", dir, err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, runScriptPath)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("cannot find @pulumi/pulumi in node_modules of %s or any parent directory; "+
		"run `npm ci` in the project first", abs)
}

// runResult maps node's exit status to the engine's Run response.
func runResult(err error) *pulumirpc.RunResponse {
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code := exitErr.ExitCode()
		if code == bailExitCode {
			return &pulumirpc.RunResponse{Bail: true}
		}
		if code >= 0 {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program was stopped: %v", exitErr)}
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program could not be run: %v", err)}
}
