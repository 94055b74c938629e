/**
 * The background process behind `sim up`: runs a SimFleet until asked to stop (POST /down,
 * SIGTERM or SIGINT), then stops it and exits. Its output goes to <stateDir>/daemon.log.
 */
import { SimFleet } from "./fleet";
import { messageOf } from "./proc";
import type { SimTimings } from "./types";

/** Runs the fleet; resolves with the process exit code. */
export async function runDaemon(o: { stateDir: string; hosts: number | readonly string[]; timings: Partial<SimTimings> }): Promise<number> {
  const log = (line: string) => process.stdout.write(line + "\n");
  const stamped = (line: string) => log(`${new Date().toISOString()} ${line}`);
  let fleet: SimFleet;
  try {
    fleet = await SimFleet.start({ stateDir: o.stateDir, hosts: o.hosts, timings: o.timings, log });
  } catch (error) {
    stamped(`the fleet could not start: ${messageOf(error)}`);
    return 1;
  }
  const signalled = new Promise<string>((resolve) => {
    for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.once(s, () => resolve(s));
  });
  const why = await Promise.race([fleet.downRequested.then(() => "POST /down"), signalled]);
  stamped(`stopping (${why})`);
  try {
    await fleet.stop();
    return 0;
  } catch (error) {
    stamped(messageOf(error));
    return 1;
  }
}
