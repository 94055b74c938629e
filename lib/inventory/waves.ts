/**
 * Which hosts are rolled out together: the waves of a rollout, decided from the plan order and
 * the disruption budget alone (pure). The engine runs the hosts of a wave at once and starts a
 * wave only when the one before it has finished.
 *
 * The rules: each control-plane host is a wave of its own, and they all come before any worker
 * (a newer control plane serves older kubelets, not the other way round, and losing two of
 * them can lose quorum); no wave holds more than `maxUnavailable` hosts; no wave mixes two
 * failure domains. Within those rules the waves are as few as they can be: the workers of one
 * domain go together, domains in the order their first host appears in the plan, and the hosts
 * of a domain in plan order.
 */
import type { HostRole } from "../rollout/spec";

/** A host as the wave planner sees it. */
export interface WaveHost {
  readonly name: string;
  readonly role: HostRole;
  /** The host's failure domain (`<label>=<value>`); undefined when the fleet names none. */
  readonly domain?: string;
}

/** The waves, in order; each a list of host names. */
export type Waves = readonly (readonly string[])[];

/**
 * Cuts `hosts` (in plan order: control plane first) into waves that respect the budget and the
 * failure domains. Throws on a budget below one, which the inventory schema already refuses.
 */
export function planWaves(hosts: readonly WaveHost[], maxUnavailable: number): string[][] {
  if (!Number.isInteger(maxUnavailable) || maxUnavailable < 1) throw new RangeError(`maxUnavailable must be a whole number of at least 1, got ${maxUnavailable}`);
  const waves: string[][] = hosts.filter((h) => h.role === "control-plane").map((h) => [h.name]);
  const byDomain = new Map<string | undefined, string[]>();
  for (const h of hosts) {
    if (h.role === "control-plane") continue;
    const group = byDomain.get(h.domain) ?? [];
    group.push(h.name);
    byDomain.set(h.domain, group);
  }
  for (const names of byDomain.values()) {
    for (let i = 0; i < names.length; i += maxUnavailable) waves.push(names.slice(i, i + maxUnavailable));
  }
  return waves;
}

/**
 * The disruption group of a host, as the fleet lease compares them: hosts of different groups
 * are never disrupted at the same time, whichever stack rolls them out. A control-plane host is
 * a group of its own; a worker is in its failure domain's, or in the fleet's single group ("")
 * when the fleet names no domains.
 */
export function disruptionGroup(host: WaveHost): string {
  if (host.role === "control-plane") return `control-plane ${host.name}`;
  return host.domain ?? "";
}
