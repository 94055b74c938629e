/**
 * Starts the simulated Kubernetes API server for a test on loopback in a temporary state
 * folder, with small timings, and gives raw HTTPS access, kubectl and polling with deadlines.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { SimKube, type SimKubeNode } from "../../../sim/kube/index";
import type { SimTimings, TimelineKind } from "../../../sim/types";

/** Small timings so a test sees every transition in well under a second. */
export const TEST_TIMINGS: SimTimings = {
  downMs: 100,
  slowBootMs: 200,
  systemdSettleMs: 20,
  kubeletReadyMs: 150,
  podTerminationMs: 150,
  rescheduleMs: 250,
};

export const TEST_NODES: readonly SimKubeNode[] = [
  { name: "cp1", role: "control-plane" },
  { name: "w1", role: "worker" },
  { name: "w2", role: "worker" },
];

export interface RecordedEvent {
  readonly t: number;
  readonly host: string;
  readonly kind: TimelineKind;
  readonly detail?: Record<string, unknown>;
}

export interface SimHarness {
  readonly sim: SimKube;
  readonly dir: string;
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly kubeconfig: string;
  readonly caPem: string;
  readonly token: string;
  readonly events: RecordedEvent[];
  readonly timings: SimTimings;
  stop(): Promise<void>;
}

export async function startSim(timings: SimTimings = TEST_TIMINGS, nodes: readonly SimKubeNode[] = TEST_NODES): Promise<SimHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-kube-test-"));
  const events: RecordedEvent[] = [];
  const sim = new SimKube({ stateDir: dir, nodes, timings, record: (e) => events.push({ t: Date.now(), ...e }) });
  try {
    const { url, kubeconfigPath } = await sim.start();
    const kubeconfig = fs.readFileSync(kubeconfigPath, "utf8");
    const parsed = parse(kubeconfig) as {
      clusters: Array<{ cluster: { "certificate-authority-data": string } }>;
      users: Array<{ user: { token: string } }>;
    };
    return {
      sim, dir, url, kubeconfigPath, kubeconfig, events, timings,
      caPem: Buffer.from(parsed.clusters[0].cluster["certificate-authority-data"], "base64").toString("utf8"),
      token: parsed.users[0].user.token,
      async stop() {
        await sim.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Polls `probe` every 20 ms until it returns a value other than undefined, or fails naming `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? "" : ` (last error: ${String(last)})`}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface RawResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: unknown;
}

/** One HTTPS request to the simulator; `token: null` sends none. */
export function raw(h: SimHarness, method: string, urlPath: string, opts: { token?: string | null; body?: unknown; contentType?: string; accept?: string } = {}): Promise<RawResponse> {
  const token = opts.token === undefined ? h.token : opts.token;
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(urlPath, h.url),
      {
        method,
        ca: h.caPem,
        agent: false,
        timeout: 5000,
        headers: {
          ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
          ...(payload === undefined ? {} : { "Content-Type": opts.contentType ?? "application/json", "Content-Length": Buffer.byteLength(payload) }),
          Accept: opts.accept ?? "application/json",
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const contentType = String(res.headers["content-type"] ?? "");
          resolve({ status: res.statusCode ?? 0, contentType, body: contentType.startsWith("application/json") ? JSON.parse(text) : text });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: no answer within 5 s`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Brings every node up and waits until its Ready condition and all pods are Ready. */
export async function bootAll(h: SimHarness, nodes: readonly SimKubeNode[] = TEST_NODES, bootSuffix = "1"): Promise<void> {
  for (const n of nodes) h.sim.hostUp(n.name, `boot-${n.name}-${bootSuffix}`);
  await waitFor("every node and pod Ready", () => {
    const s = h.sim.snapshot() as { nodes: Array<{ ready: string }>; pods: Array<{ ready: boolean }> };
    return s.nodes.every((n) => n.ready === "True") && s.pods.every((p) => p.ready) ? true : undefined;
  });
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** The kubectl binary, or undefined when none is installed. */
export function findKubectl(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).concat(["/usr/bin", "/usr/local/bin"])) {
    const p = path.join(dir, "kubectl");
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs kubectl against the simulator with its own discovery cache; never longer than timeoutMs. */
export function kubectl(bin: string, h: SimHarness, args: readonly string[], timeoutMs = 60_000): Promise<KubectlResult> {
  const started = Date.now();
  const all = ["--kubeconfig", h.kubeconfigPath, "--cache-dir", path.join(h.dir, "kubectl-cache"), ...args];
  return new Promise((resolve) => {
    execFile(bin, all, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? Number((err as { code: number }).code) : -1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - started });
    });
  });
}
