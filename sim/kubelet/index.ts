/**
 * The simulated kubelets of a fleet, against the real control plane (sim/controlplane): one
 * per host that runs k3s, following the host's power and its booted (or activated) system;
 * the pods they run; the seeded workloads; the pdb-blocks fault as real objects; and the
 * timeline events of what clients did to Nodes and pods, read from kube-apiserver's audit log.
 * The fleet's hosts drive it through KubeHooks (sim/host.ts).
 */
import { messageOf } from "../proc";
import type { SimTimings, TimelineKind } from "../types";
import { type Api, apiOf, unless } from "./api";
import { AuditTail, findingOf } from "./audit";
import { type K3sState, readK3sState, readNodeFacts } from "./host-system";
import { Kubelet, readinessEvent, type SeenReady } from "./kubelet";
import { PodLoop, type PodHost } from "./pods";
import { addPinned, pinnedPending, removePinned, seedPending, seedWorkloads } from "./workloads";

/** One host a kubelet may run on. */
export interface KubeletHost {
  readonly name: string;
  /** Its InternalIP. */
  readonly address: string;
  /** Its folder (sim/layout.ts), where its systems and files are read from outside. */
  readonly hostDir: string;
}

/** How to run the kubelets. */
export interface SimKubeletsOptions {
  /** The admin kubeconfig's text. */
  readonly kubeconfig: string;
  readonly hosts: readonly KubeletHost[];
  readonly timings: SimTimings;
  /** kube-apiserver's audit log (policy AUDIT_POLICY); without it no cordon/eviction events are recorded. */
  readonly auditLog?: string;
  /** Timeline sink; `at` is when the event happened, when it was read later. */
  readonly record: (host: string, kind: TimelineKind, detail?: Record<string, unknown>, at?: number) => void;
  readonly log: (line: string) => void;
}

/** Defaults of the kubelets' loops. */
export const KUBELET_DEFAULTS = {
  /** One round of every kubelet, the pod loop and the Node watch. */
  tickMs: 500,
  auditPollMs: 200,
  /** Deadline of one step of the loop (a kubelet's requests, the pod loop, the Node watch), so a hung request cannot stop it. */
  stepTimeoutMs: 10_000,
  /** Deadline for the pdb-blocks fault's pod to run under its budget. */
  pinnedTimeoutMs: 60_000,
} as const;

interface HostState {
  readonly host: KubeletHost;
  /** The name of its Node: what its k3s registers (--node-name, the host name), the host's name until k3s first ran. */
  node: string;
  bootId: string | undefined;
  system: string | undefined;
  k3s: K3sState | undefined;
  kubelet: Kubelet | undefined;
  neverReady: boolean;
}

/** The kubelets of a fleet; start() before the hosts boot, stop() when the fleet stops. */
export class SimKubelets {
  private readonly api: Api;
  private readonly hosts = new Map<string, HostState>();
  private readonly pods: PodLoop;
  /** What each Node's Ready condition was last seen as, and for which boot. */
  private readonly ready = new Map<string, SeenReady>();
  private readonly cordoned = new Map<string, boolean>();
  private readonly errors = new Map<string, string>();
  private audit: AuditTail | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly o: SimKubeletsOptions) {
    this.api = apiOf(o.kubeconfig);
    for (const host of o.hosts) this.hosts.set(host.name, { host, node: host.name, bootId: undefined, system: undefined, k3s: undefined, kubelet: undefined, neverReady: false });
    this.pods = new PodLoop(this.api, { startMs: o.timings.rescheduleMs, terminationMs: o.timings.podTerminationMs });
  }

  /** Seeds the workloads and starts the loops. */
  async start(): Promise<void> {
    await seedWorkloads(this.api);
    if (this.o.auditLog !== undefined) this.audit = new AuditTail(this.o.auditLog, (e) => this.onAudit(e), KUBELET_DEFAULTS.auditPollMs);
    this.running = true;
    this.schedule();
  }

  /** Waits until every host that runs k3s has a Ready Node and the seeded workloads are available. */
  async settled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const notReady = [...this.hosts.values()].filter((h) => h.kubelet !== undefined && this.ready.get(h.host.name)?.ready !== true).map((h) => h.host.name);
      const pending = notReady.length > 0 ? `Nodes ${notReady.join(", ")} to be Ready` : await seedPending(this.api).catch((e: unknown) => messageOf(e));
      if (pending === undefined) return;
      if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for the simulated cluster to settle: ${pending}`);
      await new Promise((r) => setTimeout(r, KUBELET_DEFAULTS.tickMs));
    }
  }

  /** The host booted `system` with this boot id: its kubelet starts when that system runs k3s. Says whether k3s runs. */
  hostUp(host: string, bootId: string, system: string): K3sState {
    const h = this.must(host);
    h.bootId = bootId;
    h.system = system;
    return this.follow(h, system, Date.now());
  }

  /** The host lost power: its kubelet is gone, its Node and pods stay as they were. */
  hostDown(host: string): void {
    const h = this.must(host);
    h.kubelet = undefined;
    h.bootId = undefined;
  }

  /**
   * A switch activated `system` live, or systemctl started or stopped k3s.service: k3s starts
   * or stops with it. Says whether k3s runs; undefined while the host is down.
   */
  servicesChanged(host: string, system: string): K3sState | undefined {
    const h = this.must(host);
    if (h.bootId === undefined) return undefined;
    return this.follow(h, system, Date.now());
  }

  /** kubelet-never-ready holds a kubelet NotReady; pdb-blocks pins a pod under a budget to the node (resolves once it protects it). */
  async setFault(host: string, fault: "kubelet-never-ready" | "pdb-blocks", on: boolean): Promise<void> {
    const h = this.must(host);
    const node = h.node;
    if (fault === "kubelet-never-ready") {
      h.neverReady = on;
      return;
    }
    if (!on) return removePinned(this.api, node);
    await addPinned(this.api, node);
    const deadline = Date.now() + KUBELET_DEFAULTS.pinnedTimeoutMs;
    for (;;) {
      const pending = await pinnedPending(this.api, node);
      if (pending === undefined) return;
      if (Date.now() > deadline) throw new Error(`pdb-blocks on ${node}: gave up after ${KUBELET_DEFAULTS.pinnedTimeoutMs} ms waiting for ${pending}`);
      await new Promise((r) => setTimeout(r, KUBELET_DEFAULTS.tickMs));
    }
  }

  /** Stops the loops (the control plane goes separately). */
  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.audit?.stop();
  }

  private follow(h: HostState, system: string, now: number): K3sState {
    const k3s = readK3sState(h.host.hostDir, system);
    const was = h.k3s;
    h.k3s = k3s;
    if (!k3s.runs) {
      if (h.kubelet !== undefined || was === undefined || was.runs) this.o.log(`${h.host.name}: k3s does not run in ${system}: ${k3s.why}`);
      h.kubelet = undefined;
      return k3s;
    }
    const node = k3s.nodeName ?? h.host.name;
    // k3s restarted under another --node-name registers a new Node; the old one is left to go NotReady.
    if (h.kubelet !== undefined && node === h.node) return k3s;
    h.node = node;
    const run = { node, role: k3s.role, address: h.host.address, bootId: h.bootId ?? "", facts: readNodeFacts(h.host.hostDir, h.system ?? system), labels: k3s.labels };
    const kubelet: Kubelet = new Kubelet(
      this.api, run, now, this.o.timings.kubeletReadyMs,
      () => (h.neverReady ? "kubelet never became ready (fault kubelet-never-ready)" : undefined),
      // A post that was under way when the host lost power says nothing about a later boot.
      (ready) => (h.kubelet === kubelet ? this.observe(h.host.name, ready, run.bootId) : undefined),
    );
    h.kubelet = kubelet;
    return k3s;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => void this.tick().finally(() => this.schedule()), KUBELET_DEFAULTS.tickMs);
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    const podHosts = new Map<string, PodHost>();
    for (const h of this.hosts.values()) {
      const k = h.kubelet;
      if (k === undefined) continue;
      await this.attempt(`kubelet of ${h.host.name}`, () => k.tick(now));
      podHosts.set(h.node, { ready: k.reportedReady && h.kubelet === k, address: h.host.address });
    }
    await this.attempt("the pod loop", () => this.pods.tick(podHosts, now));
    await this.attempt("the Node watch", () => this.watchNodes());
  }

  /**
   * Reads each Node (a GET, from etcd) for what others changed: the node lifecycle controller
   * marking it Unknown. What a kubelet posts itself is observed as it posts it.
   */
  private async watchNodes(): Promise<void> {
    for (const h of this.hosts.values()) {
      const n = await unless(404, this.api.core.readNode({ name: h.node }));
      if (n === undefined) continue;
      this.observe(h.host.name, n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True", n.status?.nodeInfo?.bootID ?? "");
    }
  }

  /** Records ready when a host's Node turns Ready (or is Ready for a new boot), not-ready when it stops being Ready. */
  private observe(name: string, ready: boolean, bootId: string): void {
    const event = readinessEvent(this.ready.get(name), { ready, bootId });
    this.ready.set(name, { ready, bootId });
    if (event !== undefined) this.o.record(name, event, { bootId });
  }

  private onAudit(e: Parameters<typeof findingOf>[0]): void {
    const f = findingOf(e, this.cordoned);
    if (f === undefined) return;
    const pod = f.pod;
    const node = f.host ?? (pod === undefined ? undefined : this.pods.nodeOf(pod.namespace, pod.name));
    if (node !== undefined || pod === undefined) {
      const host = node === undefined ? undefined : this.hostOfNode(node);
      if (host !== undefined) this.o.record(host, f.kind, f.detail, f.at);
      return;
    }
    // A pod the pod loop has not listed yet: ask where it is bound.
    void this.api.core.readNamespacedPod({ name: pod.name, namespace: pod.namespace }).then(
      (p) => {
        const host = p.spec?.nodeName === undefined ? undefined : this.hostOfNode(p.spec.nodeName);
        if (host !== undefined) this.o.record(host, f.kind, f.detail, f.at);
      },
      (e: unknown) => this.o.log(`the eviction of ${pod.namespace}/${pod.name} is not on the timeline: its node is unknown (${messageOf(e)})`),
    );
  }

  /** Runs one step; a failure is logged once per distinct message, and the loop goes on. */
  private async attempt(what: string, step: () => Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${KUBELET_DEFAULTS.stepTimeoutMs} ms`)), KUBELET_DEFAULTS.stepTimeoutMs);
    });
    try {
      await Promise.race([step(), deadline]);
      this.errors.delete(what);
    } catch (e) {
      const m = messageOf(e);
      if (this.errors.get(what) !== m) this.o.log(`${what}: ${m}`);
      this.errors.set(what, m);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The host whose k3s registered Node `node`. */
  private hostOfNode(node: string): string | undefined {
    for (const h of this.hosts.values()) if (h.node === node) return h.host.name;
    return undefined;
  }

  private must(node: string): HostState {
    const h = this.hosts.get(node);
    if (h === undefined) throw new Error(`no simulated kubelet host named ${JSON.stringify(node)}`);
    return h;
  }
}
