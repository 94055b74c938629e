/**
 * An ordinary inventory for a running simulated fleet: the user's inventory template (e.g.
 * inventory/dev.yaml, which leaves addresses and host keys out) with each host's address, SSH
 * port and host key filled in from fleet.json, and the fleet's kubeconfig file. The program
 * reads the result like any inventory file; it knows nothing about the simulation. The login
 * key is not written here: it goes into the stack config as a secret
 * (`pulumi config set --secret fleet:sshPrivateKey < .sim/id_ed25519`).
 */
import * as path from "node:path";
import { isMap, isSeq, parseDocument, type Document } from "yaml";
import type { FleetJson } from "./types";

/** A template the fleet cannot fill in, with the reason. */
export class SimInventoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimInventoryError";
  }
}

/** What the fleet fills in for one host of the template. */
export interface HostConnection {
  readonly address: string;
  readonly hostKey: string;
  readonly port: number;
}

/** The connection data of the template host `name`, or an error naming what to do. */
function connectionOf(fleet: Pick<FleetJson, "hosts">, fleetDir: string, where: string, name: unknown): HostConnection {
  const sim = typeof name === "string" ? fleet.hosts.find((h) => h.name === name) : undefined;
  if (sim === undefined) {
    const have = fleet.hosts.map((h) => h.name).join(", ") || "no hosts";
    throw new SimInventoryError(
      `${where} (${String(name)}) is not in the simulated fleet in ${fleetDir} (it has ${have}); start the fleet with these host names (npm run sim -- up --host-names …) or remove the host from the template`,
    );
  }
  return { address: sim.address, hostKey: sim.hostKey, port: sim.port };
}

type PlainHost = Record<string, unknown> & { readonly name?: unknown; readonly ssh?: Record<string, unknown> };

/** The same as fleetInventory for an inventory given as a plain object (the stack config form). */
export function fleetInventoryObject<T extends { hosts: readonly PlainHost[]; kubernetes?: Record<string, unknown> }>(
  inventory: T,
  fleet: Pick<FleetJson, "hosts" | "kubeconfig">,
  fleetDir: string,
): T & { kubernetes: Record<string, unknown> } {
  const hosts = inventory.hosts.map((h, i) => {
    const c = connectionOf(fleet, fleetDir, `hosts[${i}]`, h.name);
    return { ...h, address: c.address, hostKey: c.hostKey, ssh: { ...(h.ssh ?? {}), port: c.port } };
  });
  return { ...inventory, hosts, kubernetes: { ...(inventory.kubernetes ?? {}), kubeconfigFile: path.resolve(fleetDir, fleet.kubeconfig) } };
}

/**
 * Fills `templateText` (YAML) in for `fleet`, whose state folder is `fleetDir`. Keeps the
 * template's comments and order; every host of the template must be in the fleet.
 */
export function fleetInventory(templateText: string, templateName: string, fleet: Pick<FleetJson, "hosts" | "kubeconfig">, fleetDir: string): string {
  const doc = parseDocument(templateText);
  if (doc.errors.length > 0) throw new SimInventoryError(`${templateName}: ${doc.errors[0].message}`);
  const hosts = doc.get("hosts");
  if (!isSeq(hosts)) throw new SimInventoryError(`${templateName}: no hosts list to fill in`);
  hosts.items.forEach((item, i) => {
    if (!isMap(item)) throw new SimInventoryError(`${templateName}: hosts[${i}] is not a mapping`);
    const c = connectionOf(fleet, fleetDir, `${templateName}: hosts[${i}]`, item.get("name"));
    item.set("address", c.address);
    item.set("hostKey", c.hostKey);
    setIn(doc, ["hosts", i, "ssh", "port"], c.port);
  });
  setIn(doc, ["kubernetes", "kubeconfigFile"], path.resolve(fleetDir, fleet.kubeconfig));
  const header = `# Written by \`npm run sim -- inventory\` from ${templateName} for the simulated fleet in ${fleetDir}.\n# Regenerate it after every \`sim up\`; edit the template, not this file.\n`;
  return header + doc.toString();
}

function setIn(doc: Document, at: ReadonlyArray<string | number>, value: unknown): void {
  doc.setIn(at, doc.createNode(value));
}
