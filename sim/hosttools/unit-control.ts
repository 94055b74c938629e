/**
 * `systemctl start|stop|restart` of the running system's own units, answered as systemd does:
 * a unit the system does not have fails (exit 5), a unit that fails to start fails again
 * (exit 1), and the others stop and start for real: a stopped unit is inactive (system-units.ts)
 * until it is started again, or until the next boot or activation. The daemons the fleet runs
 * for a host (sshd) follow: the fleet is told, as after an activation, and answers once sshd
 * stopped or listens again; k3s.service stops or starts the host's kubelet and API. Transient units (systemd-run) are not handled here.
 */
import type { Io } from "./cli";
import { appendJournal, systemdSays } from "./journal";
import { failedUnits, loadedUnits, unitState, type StateInput } from "./system-state";
import { markStarted, markStopped } from "./system-units";
import { unitName } from "./transient";

/** The verbs that change whether a unit runs. */
export const UNIT_VERBS = ["start", "stop", "restart"] as const;
export type UnitVerb = (typeof UNIT_VERBS)[number];

/** Whether `verb` starts, stops or restarts units. */
export function isUnitVerb(verb: string): verb is UnitVerb {
  return (UNIT_VERBS as readonly string[]).includes(verb);
}

/** The unit of the host's sshd, which the fleet runs (sim/host.ts). */
export const SSHD_UNIT = "sshd.service";

/** Units whose daemon the fleet runs for the host (sshd, and k3s: its kubelet and API): their state must reach it. */
export const FLEET_RUN_UNITS: ReadonlySet<string> = new Set([SSHD_UNIT, "k3s.service"]);

/** What a verb does to one unit. */
export type UnitOutcome =
  | { readonly kind: "refused"; readonly exitCode: number; readonly message: string }
  | { readonly kind: "stopped" }
  | { readonly kind: "started"; readonly wasActive: boolean }
  | { readonly kind: "unchanged" };

/** Whether an outcome changed whether the unit runs. */
export function changedUnit(o: UnitOutcome): boolean {
  return o.kind === "stopped" || o.kind === "started";
}

/** Decides what `systemctl VERB unit` does in state `s`, in systemd's words. Pure. */
export function decideUnit(verb: UnitVerb, s: StateInput, name: string): UnitOutcome {
  const id = unitName(name);
  if (!loadedUnits(s).includes(id)) {
    // systemd says "not loaded" when asked to stop and "not found" when asked to load a unit file.
    const why = verb === "stop" ? "not loaded" : "not found";
    return { kind: "refused", exitCode: 5, message: `Failed to ${verb} ${id}: Unit ${id} ${why}.` };
  }
  const failing = failedUnits(s).includes(id) || s.failingUnits.includes(id);
  if (verb === "stop") {
    // A failed unit keeps its failed state when stopped, until it is reset or started.
    if (failing || unitState(s, id) !== "active") return { kind: "unchanged" };
    return { kind: "stopped" };
  }
  if (failing) {
    return {
      kind: "refused",
      exitCode: 1,
      message: `Job for ${id} failed because the control process exited with error code.\nSee "systemctl status ${id}" and "journalctl -xeu ${id}" for details.`,
    };
  }
  const wasActive = unitState(s, id) === "active";
  if (verb === "start" && wasActive) return { kind: "unchanged" };
  return { kind: "started", wasActive };
}

/** What PID 1 writes to the journal for an outcome. */
function journalLines(id: string, o: UnitOutcome): ReturnType<typeof systemdSays>[] {
  const stop = [systemdSays(id, `Stopping ${id}...`), systemdSays(id, `Stopped ${id}.`)];
  const start = [systemdSays(id, `Starting ${id}...`), systemdSays(id, `Started ${id}.`)];
  switch (o.kind) {
    case "stopped":
      return stop;
    case "started":
      return o.wasActive ? [...stop, ...start] : start;
    case "refused":
      if (o.exitCode !== 1) return [];
      return [
        systemdSays(id, `Starting ${id}...`),
        systemdSays(id, `${id}: Main process exited, code=exited, status=1/FAILURE`),
        systemdSays(id, `${id}: Failed with result 'exit-code'.`),
        systemdSays(id, `Failed to start ${id}.`),
      ];
    case "unchanged":
      return [];
  }
}

/**
 * Runs `systemctl VERB units…` on the system's units in state `s`; each unit is handled in turn
 * as systemd queues one job per unit. `follow` tells the fleet when a unit it runs changed.
 * Resolves with the exit status.
 */
export async function controlUnits(
  verb: UnitVerb,
  names: readonly string[],
  s: StateInput,
  io: Io,
  follow: (units: readonly string[]) => Promise<void>,
): Promise<number> {
  if (names.length === 0) {
    io.err("Too few arguments.\n");
    return 1;
  }
  let code = 0;
  const changed: string[] = [];
  for (const name of names) {
    const id = unitName(name);
    const outcome = decideUnit(verb, s, id);
    appendJournal(journalLines(id, outcome));
    if (outcome.kind === "refused") {
      io.err(`${outcome.message}\n`);
      code = Math.max(code, outcome.exitCode);
      continue;
    }
    if (outcome.kind === "stopped") markStopped(id);
    if (outcome.kind === "started") markStarted(id);
    if (changedUnit(outcome) && FLEET_RUN_UNITS.has(id)) changed.push(id);
  }
  if (changed.length > 0) {
    try {
      await follow(changed);
    } catch (e) {
      io.err(`Failed to ${verb} ${changed.join(" ")}: ${(e as Error).message}\n`);
      code = Math.max(code, 1);
    }
  }
  return code;
}
