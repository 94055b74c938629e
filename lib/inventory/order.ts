/**
 * The order hosts are rolled out in: the control plane first (a newer control plane serves
 * older kubelets, not the other way round), then the workers; inventory order within each.
 */
import type { HostRole } from "../rollout/spec";

const RANK: Readonly<Record<HostRole, number>> = { "control-plane": 0, worker: 1 };

/** Rank of a role in the rollout; lower goes first. */
export function roleRank(role: HostRole): number {
  return RANK[role];
}

/** The hosts in rollout order; stable, so the inventory decides the order within a role. */
export function rolloutOrder<T extends { readonly role: HostRole }>(hosts: readonly T[]): T[] {
  return hosts
    .map((host, index) => ({ host, index }))
    .sort((a, b) => roleRank(a.host.role) - roleRank(b.host.role) || a.index - b.index)
    .map((e) => e.host);
}
