/**
 * Stand-ins for the tools the bootstrap script calls (kubectl, ssh, nix-build, nixos-anywhere),
 * written as small bash scripts into a bin folder put first on PATH. They answer as the real
 * tools do where the script reads the answer (kubectl's NotFound message and exit status,
 * jsonpath output one pod per line) and record each call in $STUB/log; files in $STUB seed
 * their answers. A test may leave some out to use the real tool (kubectl).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The stand-ins, by tool name. */
export const BOOTSTRAP_STUBS: Record<string, string> = {
  kubectl: `#!/bin/bash
echo "kubectl $*" >> "$STUB/log"
[ -f "$STUB/kubeconfig-seen" ] || cp "$KUBECONFIG" "$STUB/kubeconfig-seen"
case "$1 $2" in
  "get node")
    if [ -f "$STUB/node-unreachable" ]; then echo 'The connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?' >&2; exit 1; fi
    if [ -f "$STUB/node-exists" ]; then echo "node/$3"; exit 0; fi
    echo "Error from server (NotFound): nodes \\"$3\\" not found" >&2; exit 1 ;;
  "get pods") cat "$STUB/pods" ;;
  "drain "*) if [ -f "$STUB/drain-fails" ]; then echo "error: cannot evict pod as it would violate the pod's disruption budget." >&2; exit 1; fi ;;
esac
`,
  ssh: `#!/bin/bash
read -r p
echo "ssh $p" >> "$STUB/log"
if grep -qxF "$p" "$STUB/data-paths" 2>/dev/null; then echo "$p/some-file"; fi
`,
  "nix-build": `#!/bin/bash
echo "nix-build \${@: -1}" >> "$STUB/log"
echo "/nix/store/aaaa-\${@: -1}"
`,
  "nixos-anywhere": `#!/bin/bash
echo "nixos-anywhere $*" >> "$STUB/log"
while [ $# -gt 0 ]; do
  case "$1" in
    --extra-files) mkdir -p "$STUB/installed"; cp -a "$2/." "$STUB/installed/"; echo "$2" > "$STUB/extra-dir"; shift ;;
    -i) cp "$2" "$STUB/login-key-seen"; stat -c %a "$2" > "$STUB/login-key-mode"; shift ;;
  esac
  shift
done
`,
};

/** One run of a bootstrap script. */
export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The stand-ins' calls, in order. */
  readonly log: string[];
  readonly dir: string;
}

/**
 * Runs `script` with the stand-ins named in `stubs` (all by default) first on PATH; `files`
 * seed their answers (name → content, in $STUB), `env` is the script's environment (its PATH
 * comes after the stand-ins).
 */
export function runBootstrapScript(script: string, files: Record<string, string>, env: Record<string, string>, stubs: readonly string[] = Object.keys(BOOTSTRAP_STUBS)): Run {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  for (const name of stubs) fs.writeFileSync(path.join(bin, name), BOOTSTRAP_STUBS[name], { mode: 0o755 });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const r = spawnSync("/bin/bash", ["-c", script], { encoding: "utf8", env: { ...env, PATH: `${bin}:${env.PATH ?? process.env.PATH}`, STUB: dir } });
  const logFile = path.join(dir, "log");
  const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trim().split("\n") : [];
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, log, dir };
}

