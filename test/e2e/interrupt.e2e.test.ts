/**
 * An interrupted `pulumi up`, end to end with the real Pulumi CLI: the CLI's process group is
 * killed with SIGKILL while a host reboots. No process of the rollout may live on, nothing may be
 * driven on the host or its Node after the kill (no uncordon), and the commands the README gives
 * for this case bring the host back healthy and uncordoned.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { kubeCluster } from "../../lib/cluster/kube";
import { INTERRUPTED_ANNOTATION } from "../../lib/rollout/interrupt";
import { parentOf } from "../../providers/engineWatch";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { exec1 } from "../integration/helpers/fleet-client";
import { inventoryBase } from "./helpers/inventory";
import { configureForFleet, PulumiStack } from "./helpers/pulumi";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 4000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
const PROJECT = path.resolve(__dirname, "../../..");

const inventory = {
  ...inventoryBase({ lockSeconds: 30, readySeconds: 30, watchedNamespaces: ["kube-system"] }),
  hosts: [
    { name: "srv1", role: "control-plane" },
    { name: "srv2", role: "worker" },
  ],
};

/** Every process below `root` now (by parent pid, from /proc). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const parent = parentOf(pid);
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** A process that exists and is not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("pulumi up killed with SIGKILL during a reboot", function () {
  this.timeout(900_000);
  let work: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  let stack: PulumiStack;
  const events = (since: number, host?: string): TimelineEvent[] => fleet.timeline().filter((e) => e.t >= since && (!host || e.host === host));

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    assert.ok(fs.existsSync(path.join(PROJECT, "dist/index.js")), "build first: npm run build");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-e2e-kill-"));
    // The language host of this checkout (tools/pulumi), found on PATH ahead of the installed one.
    const bin = path.join(work, "bin");
    execFileSync("go", ["build", "-mod=readonly", "-o", path.join(bin, "pulumi-language-nodejs"), "./cmd/pulumi-language-nodejs"], {
      cwd: path.join(PROJECT, "tools/pulumi"),
      env: { ...process.env, GOFLAGS: "-mod=readonly", GOPROXY: "off" },
      stdio: "inherit",
    });
    fleet = await SimFleet.start({ stateDir: path.join(work, "sim"), hosts: 2, timings: TIMINGS });
    fj = fleet.fleetJson;
    stack = new PulumiStack(PROJECT, work, "e2ekill", "e2e-passphrase");
    stack.env.PATH = `${bin}:${stack.env.PATH ?? ""}`;
    await stack.ok(["stack", "init", "--secrets-provider", "passphrase"]);
    fs.renameSync(path.join(PROJECT, "Pulumi.e2ekill.yaml"), stack.configFile);
    await configureForFleet(stack, inventory, fj);
    await stack.ok(["config", "set", "--secret", "--path", "fleet:secrets.k3sToken", "kill-test-token"]);
    await stack.ok(["up", "--yes", "--skip-preview"]);
  });

  after(async function () {
    fs.rmSync(path.join(PROJECT, "Pulumi.e2ekill.yaml"), { force: true });
    await fleet?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("leaves no rollout process and drives nothing after the kill; cancel and up finish the host", async () => {
    const cluster = kubeCluster(fs.readFileSync(fj.kubeconfig, "utf8"));
    await stack.ok(["config", "set", "--path", "fleet:inventory.hosts[1].nix.settings.boot.kernelParams[0]", "interrupted=1"]);
    await fleet.setFault("srv2", "slow-boot", true);
    const since = Date.now();
    // Like a terminal or a CI runner: the CLI leads its own process group, which gets the SIGKILL.
    const cli = spawn("pulumi", ["up", "--yes", "--skip-preview", "--stack", stack.stack, "--config-file", stack.configFile, "--non-interactive"], {
      cwd: PROJECT,
      env: stack.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    cli.stdout.on("data", (d: Buffer) => (output += d.toString()));
    cli.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => cli.on("close", () => resolve()));
    const deadline = Date.now() + 180_000;
    while (!events(since, "srv2").some((e) => e.kind === "reboot-started")) {
      assert.ok(Date.now() < deadline && cli.exitCode === null, `srv2 never started its reboot:\n${output}`);
      await sleep(50);
    }
    const rollout = descendants(cli.pid!);
    assert.ok(rollout.some((p) => /dynamic-provider/.test(commandOf(p))), `no dynamic provider among ${rollout.map(commandOf).join("; ")}`);
    const killedAt = Date.now();
    process.kill(-cli.pid!, "SIGKILL");
    await exited;
    try {
      // The host goes on booting by itself; wait until its kubelet is Ready, and a little more:
      // a rollout still running would uncordon it within a poll or two.
      while (!events(killedAt, "srv2").some((e) => e.kind === "ready")) {
        assert.ok(Date.now() < deadline, "srv2 did not come back by itself");
        await sleep(100);
      }
      // The provider notices within a second or two, stops at its safe point and releases its
      // locks, each try bounded by the connect deadline.
      for (const end = Date.now() + 30_000; Date.now() < end && rollout.some(running); ) await sleep(250);
      await sleep(2000);
      const left = rollout.filter(running);
      assert.deepEqual(left.map((p) => `${p} ${commandOf(p)}`), [], "rollout processes outlived the CLI");
    } finally {
      for (const p of rollout.filter(running)) process.kill(p, "SIGKILL");
    }
    const after = events(killedAt, "srv2").map((e) => e.kind);
    assert.ok(!after.includes("uncordon"), `driven after the kill: ${after.join(",")}`);
    assert.equal(events(since, "srv2").filter((e) => e.kind === "reboot-started").length, 1, "no rollback reboot after the kill");
    const node = await cluster.getNode("srv2");
    assert.equal(node?.unschedulable, true, "srv2 was uncordoned blindly");
    assert.ok(await cluster.getNodeAnnotation("srv2", INTERRUPTED_ANNOTATION), "srv2 carries no interrupted-rollout mark");
    await fleet.setFault("srv2", "slow-boot", false);

    // What the README says to run after an interrupted run: the file backend keeps the killed
    // CLI's stack lock, which only `pulumi cancel` removes; then `pulumi up` finishes the job.
    const locked = await stack.run(["up", "--yes", "--skip-preview"]);
    assert.notEqual(locked.code, 0);
    assert.match(locked.output, /the stack is currently locked by 1 lock/);
    await stack.ok(["cancel", "--yes"]);
    const recovered = await stack.ok(["up", "--yes", "--skip-preview"]);
    assert.match(recovered.output, /interrupted while updating/);
    assert.match(recovered.output, /an earlier rollout stopped at \w+ .* left srv2 cordoned/);
    const healthy = await cluster.getNode("srv2");
    assert.equal(healthy?.unschedulable, false);
    assert.equal(healthy?.ready, true);
    assert.equal(await cluster.getNodeAnnotation("srv2", INTERRUPTED_ANNOTATION), undefined);
    const out = JSON.parse((await stack.ok(["stack", "output", "--json", "--show-secrets"])).stdout) as { fleet: Record<string, { systemPath: string }> };
    assert.equal(out.fleet.srv2.systemPath, (await exec1(fj, "srv2", "readlink -f /run/booted-system")).stdout.trim());
    assert.match((await exec1(fj, "srv2", "cat /proc/cmdline /run/booted-system/kernel-params 2>/dev/null")).stdout, /interrupted=1/);
    // `pulumi refresh` clears the pending operation the killed run left in the state.
    await stack.ok(["refresh", "--yes"]);
    assert.doesNotMatch((await stack.ok(["preview"])).output, /pending operations/);
  });
});
