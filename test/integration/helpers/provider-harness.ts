/** Helpers of the provider's integration tests. */
import { readTree } from "../../../lib/inventory/fsTree";
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import * as fs from "node:fs";
import { promisify } from "node:util";
import { loadInventory } from "../../../lib/inventory/load";
import { planHosts } from "../../../lib/inventory/plan";
import * as impl from "../../../providers/impl";
import type { HostProps } from "../../../providers/props";
import type { HostSpec } from "../../../lib/rollout/spec";
import { fleetInventoryObject } from "../../../sim/inventory";
import type { FleetJson, TimelineEvent } from "../../../sim/types";

/** The project folder (tests run from dist/test/integration). */
const PROJECT_DIR = path.resolve(__dirname, "../../../..");

/**
 * Plans an inventory (as inventoryFor gives it) for a running simulated fleet the way a stack
 * pointed at it would: the fleet's addresses and keys filled in, its login key as the secret.
 */
export function planForFleet(inventory: ReturnType<typeof inventoryFor>, fleet: FleetJson, values: Readonly<Record<string, string>>): HostSpec[] {
  const io = { readFile: (p: string) => fs.readFileSync(p, "utf8"), readTree };
  const loaded = loadInventory({ inventory: fleetInventoryObject(inventory, fleet, fleet.stateDir), projectDir: PROJECT_DIR }, io);
  return planHosts(loaded, { sshPrivateKey: fs.readFileSync(fleet.sshKeyPath, "utf8"), values: { ...values } }, io);
}

/** A structured inventory (as stack config would hold it) for the simulated fleet srv1..srv3. */
export function inventoryFor() {
  return {
    rebuild: { action: "switch", rebootPolicy: "when-needed" },
    timeouts: {
      connectSeconds: 5,
      lockSeconds: 10,
      rebuildSeconds: 60,
      drainSeconds: 30,
      shutdownSeconds: 20,
      bootSeconds: 30,
      settleSeconds: 30,
      readySeconds: 30,
      healthSeconds: 30,
    },
    kubernetes: { enabled: true, watchedNamespaces: ["kube-system", "default"] },
    // Like k3s, the simulated cluster runs metrics-server (and the demo web Deployment) with
    // emptyDir volumes, which kubectl drain refuses to evict without --delete-emptydir-data.
    drain: { deleteEmptyDirData: true },
    health: { nodesReady: true },
    k3s: { enable: true, serverAddr: "https://srv1:6443", tokenSecret: "k3sToken" },
    nix: { settings: { boot: { loader: { "systemd-boot": { enable: true } } } } },
    hosts: [
      { name: "srv1", role: "control-plane" } as Record<string, unknown>,
      { name: "srv2", role: "worker" } as Record<string, unknown>,
      { name: "srv3", role: "worker" } as Record<string, unknown>,
    ],
  } as { rebuild: object; timeouts: Record<string, number>; hosts: Array<Record<string, unknown>>; [k: string]: unknown };
}

/** Runs `f` while collecting what it prints with console.log (the provider's progress lines). */
export async function captureConsole<T>(f: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  try {
    return { result: await f(), lines };
  } catch (error) {
    if (error instanceof Error) error.message += `\n(progress so far:\n${lines.join("\n")})`;
    throw error;
  } finally {
    console.log = original;
  }
}

/**
 * Rolls `spec` out through the provider as the engine would: a create the first time, then an
 * update from the state recorded in `state`, which gets the new outputs. `inputs` turns the spec
 * into the property bag the engine sends (e.g. with its serialized provider).
 */
export async function rollOutThrough(
  state: Map<string, HostProps>,
  spec: HostSpec,
  inputs: (spec: HostSpec) => HostProps = (s) => s as HostProps,
): Promise<{ props: HostProps; lines: string[] }> {
  const prev = state.get(spec.name);
  const { result, lines } = await captureConsole(() =>
    prev ? impl.update(spec.name, prev, inputs(spec)).then((r) => r.outs as HostProps) : impl.create(inputs(spec)).then((r) => r.outs as HostProps),
  );
  state.set(spec.name, result);
  return { props: result, lines };
}

/** Whether any file in a simulated host's /nix/store contains `needle`. */
export async function hostStoreContains(stateDir: string, host: string, needle: string): Promise<boolean> {
  const store = path.join(stateDir, "hosts", host, "fs", "store");
  try {
    await promisify(execFile)("grep", ["-r", "-l", "-F", "--", needle, store]);
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 1) return false;
    throw error;
  }
}

/** Asserts that at no moment two hosts were cordoned or down at once, from the timeline. */
export function assertNeverTwoDisrupted(events: readonly TimelineEvent[]): void {
  const disrupted = new Set<string>();
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    if (e.kind === "cordon" || e.kind === "reboot-started" || e.kind === "down") disrupted.add(e.host);
    if (e.kind === "uncordon") disrupted.delete(e.host);
    assert.ok(disrupted.size <= 1, `two hosts disrupted at ${new Date(e.t).toISOString()}: ${[...disrupted].join(", ")}`);
  }
}
