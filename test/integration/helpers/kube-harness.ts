/**
 * The simulated kubelets (sim/kubelet) against the real control plane (sim/controlplane), for a
 * test: hosts are folders with the systems a kubelet reads (their evaluated configuration and
 * record), so a test decides what each host booted without running a fleet.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ControlPlane } from "../../../sim/controlplane/index";
import { SimKubelets, type KubeletHost } from "../../../sim/kubelet/index";
import { hostPaths } from "../../../sim/layout";
import type { SimTimings, TimelineKind } from "../../../sim/types";
import { type Clients, clients } from "./controlplane-harness";

/** Small timings; the node grace period is kube-controller-manager's flag, shortened. */
export const TEST_TIMINGS: SimTimings = {
  downMs: 100,
  slowBootMs: 200,
  systemdSettleMs: 20,
  kubeletReadyMs: 600,
  podTerminationMs: 400,
  rescheduleMs: 300,
  buildMs: 0,
  nodeMonitorGracePeriodSeconds: 6,
};

export interface RecordedEvent {
  readonly t: number;
  readonly host: string;
  readonly kind: TimelineKind;
  readonly detail?: Record<string, unknown>;
}

/** What a test system configures for k3s. */
export type TestK3s = { readonly enable: false } | { readonly enable: true; readonly role: "server" | "agent"; readonly tokenFile?: string; readonly extraFlags?: string };

/** A running control plane with kubelets for `hosts`. */
export interface KubeletHarness {
  readonly cp: ControlPlane;
  readonly kubelets: SimKubelets;
  readonly api: Clients;
  readonly kubeconfig: string;
  readonly hosts: readonly KubeletHost[];
  readonly events: RecordedEvent[];
  readonly timings: SimTimings;
  /** Writes a system into `host`'s store and returns its store path as the host sees it. */
  system(host: string, k3s: TestK3s, kernelVersion?: string): string;
  stop(): Promise<void>;
}

export const TEST_HOSTS = ["cp1", "w1", "w2"] as const;

/** Starts the control plane (with its audit log) and the kubelets; no host is up yet. */
export async function startKubelets(timings: SimTimings = TEST_TIMINGS): Promise<KubeletHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubelet-test-"));
  const auditLog = path.join(dir, "audit.log");
  const cp = await ControlPlane.start({
    dataDir: path.join(dir, "kube"),
    kubeconfigPath: path.join(dir, "kubeconfig"),
    auditLogPath: auditLog,
    nodeMonitorGracePeriodSeconds: timings.nodeMonitorGracePeriodSeconds,
    nodeMonitorPeriodSeconds: 1,
  });
  const kubeconfig = fs.readFileSync(cp.kubeconfigPath, "utf8");
  const hosts = TEST_HOSTS.map((name, i) => ({ name, address: `10.99.0.${10 + i}`, hostDir: path.join(dir, "hosts", name) }));
  for (const h of hosts) fs.mkdirSync(hostPaths(h.hostDir).store, { recursive: true });
  const events: RecordedEvent[] = [];
  const kubelets = new SimKubelets({
    kubeconfig, hosts, timings, auditLog,
    record: (host, kind, detail, at = Date.now()) => events.push({ t: at, host, kind, ...(detail === undefined ? {} : { detail }) }),
    log: (line) => (process.env.KUBELET_TEST_LOG ? console.log(`      [kubelets] ${line}`) : undefined),
  });
  let n = 0;
  return {
    cp, kubelets, api: clients(kubeconfig), kubeconfig, hosts, events, timings,
    system(host, k3s, kernelVersion = "6.6.45") {
      const hostDir = hosts.find((h) => h.name === host)?.hostDir ?? "";
      const base = `${createHash("sha256").update(`${host}/${n++}`).digest("hex").slice(0, 32)}-nixos-system-${host}-24.11`;
      const etc = path.join(hostPaths(hostDir).store, base, "etc", "nixos-sim");
      fs.mkdirSync(etc, { recursive: true });
      const services = k3s.enable
        ? { k3s: { enable: true, role: k3s.role, serverAddr: k3s.role === "agent" ? "https://10.99.0.10:6443" : "", tokenFile: k3s.tokenFile ?? null, token: "", extraFlags: k3s.extraFlags ?? "" } }
        : { k3s: { enable: false } };
      fs.writeFileSync(path.join(etc, "config.json"), JSON.stringify({ services }));
      const packages = k3s.enable ? ["/nix/store/00000000000000000000000000000000-k3s-1.31.4+k3s1"] : [];
      fs.writeFileSync(path.join(etc, "system.json"), JSON.stringify({ kernelVersion, nixosVersion: "24.11.20250101.abcdef0", codeName: "Vicuna", systemPackages: packages }));
      return `/nix/store/${base}`;
    },
    async stop() {
      kubelets.stop();
      await cp.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a file on a host, at a path of the host's own view under /var/lib. */
export function writeHostFile(h: KubeletHarness, host: string, hostPath: string, text: string): void {
  const dir = h.hosts.find((x) => x.name === host)?.hostDir ?? "";
  const file = path.join(hostPaths(dir).varLib, hostPath.replace(/^\/var\/lib\//, ""));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}
