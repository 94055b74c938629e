/**
 * The simulated fleet overlay: with stack config fleet:simFleet naming a .sim/fleet.json, each
 * inventory host is reached at the simulated host of the same name (address, port, host key),
 * with the simulation's client key and kubeconfig. Everything else in the inventory stays.
 */
import * as path from "node:path";
import { z } from "zod";
import type { FleetJson } from "../../sim/types";
import type { IssueList } from "./errors";
import type { ParsedInventory } from "./schema";

/** What the overlay contributes. */
export interface SimOverlay {
  /** Absolute path of fleet.json. */
  readonly fleetFile: string;
  /** Absolute path of the client private key every simulated host accepts. */
  readonly sshKeyPath: string;
}

const fleetJsonSchema = z.object({
  hosts: z.array(z.object({ name: z.string(), address: z.string(), port: z.number().int(), hostKey: z.string() })),
  sshKeyPath: z.string().min(1),
  kubeconfig: z.string().min(1),
});

/**
 * Reads fleet.json and applies it to the parsed inventory. Problems go to `issues`; the
 * inventory is returned unchanged when the file is unusable.
 */
export function applySimFleet(
  inv: ParsedInventory,
  fleetFile: string,
  readFile: (p: string) => string,
  issues: IssueList,
): { inventory: ParsedInventory; overlay?: SimOverlay } {
  const subject = `fleet:simFleet (${fleetFile})`;
  let fleet: Pick<FleetJson, "hosts" | "sshKeyPath" | "kubeconfig">;
  try {
    const parsed = fleetJsonSchema.safeParse(JSON.parse(readFile(fleetFile)));
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      issues.addIssue({ path: [], subject, message: `not a simulated fleet file: ${first.path.join(".")}: ${first.message}` });
      return { inventory: inv };
    }
    fleet = parsed.data;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    issues.addIssue({ path: [], subject, message: `cannot read the simulated fleet: ${why}; start the simulated fleet first, or unset fleet:simFleet` });
    return { inventory: inv };
  }
  const dir = path.dirname(fleetFile);
  const byName = new Map(fleet.hosts.map((h) => [h.name, h]));
  const hosts = inv.hosts.map((host, i) => {
    const sim = byName.get(host.name);
    if (sim === undefined) {
      const have = fleet.hosts.map((h) => h.name).join(", ") || "no hosts";
      issues.add(["hosts", i, "name"], `inventory host "${host.name}" is not in the simulated fleet ${fleetFile} (it has ${have}); add it to the simulation or remove it from the inventory`);
      return host;
    }
    return { ...host, address: sim.address, hostKey: sim.hostKey, ssh: { ...host.ssh, port: sim.port } };
  });
  return {
    inventory: { ...inv, hosts, kubernetes: { ...inv.kubernetes, kubeconfigFile: path.resolve(dir, fleet.kubeconfig) } },
    overlay: { fleetFile, sshKeyPath: path.resolve(dir, fleet.sshKeyPath) },
  };
}
