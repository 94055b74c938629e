/**
 * The two steps of scripts/demo.sh that a shell does badly:
 *
 *   node dist/sim/demo.js kernel-param INVENTORY VALUE
 *     adds `VALUE` to the fleet-wide `nix.settings.boot.kernelParams` of an inventory file (a
 *     change every host must reboot for), replacing a value an earlier demo added;
 *   node dist/sim/demo.js summary OUTPUTS TIMELINE SINCE_MS
 *     prints one line per host from the stack's `fleet` output (JSON) and the simulated fleet's
 *     timeline (`npm run sim -- timeline --json`): generation, rebooted or not and why, the kernel
 *     and the package counts when the rollout changed them, how long the node was cordoned and
 *     how long its rollout took.
 */
import * as fs from "node:fs";
import { parseDocument } from "yaml";
import type { TimelineEvent } from "./types";

/** The parameter the demo owns: a name of its own, so an earlier demo's value is replaced, not added to. */
export const DEMO_PARAM = "nixos-fleet-demo";

/** The inventory text with the demo's kernel parameter set to `value`; other content and comments stay. */
export function withKernelParam(inventoryText: string, value: string): string {
  const doc = parseDocument(inventoryText);
  const path = ["nix", "settings", "boot", "kernelParams"];
  const js = doc.toJS() as { nix?: { settings?: { boot?: { kernelParams?: unknown } } } } | null;
  const params = js?.nix?.settings?.boot?.kernelParams ?? [];
  if (!Array.isArray(params)) throw new Error(`nix.settings.boot.kernelParams in the inventory is not a list`);
  const kept = params.filter((p) => typeof p !== "string" || !p.startsWith(`${DEMO_PARAM}=`));
  doc.setIn(path, [...kept, `${DEMO_PARAM}=${value}`]);
  return doc.toString();
}

/** The part of a host's `changes` output (lib/rollout/changes.ts ChangeReport) the summary shows. */
interface Changes {
  readonly changed: boolean;
  readonly kernel: { readonly from: string; readonly to: string };
  readonly packages: { readonly added: readonly unknown[]; readonly removed: readonly unknown[]; readonly upgraded: readonly unknown[] };
  readonly packagesError: string;
}

/** "kernel 6.6.45 → 6.6.46" when it changed, and the package counts, of a rollout that changed the system. */
function changeParts(c: Changes | undefined): string[] {
  if (!c?.changed) return [];
  const parts = c.kernel.from !== c.kernel.to ? [`kernel ${c.kernel.from} → ${c.kernel.to}`] : [];
  const { added, removed, upgraded } = c.packages;
  const none = added.length + removed.length + upgraded.length === 0;
  parts.push(none && c.packagesError !== "" ? "packages could not be read" : `packages: ${upgraded.length} upgraded, ${added.length} added, ${removed.length} removed`);
  return parts;
}

/** One host's line of the stack output `fleet`. */
interface HostOutput {
  readonly generation: number;
  readonly rebooted: boolean;
  readonly rebootReason: string;
  /** Absent from the outputs of a stack last rolled out before changes were reported. */
  readonly changes?: Changes;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One line per host: what its last rollout did, and what the timeline saw of it since `sinceMs`. */
export function summaryLines(outputs: Readonly<Record<string, HostOutput>>, events: readonly TimelineEvent[], sinceMs: number): string[] {
  return Object.entries(outputs).map(([host, o]) => {
    const mine = events.filter((e) => e.host === host && e.t >= sinceMs);
    const first = mine.find((e) => e.kind === "build-started");
    const cordon = mine.find((e) => e.kind === "cordon");
    const uncordon = [...mine].reverse().find((e) => e.kind === "uncordon");
    const last = mine[mine.length - 1];
    const parts = [`${host}: generation ${o.generation}`, o.rebooted ? `rebooted (${o.rebootReason})` : `not rebooted (${o.rebootReason})`];
    parts.push(...changeParts(o.changes));
    if (cordon && uncordon && uncordon.t >= cordon.t) parts.push(`cordoned ${seconds(uncordon.t - cordon.t)}`);
    if (first && last) parts.push(`rollout ${seconds(last.t - first.t)}`);
    return parts.join(", ");
  });
}

function main(argv: readonly string[]): number {
  const [command, ...args] = argv;
  if (command === "kernel-param" && args.length === 2) {
    fs.writeFileSync(args[0], withKernelParam(fs.readFileSync(args[0], "utf8"), args[1]));
    return 0;
  }
  if (command === "summary" && args.length === 3) {
    const outputs = JSON.parse(fs.readFileSync(args[0], "utf8")) as Record<string, HostOutput>;
    const events = fs
      .readFileSync(args[1], "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as TimelineEvent);
    for (const line of summaryLines(outputs, events, Number(args[2]))) process.stdout.write(`  ${line}\n`);
    return 0;
  }
  process.stderr.write("usage: demo.js kernel-param INVENTORY VALUE | summary OUTPUTS.json TIMELINE.jsonl SINCE_MS\n");
  return 2;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
