/**
 * Stops the rollout when the Pulumi CLI that runs it goes away.
 *
 * The CLI starts each plugin in a process group of its own, so a SIGKILL of the CLI's process
 * group (or a CI job cancelled) does not reach the dynamic provider, and nothing in the plugin
 * protocol tells a provider that its engine died: its gRPC server just stops getting calls. The
 * SDK starts the provider through a shell wrapper (`pulumi-resource-pulumi-nodejs`, which runs
 * node without exec), so the provider's parent is that shell and the shell's parent is the CLI.
 * When the CLI dies, one of the two is re-parented (to init or a subreaper): that is what is
 * watched, by polling the parent chain once a second.
 *
 * Then the running rollout is aborted (it stops at its next safe point, see
 * lib/rollout/interrupt.ts), and once it has released its locks the process exits: with no CLI
 * there is nobody to report to, and a provider left running would hold its locks forever.
 */
import * as fs from "node:fs";

/** How often the parent chain is checked. */
const POLL_MS = 1000;
/** How long an aborted rollout gets to reach its safe point and release its locks before the process exits anyway. */
const EXIT_DEADLINE_MS = 120_000;

/** A process's parent and grandparent pids, as far as they could be read. */
export interface Ancestry {
  readonly parent: number;
  readonly grandparent: number | undefined;
}

/** Whether the process tree above changed since `start`: the CLI that started us is gone. */
export function engineGone(start: Ancestry, now: Ancestry): boolean {
  if (now.parent !== start.parent) return true;
  return start.grandparent !== undefined && now.grandparent !== start.grandparent;
}

/** The parent pid of `pid` from /proc (Linux); undefined when it cannot be read. */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function ancestry(): Ancestry {
  const parent = process.ppid;
  return { parent, grandparent: parentOf(parent) };
}

/** The watch shared by every rollout of this process. */
export interface EngineWatch {
  /** Aborted once the CLI is gone. */
  readonly signal: AbortSignal;
  /** Runs one rollout; the process exits once the CLI is gone and no rollout runs any more. */
  during<T>(rollout: () => Promise<T>): Promise<T>;
}

let shared: EngineWatch | undefined;

/** The process's engine watch, started on first use. */
export function engineWatch(): EngineWatch {
  if (shared) return shared;
  const controller = new AbortController();
  const start = ancestry();
  let running = 0;
  const exitWhenIdle = () => {
    if (controller.signal.aborted && running === 0) process.exit(1);
  };
  const timer = setInterval(() => {
    if (!engineGone(start, ancestry())) return;
    clearInterval(timer);
    process.stderr.write(`nixos-fleet: the Pulumi CLI that started this provider is gone (parent was pid ${start.parent}); stopping the rollout at its next safe point\n`);
    controller.abort(`the Pulumi CLI that started this provider is gone`);
    setTimeout(() => process.exit(1), EXIT_DEADLINE_MS);
    exitWhenIdle();
  }, POLL_MS);
  // The watch alone never keeps the process alive.
  timer.unref();
  shared = {
    signal: controller.signal,
    async during<T>(rollout: () => Promise<T>): Promise<T> {
      running++;
      try {
        return await rollout();
      } finally {
        running--;
        exitWhenIdle();
      }
    },
  };
  return shared;
}
