/**
 * The command line k3s is started with (services.k3s.extraFlags), read as k3s reads it: a flag
 * it does not know stops it at once ("flag provided but not defined"), so k3s.service fails and
 * no kubelet runs. Server-only flags are unknown to `k3s agent`. The lists hold the flags of
 * `k3s server --help` and `k3s agent --help` that NixOS k3s configurations commonly use; a flag
 * missing here would be reported as unknown, so the lists err on the side of more flags.
 */

/** Flags both `k3s server` and `k3s agent` accept. */
const COMMON_FLAGS = [
  "config", "debug", "v", "vmodule", "log", "alsologtostderr", "data-dir", "token", "token-file",
  "server", "node-name", "with-node-id", "node-label", "node-taint", "node-ip", "node-external-ip",
  "node-internal-dns", "node-external-dns", "image-credential-provider-bin-dir", "image-credential-provider-config",
  "docker", "container-runtime-endpoint", "default-runtime", "image-service-endpoint", "disable-default-registry-endpoint",
  "nonroot-devices", "pause-image", "snapshotter", "private-registry", "system-default-registry",
  "airgap-extra-registry", "kubelet-arg", "kube-proxy-arg", "protect-kernel-defaults", "selinux",
  "lb-server-port", "resolv-conf", "flannel-iface", "flannel-conf", "flannel-cni-conf-dir",
  "vpn-auth", "vpn-auth-file", "prefer-bundled-bin", "rootless", "bind-address", "enable-pprof",
] as const;

/** Flags only `k3s server` accepts. */
const SERVER_FLAGS = [
  "advertise-address", "advertise-port", "tls-san", "tls-san-security", "https-listen-port",
  "supervisor-port", "apiserver-port", "apiserver-bind-address", "cluster-cidr",
  "service-cidr", "service-node-port-range", "cluster-dns", "cluster-domain", "flannel-backend",
  "flannel-ipv6-masq", "flannel-external-ip", "egress-selector-mode", "servicelb-namespace",
  "write-kubeconfig", "write-kubeconfig-mode", "write-kubeconfig-group", "helm-job-image",
  "agent-token", "agent-token-file", "cluster-init", "cluster-reset", "cluster-reset-restore-path",
  "kube-apiserver-arg", "etcd-arg", "kube-controller-manager-arg", "kube-scheduler-arg",
  "kube-cloud-controller-manager-arg", "datastore-endpoint", "datastore-cafile", "datastore-certfile",
  "datastore-keyfile", "etcd-expose-metrics", "etcd-disable-snapshots", "etcd-snapshot-name",
  "etcd-snapshot-schedule-cron", "etcd-snapshot-retention", "etcd-snapshot-dir", "etcd-snapshot-compress",
  "etcd-s3", "etcd-s3-endpoint", "etcd-s3-bucket", "etcd-s3-region", "etcd-s3-folder",
  "default-local-storage-path", "disable", "disable-scheduler", "disable-cloud-controller",
  "disable-kube-proxy", "disable-network-policy", "disable-helm-controller", "disable-apiserver",
  "disable-controller-manager", "disable-etcd", "embedded-registry", "supervisor-metrics",
  "secrets-encryption", "secrets-encryption-provider", "enable-servicelb", "kine-tls",
] as const;

const KNOWN: Readonly<Record<"server" | "agent", ReadonlySet<string>>> = {
  server: new Set<string>([...COMMON_FLAGS, ...SERVER_FLAGS]),
  agent: new Set<string>(COMMON_FLAGS),
};

/** Splits extraFlags as the NixOS module passes them: a list of words, or one string of words. */
export function flagWords(extraFlags: unknown): string[] {
  const words = Array.isArray(extraFlags) ? extraFlags.flatMap((f) => (typeof f === "string" ? f.split(/\s+/) : [])) : typeof extraFlags === "string" ? extraFlags.split(/\s+/) : [];
  return words.filter((w) => w !== "");
}

/** The first word that is a flag `k3s ROLE` does not define, in k3s's own words; undefined when all are known. Pure. */
export function unknownFlag(role: "server" | "agent", words: readonly string[]): string | undefined {
  for (const w of words) {
    if (!w.startsWith("-") || w === "-" || w === "--") continue;
    const name = w.replace(/^--?/, "").split("=")[0];
    if (!KNOWN[role].has(name)) return `flag provided but not defined: -${name}`;
  }
  return undefined;
}

/** The values given to `--NAME=value` or `--NAME value` among the words, in order. Pure. */
export function flagValues(words: readonly string[], name: string): string[] {
  const values: string[] = [];
  words.forEach((w, i) => {
    if (!w.startsWith("-")) return;
    const bare = w.replace(/^--?/, "");
    if (bare.startsWith(`${name}=`)) values.push(bare.slice(name.length + 1));
    else if (bare === name && i + 1 < words.length) values.push(words[i + 1]);
  });
  return values;
}
