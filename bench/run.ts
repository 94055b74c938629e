/**
 * Rollout overhead benchmark: how much time a host's rollout spends beyond the waits that are
 * inherent to the host (the build, the reboot, the kubelet starting). Runs against a simulated
 * fleet with short simulated delays, rolls each host out twice (a live change, then a change
 * that needs a reboot), and prints one JSON line per rollout plus a summary.
 * Target: under 0.5 s of overhead per node. Needs root (the simulated fleet).
 *
 *   npm run bench            # 3 hosts
 *   npm run bench -- 5       # 5 hosts
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadInventory } from "../lib/inventory/load";
import { planHosts } from "../lib/inventory/plan";
import type { HostSpec } from "../lib/rollout/spec";
import * as impl from "../providers/impl";
import type { HostProps } from "../providers/props";
import { SimFleet } from "../sim/fleet";
import { fleetInventoryObject } from "../sim/inventory";
import type { TimelineEvent } from "../sim/types";
import { inventoryFor } from "../test/integration/helpers/provider-harness";

const TARGET_MS = 500;
const verbose = process.env.BENCH_PHASES === "1";
let t0Phase = () => 0;
const projectDir = path.resolve(__dirname, "../..");

/** Time the host itself accounts for between `from` and `to`: building, and rebooting until Ready. */
export function inherentMs(events: readonly TimelineEvent[], host: string, from: number, to: number): number {
  const mine = events.filter((e) => e.host === host && e.t >= from && e.t <= to);
  const span = (start: string, end: string) => {
    const s = mine.find((e) => e.kind === start);
    const e = s ? mine.find((x) => x.kind === end && x.t >= s.t) : undefined;
    return s && e ? e.t - s.t : 0;
  };
  return span("build-started", "build-finished") + span("reboot-started", "ready");
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 3);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-bench-"));
  const fleet = await SimFleet.start({
    stateDir,
    hosts: count,
    timings: { downMs: 300, slowBootMs: 300, systemdSettleMs: 0, kubeletReadyMs: 100, podTerminationMs: 50, rescheduleMs: 50 },
  });
  const io = { readFile: (p: string) => fs.readFileSync(p, "utf8") };
  const plan = (edit: (inv: ReturnType<typeof inventoryFor>) => void): HostSpec[] => {
    const inv = inventoryFor();
    inv.hosts = Array.from({ length: count }, (_v, i) => ({ name: `srv${i + 1}`, role: i === 0 ? "control-plane" : "worker" }));
    edit(inv);
    const loaded = loadInventory({ inventory: fleetInventoryObject(inv, fleet.fleetJson, stateDir), projectDir }, io);
    return planHosts(loaded, { sshPrivateKey: fs.readFileSync(fleet.fleetJson.sshKeyPath, "utf8"), values: { k3sToken: "bench" } }, io);
  };
  const state = new Map<string, HostProps>();
  const results: Array<{ host: string; kind: string; totalMs: number; inherentMs: number; overheadMs: number }> = [];
  const quietLog = console.log;
  try {
    const rounds: Array<[string, (inv: ReturnType<typeof inventoryFor>) => void]> = [
      ["first rollout", () => undefined],
      ["live change", (inv) => (inv.nix = { settings: { ...(inv.nix as { settings: object }).settings, environment: { variables: { BENCH: "1" } } } })],
      ["reboot", (inv) => (inv.nix = { settings: { ...(inv.nix as { settings: object }).settings, boot: { loader: { "systemd-boot": { enable: true } }, kernelParams: ["bench=1"] } } })],
    ];
    for (const [kind, edit] of rounds) {
      for (const spec of plan(edit)) {
        const phases: string[] = [];
        console.log = (line: string) => void phases.push(`${Date.now() - t0Phase()}ms ${line}`);
        const t0 = Date.now();
        t0Phase = () => t0;
        const prev = state.get(spec.name);
        const r = prev ? await impl.update(spec.name, prev, spec as HostProps) : await impl.create(spec as HostProps);
        const t1 = Date.now();
        console.log = quietLog;
        state.set(spec.name, r.outs as HostProps);
        const inherent = inherentMs(fleet.timeline(), spec.name, t0, t1);
        const row = { host: spec.name, kind, totalMs: t1 - t0, inherentMs: inherent, overheadMs: t1 - t0 - inherent, phases: verbose ? phases : undefined };
        results.push(row);
        console.log(JSON.stringify(row));
      }
    }
  } finally {
    console.log = quietLog;
    await fleet.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  const over = results.map((r) => r.overheadMs).sort((a, b) => a - b);
  const median = over[Math.floor(over.length / 2)];
  const worst = over[over.length - 1];
  console.log(JSON.stringify({ summary: true, hosts: count, rollouts: results.length, medianOverheadMs: median, worstOverheadMs: worst, targetMs: TARGET_MS, met: worst < TARGET_MS }));
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
