/**
 * What systemctl says about one unit, whether a transient one (transient.ts) or one of the
 * running system's (system-state.ts): is-active, show's properties, status, and stop/reset-failed
 * of transient units.
 */
import { appendJournal, readJournal, systemdSays } from "./journal";
import { unitState, loadedUnits, type StateInput } from "./system-state";
import { isService, readUnit, removeUnit, unitName, waitUntil, type TransientUnit } from "./transient";

/** The state of any unit, in systemd's words. */
export interface UnitView {
  readonly id: string;
  readonly loadState: "loaded" | "not-found";
  readonly activeState: string;
  readonly subState: string;
  readonly transient?: TransientUnit;
}

/** How systemctl sees `name` now. */
export function viewUnit(s: StateInput, name: string): UnitView {
  const id = unitName(name);
  const t = readUnit(id);
  if (t) return { id, loadState: "loaded", activeState: t.activeState, subState: t.subState, transient: t };
  const st = unitState(s, id);
  const loaded = loadedUnits(s).includes(id);
  if (!loaded) return { id, loadState: "not-found", activeState: "inactive", subState: "dead" };
  const sub = st === "active" ? (id.endsWith(".service") ? "running" : "active") : st === "failed" ? "failed" : st === "activating" ? "start" : "dead";
  return { id, loadState: "loaded", activeState: st, subState: sub };
}

function usec(ms: number): string {
  return ms > 0 ? String(ms * 1000) : "0";
}

function timestamp(ms: number): string {
  if (ms <= 0) return "";
  const d = new Date(ms);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  return `${days[d.getUTCDay()]} ${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** Every property systemctl show prints for a unit, in order. */
export function unitProperties(v: UnitView): Array<readonly [string, string]> {
  const t = v.transient;
  const props: Array<readonly [string, string]> = [
    ["Id", v.id],
    ["Names", v.id],
    ["Description", t?.description ?? v.id],
    ["LoadState", v.loadState],
    ["ActiveState", v.activeState],
    ["SubState", v.subState],
    ["Result", t?.result ?? (v.activeState === "failed" ? "exit-code" : "success")],
    ["Transient", t ? "yes" : "no"],
    ["FragmentPath", t ? `/run/systemd/transient/${v.id}` : v.loadState === "loaded" ? `/etc/systemd/system/${v.id}` : ""],
  ];
  if (v.id.endsWith(".timer")) {
    const timer = t && !isService(t) ? t : undefined;
    props.push(["Unit", timer?.unit ?? v.id.replace(/\.timer$/, ".service")]);
    props.push(["NextElapseUSecRealtime", timer && timer.subState === "waiting" ? usec(timer.elapseAtMs) : "0"]);
    props.push(["AccuracyUSec", String((timer?.accuracyMs ?? 60_000) * 1000)]);
    return props;
  }
  const svc = t && isService(t) ? t : undefined;
  props.push(
    ["MainPID", String(svc?.mainPid ?? 0)],
    ["ExecMainCode", String(svc?.execMainCode ?? 0)],
    ["ExecMainStatus", String(svc?.execMainStatus ?? 0)],
    ["ExecMainStartTimestamp", timestamp(svc?.execMainStartMs ?? 0)],
    ["ExecMainExitTimestamp", timestamp(svc?.execMainExitMs ?? 0)],
    ["RemainAfterExit", svc?.remainAfterExit ? "yes" : "no"],
    ["CollectMode", svc?.collect ? "inactive-or-failed" : "inactive"],
  );
  return props;
}

/** The text of `systemctl status UNIT` for a transient unit, with the journal's last lines. */
export function transientStatus(t: TransientUnit, lines = 10): string {
  const mark = t.activeState === "failed" ? "×" : t.activeState === "active" ? "●" : "○";
  const since = timestamp(t.stateChangeMs);
  const active =
    t.activeState === "failed" ? `failed (Result: ${t.result}) since ${since}` : `${t.activeState} (${t.subState}) since ${since}`;
  let text = `${mark} ${t.id} - ${t.description}\n     Loaded: loaded (/run/systemd/transient/${t.id}; transient)\n  Transient: yes\n     Active: ${active}\n`;
  if (isService(t)) {
    if (t.mainPid > 0) text += `   Main PID: ${t.mainPid} (${t.argv[0].split("/").pop()})\n`;
    else if (t.execMainCode !== 0) {
      const code = t.execMainCode === 1 ? "exited" : "killed";
      text += `   Main PID: (code=${code}, status=${t.execMainStatus})\n`;
    }
  } else {
    text += `    Trigger: ${t.subState === "waiting" ? timestamp(t.elapseAtMs) : "n/a"}\n   Triggers: ● ${t.unit}\n`;
  }
  const entries = readJournal().filter((e) => e.unit === t.id).slice(-lines);
  if (entries.length > 0) text += `\n${entries.map((e) => `${new Date(e.t).toISOString()} ${e.ident}[${e.pid}]: ${e.msg}`).join("\n")}\n`;
  return text;
}

/** Stops a transient unit (its supervisor stops the command); resolves with an error text or undefined. */
export async function stopTransient(t: TransientUnit, timeoutMs: number): Promise<string | undefined> {
  if (t.supervisorPid > 0) {
    try {
      process.kill(t.supervisorPid, "SIGTERM");
    } catch {
      // Gone meanwhile: its state is final already.
    }
    const stopped = await waitUntil(() => {
      const now = readUnit(t.id);
      return now === undefined || now.supervisorPid === 0 || now.activeState === "failed";
    }, timeoutMs);
    if (!stopped) return `Job for ${t.id} did not finish within ${Math.round(timeoutMs / 1000)} s.`;
    return undefined;
  }
  // Nothing runs (a remain-after-exit service that exited, an elapsed timer, a failed unit).
  if (t.activeState === "active") appendJournal([systemdSays(t.id, `Stopped ${t.id} - ${t.description}.`)]);
  // A failed unit stays failed until reset-failed.
  if (t.activeState !== "failed") removeUnit(t.id);
  return undefined;
}

/** `systemctl reset-failed UNIT`: a failed transient unit is unloaded. */
export function resetFailed(t: TransientUnit): void {
  if (t.activeState === "failed") removeUnit(t.id);
}
