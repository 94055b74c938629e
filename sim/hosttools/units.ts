/**
 * Which systemd units a configuration runs and which of them fail, decided from the
 * evaluated configuration alone.
 *
 * The rule for failing units (documented in sim/nix/README.md): an enabled
 * `systemd.services.<name>` fails when one of its `serviceConfig.ExecStart` commands runs a
 * program named `false` (e.g. "${pkgs.coreutils}/bin/false") without systemd's "-" prefix
 * (which ignores failures), or when the last line of its `script` is `false` or `exit N`
 * with N ≠ 0; and k3s.service fails when services.k3s.extraFlags has a flag k3s does not
 * define for its role (k3s-flags.ts).
 */
import type { JsonObject } from "./evaluate";
import { at, isObject } from "./json-path";
import { flagWords, unknownFlag } from "./k3s-flags";

/** Units every simulated NixOS host runs, whatever its configuration. */
export const BASE_UNITS: readonly string[] = [
  "dbus.service",
  "nscd.service",
  "systemd-journald.service",
  "systemd-logind.service",
  "systemd-udevd.service",
  "multi-user.target",
  "network.target",
];

/** Well-known options that start a unit: option path → unit name. */
const SERVICE_UNITS: ReadonlyArray<readonly [string, string]> = [
  ["services.openssh.enable", "sshd.service"],
  ["services.k3s.enable", "k3s.service"],
  ["services.kubernetes.kubelet.enable", "kubelet.service"],
  ["services.kubernetes.apiserver.enable", "kube-apiserver.service"],
  ["services.kubernetes.controllerManager.enable", "kube-controller-manager.service"],
  ["services.kubernetes.scheduler.enable", "kube-scheduler.service"],
  ["services.kubernetes.proxy.enable", "kube-proxy.service"],
  ["services.kubernetes.flannel.enable", "flannel.service"],
  ["services.kubernetes.addonManager.enable", "kube-addon-manager.service"],
  ["services.etcd.enable", "etcd.service"],
  ["virtualisation.containerd.enable", "containerd.service"],
  ["virtualisation.docker.enable", "docker.service"],
  ["services.timesyncd.enable", "systemd-timesyncd.service"],
  ["services.chrony.enable", "chronyd.service"],
  ["services.tailscale.enable", "tailscaled.service"],
  ["services.nginx.enable", "nginx.service"],
  ["services.haproxy.enable", "haproxy.service"],
  ["services.keepalived.enable", "keepalived.service"],
  ["services.prometheus.enable", "prometheus.service"],
  ["services.prometheus.exporters.node.enable", "prometheus-node-exporter.service"],
  ["services.grafana.enable", "grafana.service"],
  ["services.fail2ban.enable", "fail2ban.service"],
  ["services.postgresql.enable", "postgresql.service"],
  ["services.openiscsi.enable", "iscsid.service"],
  ["services.nfs.server.enable", "nfs-server.service"],
  ["services.qemuGuest.enable", "qemu-guest-agent.service"],
  ["services.smartd.enable", "smartd.service"],
  ["virtualisation.lxd.agent.enable", "lxd-agent.service"],
  ["services.amazon-ssm-agent.enable", "amazon-ssm-agent.service"],
];

export interface UnitSummary {
  /** Every unit the configuration starts, sorted. */
  readonly units: readonly string[];
  /** The units among them that fail to start, sorted. */
  readonly failing: readonly string[];
}

/** True when one ExecStart command line runs `false` and does not ignore its failure. */
export function execStartFails(command: string): boolean {
  const trimmed = command.trim();
  const prefix = /^[-@:+!]*/.exec(trimmed)?.[0] ?? "";
  if (prefix.includes("-")) return false;
  const program = trimmed.slice(prefix.length).split(/\s+/)[0] ?? "";
  return program.split("/").pop() === "false";
}

/** True when a service `script` ends by failing. */
export function scriptFails(script: string): boolean {
  const lines = script.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  const last = lines[lines.length - 1] ?? "";
  const exit = /^exit\s+(\d+)$/.exec(last);
  return last === "false" || (exit !== null && Number(exit[1]) !== 0);
}

function serviceFails(service: JsonObject): boolean {
  const serviceConfig = service.serviceConfig;
  const execStart = isObject(serviceConfig) ? serviceConfig.ExecStart : undefined;
  const commands = Array.isArray(execStart) ? execStart : execStart === undefined ? [] : [execStart];
  if (commands.some((c) => typeof c === "string" && execStartFails(c))) return true;
  return typeof service.script === "string" && scriptFails(service.script);
}

/** What k3s says about its command line (services.k3s.extraFlags for its role), undefined when it starts. */
export function k3sFlagError(config: JsonObject): string | undefined {
  const role = at(config, "services.k3s.role") === "agent" ? "agent" : "server";
  return unknownFlag(role, flagWords(at(config, "services.k3s.extraFlags")));
}

/** The units of an evaluated configuration and which of them fail. */
export function deriveUnits(config: JsonObject): UnitSummary {
  const units = new Set<string>(BASE_UNITS);
  const failing = new Set<string>();
  for (const [option, unit] of SERVICE_UNITS) {
    if (at(config, option) === true) units.add(unit);
  }
  const services = at(config, "systemd.services");
  if (isObject(services)) {
    for (const [name, service] of Object.entries(services)) {
      if (!isObject(service) || service.enable === false) continue;
      const unit = `${name}.service`;
      units.add(unit);
      if (serviceFails(service)) failing.add(unit);
    }
  }
  // k3s exits at once on a flag it does not define, so its unit fails to start.
  if (units.has("k3s.service") && k3sFlagError(config) !== undefined) failing.add("k3s.service");
  return { units: [...units].sort(), failing: [...failing].sort() };
}
