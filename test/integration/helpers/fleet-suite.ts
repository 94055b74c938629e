/**
 * One simulated fleet per mocha suite: started in a fresh state folder before the suite's
 * tests, stopped and removed after them, also when a test or the start failed.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Host } from "../../../lib/host/host";
import { SimFleet } from "../../../sim/fleet";
import type { SimFleetOptions } from "../../../sim/fleet-setup";
import type { FleetJson } from "../../../sim/types";

/** What a suite's tests use of its fleet. */
export interface FleetSuite {
  readonly stateDir: string;
  readonly fleet: SimFleet;
  readonly json: FleetJson;
  /** The public half of the fleet's client key (an authorized_keys line). */
  readonly clientKey: string;
}

/**
 * Registers before/after hooks that start a fleet with `options` in a new temporary folder
 * named `prefix…` and stop it; `started` receives it once it runs.
 */
export function useSimFleet(prefix: string, options: Omit<SimFleetOptions, "stateDir">, started: (s: FleetSuite) => void): void {
  let stateDir: string | undefined;
  let fleet: SimFleet | undefined;
  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fleet = await SimFleet.start({ ...options, stateDir });
    const json = fleet.fleetJson;
    started({ stateDir, fleet, json, clientKey: fs.readFileSync(`${json.sshKeyPath}.pub`, "utf8").trim() });
  });
  after(async function () {
    try {
      if (fleet) await fleet.stop();
    } finally {
      if (stateDir !== undefined) fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
}

/** Runs a command in an open session and fails with its output unless it exits 0. */
export async function execOk(h: Host, command: string, timeoutMs = 60_000): Promise<string> {
  const r = await h.exec(command, { timeoutMs });
  assert.equal(r.code, 0, `\`${command}\` exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}
