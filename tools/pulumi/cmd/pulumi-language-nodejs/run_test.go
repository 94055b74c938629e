package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func fixedRunScript(string) (string, error) { return "/sdk/run/index.js", nil }

func TestPlanRunBuildsNodeCommand(t *testing.T) {
	opts, err := structpb.NewStruct(map[string]any{"typescript": false, "nodeargs": "--max-old-space-size=512 --trace-warnings"})
	if err != nil {
		t.Fatal(err)
	}
	req := &pulumirpc.RunRequest{
		Project: "fleet", Stack: "dev", Organization: "organization", Pwd: "/p/dist",
		MonitorAddress: "127.0.0.1:1", DryRun: true, Parallel: 4,
		Config:           map[string]string{"fleet:hosts": "3"},
		ConfigSecretKeys: []string{"fleet:token"},
		Args:             []string{"extra"},
		Info:             &pulumirpc.ProgramInfo{RootDirectory: "/p", ProgramDirectory: "/p/dist", EntryPoint: "index.js", Options: opts},
	}
	plan, err := planRun(req, "127.0.0.1:2", fixedRunScript)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"--max-old-space-size=512", "--trace-warnings", "/sdk/run/index.js",
		"--monitor=127.0.0.1:1", "--engine=127.0.0.1:2", "--project=fleet", "--stack=dev", "--parallel=4",
		"--organization=organization", "--root-directory=/p", "--dry-run", "index.js", "extra",
	}
	if !slices.Equal(plan.args, want) {
		t.Errorf("args:\n got %q\nwant %q", plan.args, want)
	}
	if plan.dir != "/p/dist" {
		t.Errorf("dir = %q", plan.dir)
	}
	wantEnv := []string{`PULUMI_CONFIG={"fleet:hosts":"3"}`, `PULUMI_CONFIG_SECRET_KEYS=["fleet:token"]`}
	if !slices.Equal(plan.env, wantEnv) {
		t.Errorf("env:\n got %q\nwant %q", plan.env, wantEnv)
	}
}

func TestPlanRunDefaultsToTypeScriptAndPackageEntry(t *testing.T) {
	plan, err := planRun(&pulumirpc.RunRequest{Pwd: "/p", MonitorAddress: "m"}, "e", fixedRunScript)
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.args[len(plan.args)-1]; got != "." {
		t.Errorf("entry = %q, want \".\"", got)
	}
	if slices.Contains(plan.args, "--dry-run") {
		t.Error("--dry-run passed for a non-preview run")
	}
	if !slices.Contains(plan.env, "PULUMI_NODEJS_TYPESCRIPT=true") {
		t.Errorf("typescript should default to on, env %q", plan.env)
	}
}

func TestPlanRunRejectsMistypedOptions(t *testing.T) {
	opts, err := structpb.NewStruct(map[string]any{"typescript": "no"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = planRun(&pulumirpc.RunRequest{Info: &pulumirpc.ProgramInfo{Options: opts}}, "e", fixedRunScript)
	if err == nil || !strings.Contains(err.Error(), "runtime.options.typescript") {
		t.Fatalf("want an error naming the option, got %v", err)
	}
}

func TestFindRunScriptWalksUp(t *testing.T) {
	root := t.TempDir()
	script := filepath.Join(root, runScriptPath)
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(root, "dist", "deep")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := findRunScript(nested)
	if err != nil || got != script {
		t.Fatalf("findRunScript = %q, %v; want %q", got, err, script)
	}
	if _, err := findRunScript(t.TempDir()); err == nil || !strings.Contains(err.Error(), "npm ci") {
		t.Fatalf("want a hint to run npm ci, got %v", err)
	}
}

func TestRunResultMapsExitCodes(t *testing.T) {
	if r := runResult(nil); r.GetError() != "" || r.GetBail() {
		t.Errorf("success mapped to %v", r)
	}
	if r := runResult(exec.Command("sh", "-c", "exit 32").Run()); !r.GetBail() || r.GetError() != "" {
		t.Errorf("exit 32 mapped to %v, want bail", r)
	}
	if r := runResult(exec.Command("sh", "-c", "exit 3").Run()); !strings.Contains(r.GetError(), "exit code: 3") {
		t.Errorf("exit 3 mapped to %v", r)
	}
}
