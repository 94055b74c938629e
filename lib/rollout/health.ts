/**
 * Health gates: what must hold after a host's rollout before the next host is touched.
 * Nodes Ready; DaemonSets, Deployments and StatefulSets in the watched namespaces rolled out
 * (as `kubectl rollout status` judges them); and the inventory's command gates.
 */
import type { Cluster, WorkloadHealth, WorkloadKind } from "../cluster/cluster";
import type { Host } from "../host/host";
import { RolloutError } from "./errors";
import type { Progress } from "./progress";
import type { CommandGate, HealthGates } from "./spec";
import { type Clock, done, notYet, waitUntil, WaitTimeoutError } from "./wait";

export interface GateContext {
  readonly host: string;
  readonly timeoutSeconds: number;
  readonly clock?: Clock;
  readonly progress: Progress;
  /**
   * The Nodes other rollouts of the fleet are disrupting now (they hold slots of the fleet
   * lease, within the budget): their own rollouts answer for them, so their being NotReady, and
   * the workload pods on them being unavailable, does not fail this host's gates.
   */
  readonly othersDisrupting?: () => Promise<readonly string[]>;
  /**
   * Before a host is touched (the preflight): its own Node, which its rollout may be about to
   * repair, is not held against it; the gates after its rollout check it like any other.
   */
  readonly ownNode?: string;
  /** Stops the gates' waits (their caller failed for another reason meanwhile). */
  readonly signal?: AbortSignal;
}

/** A NotReady Node a gate does not hold against the host, and why. */
export interface Excuse {
  readonly node: string;
  readonly why: string;
}

/** What the nodes gate makes of the Nodes: passed, or what it still waits for. Pure. */
export function judgeNodes(nodes: readonly { name: string; ready: boolean }[], excuses: readonly Excuse[]): { ok: true; note: string } | { ok: false; waiting: string } {
  const why = new Map(excuses.map((e) => [e.node, e.why]));
  const notReady = nodes.filter((n) => !n.ready).map((n) => n.name);
  const blamed = notReady.filter((n) => !why.has(n));
  if (blamed.length > 0) return { ok: false, waiting: `not Ready: ${blamed.join(", ")}` };
  const ready = `${nodes.length - notReady.length} nodes Ready`;
  return { ok: true, note: [ready, ...notReady.map((n) => `${n} ${why.get(n) ?? ""}`)].join("; ") };
}

/** The excuses of a gate context now. */
async function excusesOf(c: GateContext): Promise<Excuse[]> {
  const others = c.othersDisrupting === undefined ? [] : await c.othersDisrupting();
  const out = others.map((node) => ({ node, why: "disrupted by another rollout of the fleet" }));
  if (c.ownNode !== undefined && !others.includes(c.ownNode)) out.push({ node: c.ownNode, why: "not Ready, on the host about to be rolled out" });
  return out;
}

/**
 * Whether a workload passes: healthy, or complete but for unavailable pods that are all
 * accounted for by its pods on excused NotReady Nodes (`excusedPods` of it there). Pure.
 */
export function workloadPasses(w: WorkloadHealth, excusedPods: number): boolean {
  return w.healthy || (w.unavailablePods !== undefined && w.unavailablePods <= excusedPods);
}

/** "Kind/namespace/name" of a workload, to count its pods. */
const workloadKey = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

const plural: Record<WorkloadKind, string> = { Deployment: "deployments", DaemonSet: "daemonsets", StatefulSet: "statefulsets" };

/** "4 daemonsets healthy in kube-system, 2 deployments healthy in kube-system" */
export function summarizeWorkloads(namespace: string, workloads: readonly WorkloadHealth[]): string[] {
  const lines: string[] = [];
  for (const kind of ["DaemonSet", "Deployment", "StatefulSet"] as const) {
    const of = workloads.filter((w) => w.kind === kind);
    if (of.length > 0) lines.push(`${of.length} ${plural[kind]} healthy in ${namespace}`);
  }
  return lines;
}

/** Does `gate` pass on this command result? */
export function commandGatePasses(gate: CommandGate, code: number | null, stdout: string): boolean {
  if (code !== gate.exitCode) return false;
  if (gate.passWhen.length === 0) return true;
  return gate.passWhen.some((p) => new RegExp(p, "m").test(stdout));
}

/**
 * Waits for every gate within one deadline; throws a RolloutError naming the gate that failed.
 * The gates wait side by side (a rollout pays for the slowest, not for their sum); their lines
 * are printed in the gates' order once all passed, and when several fail the first in that
 * order is reported.
 */
export async function waitForGates(
  gates: HealthGates,
  cluster: Cluster | undefined,
  host: Host | undefined,
  c: GateContext,
): Promise<void> {
  const clock = c.clock;
  const opts = (what: string) => ({ what, timeoutSeconds: c.timeoutSeconds, intervalMs: 250, clock, signal: c.signal });
  const fail = (gate: string, error: unknown): never => {
    if (error instanceof WaitTimeoutError) {
      throw new RolloutError(c.host, "health", `gate "${gate}" did not pass: ${error.message}`, `check the cluster, fix what the gate reports, then run the rollout again.`);
    }
    throw error;
  };
  /** How many pods of each workload are on excused Nodes that are NotReady now (they cannot be available). */
  const excusedPods = async (): Promise<Map<string, number>> => {
    const count = new Map<string, number>();
    const excused = new Set((await excusesOf(c)).map((e) => e.node));
    if (excused.size === 0 || !cluster) return count;
    for (const n of await cluster.listNodes()) {
      if (n.ready || !excused.has(n.name)) continue;
      for (const p of await cluster.listPodsOnNode(n.name)) {
        if (p.workload === undefined) continue;
        const key = workloadKey(p.workload.kind, p.namespace, p.workload.name);
        count.set(key, (count.get(key) ?? 0) + 1);
      }
    }
    return count;
  };
  /** One gate: its name, and what it prints once passed. */
  const checks: { gate: string; run: () => Promise<string[]> }[] = [];
  if (cluster && gates.nodesReady) {
    checks.push({
      gate: "nodes Ready",
      run: async () => [
        await waitUntil(opts("every node to be Ready"), async () => {
          const nodes = await cluster.listNodes();
          // The excuses cost a read of the fleet lease: only asked for when a Node is not Ready.
          const j = judgeNodes(nodes, nodes.every((n) => n.ready) ? [] : await excusesOf(c));
          return j.ok ? done(j.note) : notYet(j.waiting);
        }),
      ],
    });
  }
  if (cluster) {
    for (const ns of gates.watchedNamespaces) {
      checks.push({
        gate: `workloads in ${ns}`,
        run: async () => {
          let reported = false;
          const healthy = await waitUntil(opts(`workloads in namespace ${ns} to be rolled out`), async () => {
            const workloads = await cluster.listWorkloads(ns);
            const unhealthy = workloads.filter((w) => !w.healthy);
            const excused = unhealthy.length === 0 ? new Map<string, number>() : await excusedPods();
            const sick = unhealthy.filter((w) => !workloadPasses(w, excused.get(workloadKey(w.kind, w.namespace, w.name)) ?? 0));
            if (sick.length === 0) return done({ healthy: workloads.filter((w) => w.healthy), excused: unhealthy });
            if (!reported) {
              c.progress(`${sick.length} workloads recovering in ${ns}`);
              reported = true;
            }
            return notYet(sick.map((w) => `${w.kind} ${w.name}: ${w.reason}`).join("; "));
          });
          return [
            ...summarizeWorkloads(ns, healthy.healthy),
            ...healthy.excused.map((w) => `${w.kind} ${ns}/${w.name}: ${w.unavailablePods ?? 0} pods unavailable, on Nodes not held against ${c.host}`),
          ];
        },
      });
    }
  }
  if (host) {
    for (const gate of gates.commands) {
      checks.push({
        gate: gate.name,
        run: async () => {
          const out = await waitUntil(opts(`command gate "${gate.name}" (${gate.command}) to pass`), async () => {
            const r = await host.exec(gate.command, { timeoutMs: 60_000 });
            const first = (r.stdout.trim().split("\n")[0] ?? "").slice(0, 200);
            return commandGatePasses(gate, r.code, r.stdout) ? done(first) : notYet(`exit ${r.code}: ${first || r.stderr.trim().slice(0, 200)}`);
          });
          return [`${gate.name}: ${out}`];
        },
      });
    }
  }
  const results = await Promise.allSettled(checks.map((g) => g.run()));
  results.forEach((r, i) => {
    if (r.status === "rejected") fail(checks[i].gate, r.reason);
  });
  for (const r of results) if (r.status === "fulfilled") for (const line of r.value) c.progress(line);
}
