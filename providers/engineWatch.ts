/**
 * Stops the rollout when the Pulumi CLI that runs it goes away.
 *
 * The CLI starts each plugin in a process group of its own, so a SIGKILL of the CLI's process
 * group (or a CI job cancelled) does not reach the dynamic provider, and nothing in the plugin
 * protocol tells a provider that its engine died: its gRPC server just stops getting calls. The
 * CLI is the provider's parent, unless the provider was started through the SDK's own shell
 * wrapper (`pulumi-resource-pulumi-nodejs` in @pulumi/pulumi runs node without exec; the one
 * scripts/install-pulumi.sh writes execs it): then the parent is that shell and the shell's
 * parent is the CLI. When the CLI dies, that process is re-parented (to init or a subreaper):
 * that is what is watched, by polling the parent chain once a second. The CLI's own parent is
 * not watched: a CLI whose terminal went away still runs.
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
  /** The parent is the plugin's shell wrapper, so the grandparent is the CLI. */
  readonly parentIsWrapper: boolean;
}

/** Whether the process tree above changed since `start`: the CLI that started us is gone. */
export function engineGone(start: Ancestry, now: Ancestry): boolean {
  if (now.parent !== start.parent) return true;
  return start.parentIsWrapper && start.grandparent !== undefined && now.grandparent !== start.grandparent;
}

/** Whether `pid` runs a Pulumi plugin wrapper script (its command line names pulumi-resource-*). */
export function isPluginWrapper(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").some((arg) => /(^|\/)pulumi-resource-[^/]*$/.test(arg));
  } catch {
    return false;
  }
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

function ancestry(parentIsWrapper: boolean): Ancestry {
  const parent = process.ppid;
  return { parent, grandparent: parentOf(parent), parentIsWrapper };
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
  // Once the CLI is gone, every write to our output fails with EPIPE, emitted as an 'error' on
  // the stream. Unhandled, it reaches the SDK's uncaughtException handler, which logs it to the
  // same broken stream: an endless chain of errors that starves the event loop, so the rollout
  // would never reach its safe point. Output nobody can read is dropped instead.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
    });
  }
  const start = ancestry(isPluginWrapper(process.ppid));
  let running = 0;
  const exitWhenIdle = () => {
    if (controller.signal.aborted && running === 0) process.exit(1);
  };
  const timer = setInterval(() => {
    if (!engineGone(start, ancestry(start.parentIsWrapper))) return;
    clearInterval(timer);
    controller.abort(`the Pulumi CLI that started this provider is gone`);
    try {
      process.stderr.write(`nixos-fleet: the Pulumi CLI that started this provider (pid ${start.parent}) is gone; stopping the rollout at its next safe point\n`);
    } catch {
      // The CLI read our output: with it gone the pipe is broken (EPIPE), which is expected here.
    }
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
