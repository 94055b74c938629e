/**
 * Peak memory of a command's processes, read from Linux's /proc while it runs: each descendant's
 * VmHWM (its resident high-water mark), sampled every `intervalMs`, kept per process and named
 * by role: the Node.js program, the dynamic provider, the Pulumi CLI, and anything else.
 */
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

/** VmHWM of /proc/PID/status in bytes. */
export function highWaterMark(status: string): number | undefined {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

function parentOf(pid: number): number | undefined {
  try {
    // comm may hold spaces and parentheses: the fields after its last ")" are fixed.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
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

/** Samples the process tree under `root` until stopped; `stop()` resolves with the peaks. */
export function samplePeaks(root: number, intervalMs = 200): { stop: () => PeakMemory } {
  const seen = new Map<number, { role: Role; peak: number }>();
  const sample = () => {
    for (const pid of descendantsOf(root)) {
      try {
        const peak = highWaterMark(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        if (peak === undefined) continue;
        // Read each time: a process may exec another program (bash → pulumi).
        const role = roleOf(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"));
        seen.set(pid, { role, peak: Math.max(seen.get(pid)?.peak ?? 0, peak) });
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
      const peaks: PeakMemory = { program: 0, provider: 0, cli: 0, other: 0 };
      for (const { role, peak } of seen.values()) peaks[role] = Math.max(peaks[role], peak);
      return peaks;
    },
  };
}
