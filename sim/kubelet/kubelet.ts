/**
 * One host's simulated kubelet: while the host is up and its system runs k3s, it registers
 * its Node, posts the Node's status (NotReady at start, Ready kubeletReadyMs later, with the
 * boot's bootID) and renews its Lease. At power-off it simply stops, as a dead kubelet does:
 * the control plane's node lifecycle controller notices the missing renewals by itself.
 */
import type { Api } from "./api";
import { MERGE_PATCH, statusOf, unless } from "./api";
import { type KubeletRun, microTime, NODE_LEASE_NAMESPACE, nodeLease, nodeStatus, nodeToRegister, type Readiness } from "./node-objects";

/** How often a running kubelet renews its Lease, and the longest it goes without posting status. */
export const KUBELET_INTERVALS = { leaseRenewMs: 2_000, statusMs: 10_000 } as const;

/** What a kubelet does on each tick, decided from its state. */
export class Kubelet {
  private lastLeaseMs = 0;
  private lastStatusMs = 0;
  private postedReady: boolean | undefined;
  private transition = new Date();
  private nodeUid: string | undefined;

  constructor(
    private readonly api: Api,
    readonly run: KubeletRun,
    private readonly startedAtMs: number,
    private readonly readyAfterMs: number,
    /** The reason the kubelet does not turn Ready (a fault), or undefined. */
    private readonly heldBack: () => string | undefined,
    /** Called after each status this kubelet posted, with its Ready. */
    private readonly posted: (ready: boolean) => void,
  ) {}

  /** Whether the kubelet reports Ready now. */
  readiness(now: number): Readiness {
    const held = this.heldBack();
    if (held !== undefined) return { ready: false, message: held };
    if (now - this.startedAtMs < this.readyAfterMs) return { ready: false, message: "container runtime status check may not have completed yet" };
    return { ready: true };
  }

  /** Whether this kubelet reported its Node Ready in its last status. */
  get reportedReady(): boolean {
    return this.postedReady === true;
  }

  /** One step: register when the Node is missing, post status when it changed or is due, renew the Lease when due. */
  async tick(now: number): Promise<void> {
    if (this.nodeUid === undefined) await this.register();
    const readiness = this.readiness(now);
    if (readiness.ready !== this.postedReady || now - this.lastStatusMs >= KUBELET_INTERVALS.statusMs) {
      if (readiness.ready !== this.postedReady) this.transition = new Date(now);
      try {
        await this.api.core.patchNodeStatus({ name: this.run.node, body: { status: nodeStatus(this.run, readiness, new Date(now), this.transition) } }, MERGE_PATCH);
      } catch (e) {
        // The Node was deleted under a running kubelet: it registers again, as a kubelet does.
        if (statusOf(e) === 404) this.nodeUid = undefined;
        throw e;
      }
      this.postedReady = readiness.ready;
      this.lastStatusMs = now;
      this.posted(readiness.ready);
    }
    if (now - this.lastLeaseMs >= KUBELET_INTERVALS.leaseRenewMs) {
      await this.renewLease(now);
      this.lastLeaseMs = now;
    }
  }

  private async register(): Promise<void> {
    const created = await unless(409, this.api.core.createNode({ body: nodeToRegister(this.run) }));
    const node = created ?? (await this.api.core.readNode({ name: this.run.node }));
    this.nodeUid = node.metadata?.uid ?? "";
    this.postedReady = undefined;
    this.lastLeaseMs = 0;
  }

  private async renewLease(now: number): Promise<void> {
    const c = this.api.coordination;
    const lease = await unless(404, c.readNamespacedLease({ name: this.run.node, namespace: NODE_LEASE_NAMESPACE }));
    if (lease === undefined) {
      await c.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body: nodeLease(this.run.node, this.nodeUid ?? "", new Date(now)) });
      return;
    }
    lease.spec = { ...lease.spec, holderIdentity: this.run.node, renewTime: microTime(new Date(now)) };
    await c.replaceNamespacedLease({ name: this.run.node, namespace: NODE_LEASE_NAMESPACE, body: lease });
  }
}

/** A Node's Ready condition as last seen, and the boot it was reported for. */
export interface SeenReady {
  readonly ready: boolean;
  readonly bootId: string;
}

/**
 * The timeline event a newly seen Ready state means: ready when the Node turns Ready, or is
 * Ready for another boot (its NotReady moment fell between two looks); not-ready when it stops
 * being Ready. Pure.
 */
export function readinessEvent(before: SeenReady | undefined, now: SeenReady): "ready" | "not-ready" | undefined {
  if (now.ready && (before?.ready !== true || before.bootId !== now.bootId)) return "ready";
  if (!now.ready && before?.ready === true) return "not-ready";
  return undefined;
}
