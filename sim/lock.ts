/**
 * One machine-wide lock for what simulated fleets share on the machine: choosing a free subnet,
 * and creating or removing mountpoints such as /etc/nixos. A fleet holds it from choosing its
 * subnet until its hosts' mounts are in place, so another fleet neither takes the same subnet
 * nor removes a mountpoint this one is about to use.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isAlive, refOf, sleep, type ProcRef } from "./proc";

const MACHINE_LOCK = "/run/nixos-fleet-sim.lock";

/** Runs `fn` holding the machine-wide lock (a directory; a dead holder's lock is taken over). */
export async function withMachineLock<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const me = refOf(process.pid) as ProcRef;
  const ownerFile = path.join(MACHINE_LOCK, "owner.json");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.mkdirSync(MACHINE_LOCK);
      fs.writeFileSync(ownerFile, JSON.stringify(me));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let owner: ProcRef | undefined;
      try {
        owner = JSON.parse(fs.readFileSync(ownerFile, "utf8")) as ProcRef;
      } catch {
        owner = undefined; // being written right now, or left half-written by a crash
      }
      const since = fs.statSync(MACHINE_LOCK, { throwIfNoEntry: false });
      const stale = owner ? !isAlive(owner) : since === undefined || Date.now() - since.mtimeMs > 5000;
      if (stale) {
        fs.rmSync(MACHINE_LOCK, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${MACHINE_LOCK}, held by pid ${owner?.pid ?? "?"} (another simulated fleet starting or stopping)`);
      }
      await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(MACHINE_LOCK, { recursive: true, force: true });
  }
}
