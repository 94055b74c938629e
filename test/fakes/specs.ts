/** HostSpecs for tests that do not go through the inventory. */
import type { HostSpec } from "../../lib/rollout/spec";

export function testSpec(name: string, overrides: Partial<HostSpec> = {}): HostSpec {
  return {
    name,
    address: "127.0.0.1",
    port: 22,
    user: "root",
    hostKey: "",
    trustOnFirstUse: false,
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n",
    files: { "configuration.nix": `{ ... }: { networking.hostName = "${name}"; }\n` },
    secretFiles: { "/var/lib/nixos-fleet/secrets/k3s-token": "s3cr3t-token" },
    action: "switch",
    rebootPolicy: "when-needed",
    drain: { force: false, deleteEmptyDirData: false },
    gates: { nodesReady: true, watchedNamespaces: ["kube-system"], commands: [] },
    timeouts: {
      connectSeconds: 5,
      lockSeconds: 5,
      rebuildSeconds: 60,
      drainSeconds: 30,
      shutdownSeconds: 30,
      bootSeconds: 60,
      settleSeconds: 30,
      readySeconds: 60,
      healthSeconds: 60,
      confirmSeconds: 30,
    },
    disruption: { maxUnavailable: 1, group: "" },
    ...overrides,
  };
}
