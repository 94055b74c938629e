/**
 * Peak memory and CPU time of a command's processes, read from Linux's /proc while it runs: each
 * descendant's VmHWM (its resident high-water mark) and its user and system time, sampled every
 * `intervalMs`, kept per process and named by role: the Node.js program, the dynamic provider,
 * the Pulumi CLI, and anything else. A process's CPU time is its last sample's: what it spent in
 * its last interval before it exited is not counted.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";

export type Role = "program" | "provider" | "cli" | "other";

/** The highest resident memory seen per role, in bytes (the largest process of the role). */
export type PeakMemory = Record<Role, number>;

/** What a process is, from its command line (NUL-separated, as /proc has it). */
export function roleOf(cmdline: string): Role {
  if (cmdline.includes("dynamic-provider")) return "provider";
  if (/@pulumi[/\\]pulumi[/\\]cmd[/\\]run\b/.test(cmdline)) return "program";
  const argv0 = cmdline.split("\0")[0] ?? "";
  return /(^|\/)pulumi$/.test(argv0) ? "cli" : "other";
}

/** CPU time per role in milliseconds (the sum over the role's processes). */
export type CpuTime = Record<Role, number>;

/** Zero for every role: nothing seen yet. */
export function zeroPerRole(): Record<Role, number> {
  return { program: 0, provider: 0, cli: 0, other: 0 };
}

/** What the sampler saw of a command's processes. */
export interface ProcessUse {
  readonly peak: PeakMemory;
  readonly cpuMs: CpuTime;
}

/** VmHWM of /proc/PID/status in bytes. */
export function highWaterMark(status: string): number | undefined {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The kernel's clock ticks per second, which /proc/PID/stat counts CPU time in. */
let ticksPerSecond: number | undefined;
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  return ticksPerSecond;
}

/** The fields of /proc/PID/stat after the command name, from the state on (state, ppid, …). */
function statFields(stat: string): string[] {
  // comm may hold spaces and parentheses: the fields after its last ")" are fixed.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** User plus system time of /proc/PID/stat in milliseconds, at `ticks` clock ticks per second. */
export function cpuMsOf(stat: string, ticks: number): number | undefined {
  const fields = statFields(stat);
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / ticks : undefined;
}

function parentOf(pid: number): number | undefined {
  try {
    return Number(statFields(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))[1]);
  } catch {
    return undefined;
  }
}

function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const parent = parentOf(Number(name));
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Samples the process tree under `root` until stopped; `stop()` returns the peaks and CPU times. */
export function samplePeaks(root: number, intervalMs = 200): { stop: () => ProcessUse } {
  const ticks = clockTicks();
  const seen = new Map<number, { role: Role; peak: number; cpuMs: number }>();
  const sample = () => {
    for (const pid of descendantsOf(root)) {
      try {
        const peak = highWaterMark(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        if (peak === undefined) continue;
        const cpuMs = cpuMsOf(fs.readFileSync(`/proc/${pid}/stat`, "utf8"), ticks) ?? 0;
        // Read each time: a process may exec another program (bash → pulumi).
        const role = roleOf(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"));
        seen.set(pid, { role, peak: Math.max(seen.get(pid)?.peak ?? 0, peak), cpuMs });
      } catch {
        // The process ended between the listing and the read.
      }
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      const peak: PeakMemory = zeroPerRole();
      const cpuMs: CpuTime = zeroPerRole();
      for (const p of seen.values()) {
        peak[p.role] = Math.max(peak[p.role], p.peak);
        cpuMs[p.role] += p.cpuMs;
      }
      return { peak, cpuMs };
    },
  };
}
