/**
 * nixos-rebuild on a simulated host: evaluate, build into /nix/store, set the system
 * profile, run the new system's switch-to-configuration, and record build events.
 * Messages follow NixOS 24.05's script and Nix 2.18's wording.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { HOST_MOUNTS } from "../layout";
import type { FaultName } from "../types";
import { type BuildOutcome, evaluateSystem, resolveConfigFile } from "./build";
import { evaluateFlakeSystem, flakeEvalCommand, hostname } from "./flake";
import { flakeTarget } from "./flake-lock";
import { tail, type Io } from "./cli";
import { recordEvent, type ControlClient } from "./control";
import { evalCommand } from "./evaluate";
import { formatGenerationTable, generationRows } from "./list-generations";
import { HOST } from "./paths";
import type { SystemPlan } from "./plan";
import { currentGeneration, listGenerations, ProfileError, replaceSymlink, setProfile, switchGeneration } from "./profile";
import { updateCommand } from "./nix-channel";
import { activates, REBUILD_SYNOPSIS, setsProfile, SIMULATED_ACTIONS, type RebuildArgs } from "./rebuild-args";
import { missingPaths, realiseSystem } from "./store";
import { readBuildMs } from "./system-state";

/** What a rebuild needs from its surroundings. */
export interface RebuildContext {
  readonly io: Io;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly control?: ControlClient;
  readonly faults: ReadonlySet<FaultName>;
  readonly toolsDir: string;
}

/** Exit status of a failed build, as nix-build reports it. */
const BUILD_FAILED_STATUS = 100;
/** How long to wait for the fleet to kill this session after asking it to. */
const DROP_WAIT_MS = 15_000;

/**
 * The ./result symlink goes into the working folder, as nix-build does, but only where
 * that folder belongs to this host (/root and /tmp are shared with the machine running
 * the simulation).
 */
function hostOwns(dir: string): boolean {
  return HOST_MOUNTS.some((m) => !m.file && (dir === m.target || dir.startsWith(`${m.target}/`)));
}

function linkResult(ctx: RebuildContext, target: string, explain: boolean): void {
  if (hostOwns(ctx.cwd)) {
    replaceSymlink(path.join(ctx.cwd, "result"), target);
  } else if (explain) {
    ctx.io.err(`note: not creating ${path.join(ctx.cwd, "result")}: ${ctx.cwd} is shared with the machine running the simulation; the system is ${target}\n`);
  }
}

function derivationList(drvs: readonly string[]): string {
  if (drvs.length === 0) return "";
  const head = drvs.length === 1 ? "this derivation will be built:" : `these ${drvs.length} derivations will be built:`;
  return `${head}\n${drvs.map((d) => `  ${d}\n`).join("")}`;
}

function drvsFor(plan: SystemPlan, missing: readonly string[]): string[] {
  return [plan.kernel, plan.modules, plan.initrd, plan.system].filter((i) => missing.includes(i.path)).map((i) => i.drv);
}

/** Runs `<system>/bin/switch-to-configuration action` as a child, like the real script. */
function runSwitch(system: string, action: string, ctx: RebuildContext): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(path.join(system, "bin", "switch-to-configuration"), [action], { cwd: ctx.cwd, env: ctx.env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (c: Buffer) => ctx.io.out(c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => ctx.io.err(c.toString("utf8")));
    child.on("error", (e) => {
      ctx.io.err(`${path.join(system, "bin", "switch-to-configuration")}: ${e.message.includes("ENOENT") ? "No such file or directory" : e.message}\n`);
      resolve(127);
    });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

async function activate(system: string, args: RebuildArgs, ctx: RebuildContext): Promise<number> {
  if (!activates(args.action)) return 0;
  const code = await runSwitch(system, args.action, ctx);
  if (code !== 0) {
    ctx.io.err("warning: error(s) occurred while switching to the new configuration\n");
    return 1;
  }
  return 0;
}

async function rollback(args: RebuildArgs, ctx: RebuildContext): Promise<number> {
  const finished = (detail: Record<string, unknown>) => recordEvent(ctx.control, "build-finished", { action: args.action, rollback: true, ...detail }, ctx.io.err);
  await recordEvent(ctx.control, "build-started", { action: args.action, rollback: true }, ctx.io.err);
  if (setsProfile(args.action)) {
    try {
      ctx.io.err(`${switchGeneration(HOST.systemProfile, "previous").message}\n`);
    } catch (e) {
      if (!(e instanceof ProfileError)) throw e;
      ctx.io.err(`error: ${e.message}\n`);
      await finished({ ok: false, error: e.message });
      return 1;
    }
    const system = fs.realpathSync(HOST.systemProfile);
    await finished({ ok: true, system, generation: currentGeneration(HOST.systemProfile) });
    return activate(HOST.systemProfile, args, ctx);
  }
  // test and build: the generation just before the current one, without touching the profile.
  const cur = currentGeneration(HOST.systemProfile);
  const older = listGenerations(HOST.systemProfile).filter((g) => cur !== undefined && g.number < cur);
  const previous = older[older.length - 1];
  const target = `${HOST.systemProfile}-${previous?.number ?? ""}-link`;
  if (args.action === "build") linkResult(ctx, target, true);
  await finished(previous ? { ok: true, system: previous.target, generation: previous.number } : { ok: false, error: "no previous generation" });
  return activate(target, args, ctx);
}

/**
 * The flake nixos-rebuild builds: `--flake`, else /etc/nixos/flake.nix's folder unless
 * `--no-flake` (as NixOS's script does); undefined: configuration.nix.
 */
function flakeOf(args: RebuildArgs): string | undefined {
  if (args.flake !== undefined) return args.flake;
  const file = path.join(HOST.etcNixos, "flake.nix");
  return !args.noFlake && fs.existsSync(file) ? path.dirname(fs.realpathSync(file)) : undefined;
}

/** Evaluates the flake's configuration, or configuration.nix, into the system to build. */
async function evaluate(args: RebuildArgs, ctx: RebuildContext): Promise<BuildOutcome> {
  const flake = flakeOf(args);
  if (flake !== undefined) {
    const request = { target: flakeTarget(flake, hostname()), cwd: ctx.cwd, showTrace: args.showTrace, nixOptions: args.nixOptions };
    if (args.verbose) ctx.io.err(`$ ${flakeEvalCommand(request, []).join(" ")}\n`);
    return evaluateFlakeSystem(request, ctx.env);
  }
  const configFile = resolveConfigFile(args.includePaths, ctx.env, ctx.cwd);
  const request = { configFile, showTrace: args.showTrace, includePaths: args.includePaths, nixOptions: args.nixOptions };
  if (args.verbose) ctx.io.err(`$ ${evalCommand(request).join(" ")}\n`);
  return evaluateSystem(request, { env: ctx.env, cwd: ctx.cwd });
}

/** Runs a parsed nixos-rebuild command; returns its exit status. */
export async function runRebuild(args: RebuildArgs, ctx: RebuildContext): Promise<number> {
  const { io } = ctx;
  if (args.unsupported.length > 0) {
    io.err(`nixos-rebuild: ${args.unsupported.join(", ")}: not supported on a simulated NixOS host (it builds /etc/nixos/configuration.nix locally)\n`);
    return 1;
  }
  if (!SIMULATED_ACTIONS.includes(args.action)) {
    io.err(`nixos-rebuild: the '${args.action}' action is not supported on a simulated NixOS host\n`);
    return 1;
  }
  if (args.action === "list-generations") {
    if (!fs.existsSync(HOST.systemProfile)) {
      io.err("No profile `system' found\n");
      return 1;
    }
    const rows = generationRows(HOST.systemProfile);
    io.out(args.json ? `${JSON.stringify(rows, null, 2)}\n` : formatGenerationTable(rows));
    return 0;
  }
  // As NixOS's script: channels are updated only when no flake is built.
  if (args.upgrade && flakeOf(args) === undefined) {
    // NixOS's script updates the `nixos` channel (all of them with --upgrade-all) under
    // `set -e`: a channel that cannot be fetched ends the rebuild before anything is built.
    if (args.verbose) io.err(`$ nix-channel --update${args.upgradeAll ? "" : " nixos"}\n`);
    const code = updateCommand(args.upgradeAll ? [] : ["nixos"], io);
    if (code !== 0) return code;
  }
  if (args.rollback) {
    if (!["switch", "boot", "test", "build"].includes(args.action)) {
      io.out(REBUILD_SYNOPSIS);
      return 1;
    }
    return rollback(args, ctx);
  }
  return build(args, ctx);
}

async function build(args: RebuildArgs, ctx: RebuildContext): Promise<number> {
  const { io } = ctx;
  const action = args.action;
  if (args.buildNix && action !== "dry-build") io.err("building Nix...\n");
  io.err("building the system configuration...\n");
  await recordEvent(ctx.control, "build-started", { action }, io.err);
  let evaluated: Awaited<ReturnType<typeof evaluateSystem>>;
  try {
    evaluated = await evaluate(args, ctx);
  } catch (e) {
    await recordEvent(ctx.control, "build-finished", { ok: false, action, error: (e as Error).message }, io.err);
    throw e;
  }
  io.err(evaluated.stderr);
  if (!evaluated.ok) {
    await recordEvent(ctx.control, "build-finished", { ok: false, action, error: tail(evaluated.stderr) }, io.err);
    return 1;
  }
  const plan = evaluated.plan;
  const missing = missingPaths(plan);
  const drvs = drvsFor(plan, missing);
  io.err(derivationList(drvs));
  if (action === "dry-build") {
    await recordEvent(ctx.control, "build-finished", { ok: true, action, system: plan.system.path }, io.err);
    return 0;
  }
  if (ctx.faults.has("build-fails")) {
    // The fault fails every build, even one whose system is already in the store.
    const drv = drvs[drvs.length - 1] ?? plan.system.drv;
    const message = `builder for '${drv}' failed with exit code 1`;
    io.err(`building '${drv}'...\nerror: ${message};\n       last 1 log lines:\n       > error: simulated build failure (the build-fails fault is set on this host)\n       For full logs, run 'nix log ${drv}'.\n`);
    await recordEvent(ctx.control, "build-finished", { ok: false, action, error: message }, io.err);
    return BUILD_FAILED_STATUS;
  }
  if (ctx.faults.has("drop-ssh-during-rebuild")) {
    // Under systemd (a systemd-run unit, which has INVOCATION_ID) the build is no part of the
    // SSH session: the connection drops and the build goes on.
    if (process.env.INVOCATION_ID === undefined) return dropSession(drvs, ctx);
    await ctx.control?.dropSessions();
  }
  for (const drv of drvs) io.err(`building '${drv}'...\n`);
  // Only a system that is not in the store yet is built; one built before costs nothing.
  const buildMs = readBuildMs();
  if (missing.length > 0 && buildMs > 0) await new Promise((resolve) => setTimeout(resolve, buildMs));
  realiseSystem(plan, ctx.toolsDir);
  const system = plan.system.path;
  let generation: number | undefined;
  if (setsProfile(action)) generation = setProfile(HOST.systemProfile, system).generation;
  else linkResult(ctx, system, action === "build");
  await recordEvent(ctx.control, "build-finished", generation === undefined ? { ok: true, action, system } : { ok: true, action, system, generation }, io.err);
  return activate(system, args, ctx);
}

/** The drop-ssh-during-rebuild fault: ask the fleet to cut this session mid-build, then wait to die. */
async function dropSession(drvs: readonly string[], ctx: RebuildContext): Promise<number> {
  ctx.io.err(drvs.length > 0 ? `building '${drvs[0]}'...\n` : "");
  if (!ctx.control) {
    ctx.io.err("nixos-rebuild: the drop-ssh-during-rebuild fault is set, but this session has no control socket to ask the fleet with\n");
    return 1;
  }
  await ctx.control.dropSessions();
  await new Promise((resolve) => setTimeout(resolve, DROP_WAIT_MS));
  ctx.io.err(`nixos-rebuild: the fleet was asked to drop this session but it was still alive after ${DROP_WAIT_MS} ms; nothing was activated\n`);
  return 1;
}
