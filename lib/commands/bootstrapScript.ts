/**
 * The script a bootstrap runs on the machine running Pulumi (a command.local.Command), pure
 * text from the plan. In order, each step stopping the script when it fails:
 *
 * 1. With Kubernetes, when the old system is a Node: list the hostPath volumes of the pods on
 *    it, ask the old system over SSH which of those folders hold data, and stop, naming each
 *    pod and folder, unless every one is the system's own or in discardHostPaths. nixos-anywhere
 *    wipes the disks: data there is lost for good.
 * 2. Drain the Node (kubectl drain, as the rollout's own drain policy allows) and delete it, so
 *    the new system registers a fresh, schedulable Node under the same name.
 * 3. Run nixos-anywhere with the generated host key as extra files in /etc/ssh, so the new
 *    system presents the key the inventory pins from its first boot.
 *
 * The secrets come in through the environment (FLEET_LOGIN_KEY, FLEET_HOST_KEY,
 * FLEET_KUBECONFIG) and are written to a private temporary folder, removed on exit.
 */
import { shellQuote as q } from "../host/quote";
import type { HostAccess } from "../rollout/spec";
import type { BootstrapPlan } from "./plan";

/** The environment variables the script reads: the resource passes them, as secrets. */
export const BOOTSTRAP_ENV = {
  loginKey: "FLEET_LOGIN_KEY",
  hostKey: "FLEET_HOST_KEY",
  hostKeyPub: "FLEET_HOST_KEY_PUB",
  kubeconfig: "FLEET_KUBECONFIG",
} as const;

/** The case pattern of a path list: each path and everything below it. */
function pathPattern(paths: readonly string[]): string {
  return paths.flatMap((p) => [q(p), `${q(p)}/*`]).join("|");
}

function kubernetesSteps(plan: BootstrapPlan, target: Pick<HostAccess, "address" | "port" | "user">, ssh: string): string[] {
  if (plan.nodeName === undefined) return [];
  const node = q(plan.nodeName);
  const drainFlags = ["--ignore-daemonsets", ...(plan.drain.force ? ["--force"] : []), ...(plan.drain.deleteEmptyDirData ? ["--delete-emptydir-data"] : [])];
  const jsonpath = `{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\t"}{range .spec.volumes[*]}{.hostPath.path}{" "}{end}{"\\n"}{end}`;
  return [
    `printf '%s' "$${BOOTSTRAP_ENV.kubeconfig}" > "$work/kubeconfig"`,
    `export KUBECONFIG="$work/kubeconfig"`,
    `if kubectl get node ${node} -o name > /dev/null 2> "$work/node.err"; then`,
    `  say "checking the hostPath volumes of the pods on Node ${plan.nodeName} for data the install would wipe"`,
    `  kubectl get pods --all-namespaces --field-selector spec.nodeName=${node} -o jsonpath=${q(jsonpath)} > "$work/pods"`,
    `  : > "$work/with-data"`,
    `  while IFS=$'\\t' read -r pod paths; do`,
    `    for p in $paths; do`,
    `      case "$p" in ${pathPattern(plan.discardHostPaths)}) continue ;; esac`,
    // The folder's name comes in on stdin, so no quoting of it reaches the remote shell.
    `      if ! found=$(printf '%s\\n' "$p" | ${ssh} ${q(`${target.user}@${target.address}`)} 'read -r p; if [ -d "$p" ]; then find "$p" -mindepth 1 -print -quit; elif [ -s "$p" ]; then printf "%s\\n" "$p"; fi'); then`,
    `        fail "cannot tell whether $p (hostPath of $pod) holds data: ssh to the old system failed. Check that it is reachable as ${target.user}@${target.address} with fleet:sshPrivateKey, or copy the data off and list the folder in bootstrap.discardHostPaths"`,
    `      fi`,
    `      if [ -n "$found" ]; then printf '  %s: %s\\n' "$pod" "$p" >> "$work/with-data"; fi`,
    `    done`,
    `  done < "$work/pods"`,
    `  if [ -s "$work/with-data" ]; then`,
    `    fail "these hostPath folders hold data, which the install would wipe:"$'\\n'"$(sort -u "$work/with-data")"$'\\n'"what to do: copy the data off the host (or move it to replicated storage), then list each folder under hosts[].bootstrap.discardHostPaths; nothing was changed"`,
    `  fi`,
    `  say "draining Node ${plan.nodeName}"`,
    `  kubectl drain ${node} ${drainFlags.join(" ")} --timeout=${plan.timeouts.drainSeconds}s || fail "kubectl drain ${plan.nodeName} failed (above); the Node may stay cordoned: kubectl uncordon ${plan.nodeName} to undo; the install did not start"`,
    `  kubectl delete node ${node} --timeout=${plan.timeouts.drainSeconds}s`,
    `elif grep -q NotFound "$work/node.err"; then`,
    `  say "no Node ${plan.nodeName} in the cluster: nothing to drain"`,
    `else`,
    `  fail "cannot ask the cluster for Node ${plan.nodeName}: $(cat "$work/node.err"); nothing was changed"`,
    `fi`,
  ];
}

function installArgs(plan: BootstrapPlan): { build: string[]; args: string } {
  if (plan.source.kind === "flake") return { build: [], args: `--flake ${q(plan.source.flake)}` };
  // Without a flake, build both store paths here and hand them over (nixos-anywhere --store-paths).
  const expr =
    `let sys = import <nixpkgs/nixos> { configuration = { imports = [ ./${plan.source.configuration} <disko/module.nix> ./${plan.source.disko} ]; }; }; ` +
    `in { system = sys.config.system.build.toplevel; disko = sys.config.system.build.diskoScript; }`;
  return {
    build: [
      `say "building the new system from ${plan.source.configuration} with the disk layout ${plan.source.disko}"`,
      `system=$(nix-build --no-out-link -E ${q(expr)} -A system)`,
      `disko=$(nix-build --no-out-link -E ${q(expr)} -A disko)`,
    ],
    args: `--store-paths "$disko" "$system"`,
  };
}

/**
 * The whole script for one host. `target` is how the old system is reached (the inventory's
 * address, port and user); `installSeconds` bounds nixos-anywhere (kexec, partitioning,
 * install, reboot).
 */
export function bootstrapScript(plan: BootstrapPlan, target: Pick<HostAccess, "address" | "port" | "user">): string {
  const t = plan.timeouts;
  // The old system's host key is not in the inventory: it is accepted once here, in a file of
  // this run only. The new system's key is the generated one, pinned before the install.
  const ssh = `ssh -i "$work/login-key" -p ${target.port} -o BatchMode=yes -o ConnectTimeout=${t.connectSeconds} -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$work/known_hosts"`;
  const { build, args } = installArgs(plan);
  const installSeconds = t.rebuildSeconds + t.shutdownSeconds + t.bootSeconds;
  return [
    "set -euo pipefail",
    `say() { printf '%s: %s\\n' ${q(plan.host)} "$1"; }`,
    `fail() { printf '%s: bootstrap failed: %s\\n' ${q(plan.host)} "$1" >&2; exit 1; }`,
    `work=$(mktemp -d)`,
    `trap 'rm -rf "$work"' EXIT`,
    "umask 077",
    `printf '%s\\n' "$${BOOTSTRAP_ENV.loginKey}" > "$work/login-key"`,
    `mkdir -p "$work/extra/etc/ssh"`,
    `printf '%s\\n' "$${BOOTSTRAP_ENV.hostKey}" > "$work/extra/etc/ssh/ssh_host_ed25519_key"`,
    `printf '%s\\n' "$${BOOTSTRAP_ENV.hostKeyPub}" > "$work/extra/etc/ssh/ssh_host_ed25519_key.pub"`,
    `chmod 0755 "$work/extra" "$work/extra/etc" "$work/extra/etc/ssh"`,
    `chmod 0644 "$work/extra/etc/ssh/ssh_host_ed25519_key.pub"`,
    ...kubernetesSteps(plan, target, ssh),
    ...build,
    `say "installing NixOS with nixos-anywhere (at most ${installSeconds} s)"`,
    `timeout ${installSeconds} nixos-anywhere ${args} --extra-files "$work/extra" -i "$work/login-key" --ssh-port ${target.port} ${q(`${target.user}@${target.address}`)} ` +
      `|| fail "nixos-anywhere failed or ran out of its ${installSeconds} s (exit $?; output above); the disks may be wiped: run pulumi up again to retry the install"`,
    `say "installed; its SSH host key is the one pinned in the stack"`,
    "",
  ].join("\n");
}
