/**
 * `npm run sim -- up|down|status|fault|timeline`: the simulated fleet from a shell. `up` starts a
 * detached daemon (daemon.ts) and returns once fleet.json is written; the other commands talk
 * to it over the control socket.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { daemonArgs, parseArgs, USAGE, UsageError, type SimCommand, type UpCommand } from "./cli-args";
import { controlRequest } from "./client";
import { fleetInventory } from "./inventory";
import { runDaemon } from "./daemon";
import { isAlive, messageOf, waitFor } from "./proc";
import { cleanUp, readResources, settle } from "./resources";
import { readTimelineFile } from "./timeline";
import type { FaultName, FleetJson, TimelineEvent } from "./types";

const UP_TIMEOUT_MS = 180_000;
const DOWN_TIMEOUT_MS = 40_000;

async function main(argv: readonly string[]): Promise<number> {
  let cmd: SimCommand;
  try {
    cmd = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (cmd.kind === "help") {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      "The simulated fleet needs root: it creates network namespaces, veth interfaces and bind mounts and runs one sshd per host.\n" +
        `Run it as root, e.g. \`sudo npm run sim -- ${argv.join(" ")}\`.\n`,
    );
    return 1;
  }
  const stateDir = path.resolve(cmd.stateDir);
  const socket = path.join(stateDir, "control.sock");
  switch (cmd.kind) {
    case "daemon":
      return runDaemon({ stateDir, hosts: cmd.hosts, timings: cmd.timings });
    case "up":
      return up(cmd, stateDir, socket);
    case "down":
      return down(stateDir, socket);
    case "status":
      return status(stateDir, socket, cmd.json);
    case "fault": {
      const r = (await controlRequest(socket, "PUT", `/hosts/${encodeURIComponent(cmd.host)}/faults`, { fault: cmd.fault, on: cmd.on, system: cmd.system })) as { faults: FaultName[] };
      process.stdout.write(`${cmd.host}: ${cmd.fault} ${cmd.on ? "on" : "off"}; active faults: ${r.faults.join(", ") || "none"}\n`);
      return 0;
    }
    case "inventory":
      return writeInventory(cmd, stateDir);
    case "timeline": {
      const events = (await running(socket)) ? ((await controlRequest(socket, "GET", "/timeline")) as { events: TimelineEvent[] }).events : readTimelineFile(path.join(stateDir, "timeline.jsonl"));
      for (const e of events.filter((ev) => cmd.host === undefined || ev.host === cmd.host)) {
        process.stdout.write(cmd.json ? JSON.stringify(e) + "\n" : `${new Date(e.t).toISOString().slice(11, 23)}  ${e.host.padEnd(8)} ${e.kind.padEnd(15)} ${e.detail ? JSON.stringify(e.detail) : ""}\n`);
      }
      return 0;
    }
  }
}

/** `inventory TEMPLATE`: an ordinary inventory file for the running fleet (sim/inventory.ts). */
function writeInventory(cmd: { template: string; out?: string }, stateDir: string): number {
  const fleetFile = path.join(stateDir, "fleet.json");
  if (!fs.existsSync(fleetFile)) {
    process.stderr.write(`no simulated fleet in ${stateDir} (no fleet.json); start one first: npm run sim -- up --hosts 3\n`);
    return 1;
  }
  const fleet = JSON.parse(fs.readFileSync(fleetFile, "utf8")) as FleetJson;
  const out = path.resolve(cmd.out ?? path.join(stateDir, "inventory.yaml"));
  try {
    const text = fleetInventory(fs.readFileSync(cmd.template, "utf8"), cmd.template, fleet, stateDir);
    fs.writeFileSync(out, text);
  } catch (error) {
    process.stderr.write(`${messageOf(error)}\n`);
    return 1;
  }
  process.stdout.write(`${out}\n`);
  return 0;
}

async function running(socket: string): Promise<boolean> {
  if (!fs.existsSync(socket)) return false;
  try {
    await controlRequest(socket, "GET", "/fleet", undefined, 3000);
    return true;
  } catch {
    return false;
  }
}

async function up(cmd: UpCommand, stateDir: string, socket: string): Promise<number> {
  if (await running(socket)) {
    process.stderr.write(`A simulated fleet is already up in ${stateDir}. Stop it first: npm run sim -- down\n`);
    return 1;
  }
  fs.mkdirSync(stateDir, { recursive: true });
  const fleetFile = path.join(stateDir, "fleet.json");
  fs.rmSync(fleetFile, { force: true });
  const logFile = path.join(stateDir, "daemon.log");
  const out = fs.openSync(logFile, "w");
  const started = Date.now();
  const child = spawn(process.execPath, [__filename, ...daemonArgs(cmd, stateDir)], { detached: true, stdio: ["ignore", out, out], cwd: process.cwd() });
  fs.closeSync(out);
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = `exited with ${code ?? signal}`));
  child.unref();
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`the fleet daemon ${exited}`);
        return fs.existsSync(fleetFile) && (await running(socket));
      },
      UP_TIMEOUT_MS,
      `the fleet daemon to write ${fleetFile}`,
      100,
    );
  } catch (error) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-15).join("\n") : "";
    process.stderr.write(`The simulated fleet did not start: ${messageOf(error)}\n${tail}\n(full log: ${logFile})\n`);
    if (!exited) process.stderr.write("Cleaning up...\n");
    await down(stateDir, socket, true);
    return 1;
  }
  const fleet = JSON.parse(fs.readFileSync(fleetFile, "utf8")) as FleetJson;
  const rel = (p: string) => (p.startsWith(process.cwd() + "/") ? path.relative(process.cwd(), p) : p);
  const lines = [
    `Simulated fleet up in ${rel(stateDir)}: ${fleet.hosts.length} hosts in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    ...fleet.hosts.map((h) => `  ${h.name.padEnd(8)} ${h.address}`),
    `kubeconfig: ${rel(fleet.kubeconfig)}    (kubectl --kubeconfig ${rel(fleet.kubeconfig)} get nodes)`,
    `ssh:        ssh -i ${rel(fleet.sshKeyPath)} -o UserKnownHostsFile=${rel(path.join(stateDir, "known_hosts"))} root@${fleet.hosts[0].address}`,
    `faults:     npm run sim -- fault ${fleet.hosts[0].name} never-returns on`,
    `timeline:   npm run sim -- timeline        stop: npm run sim -- down`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

async function down(stateDir: string, socket: string, quiet = false): Promise<number> {
  const res = readResources(stateDir);
  const say = (s: string) => void (quiet || process.stdout.write(s + "\n"));
  if (await running(socket)) {
    await controlRequest(socket, "POST", "/down");
    if (res) {
      await waitFor(() => !isAlive(res.owner), DOWN_TIMEOUT_MS, `the fleet daemon (pid ${res.owner.pid}) to stop`).catch((e: unknown) =>
        process.stderr.write(`${messageOf(e)}; removing what is left directly\n`),
      );
    }
  }
  const after = readResources(stateDir);
  const check = after ?? res;
  if (!check) {
    say(`No simulated fleet was running in ${stateDir}.`);
    return 0;
  }
  let problems: string[] = [];
  if (after) {
    // The daemon crashed or did not finish its own cleanup: stop it, then remove what it left.
    if (isAlive(after.owner) && after.owner.pid !== process.pid) process.kill(after.owner.pid, "SIGKILL");
    problems = await cleanUp(after);
  }
  const left = await settle(check, 5000);
  if (left.length > 0) {
    process.stderr.write(`Could not remove everything the fleet created: ${left.join("; ")}${problems.length ? ` (${problems.join("; ")})` : ""}\n`);
    return 1;
  }
  for (const f of ["resources.json", "control.sock", "fleet.json"]) fs.rmSync(path.join(stateDir, f), { force: true });
  say(`The simulated fleet in ${stateDir} is down${after ? " (removed what it had left behind)" : ""}; checked: none of its namespaces, interfaces, processes or mountpoints remain.`);
  return 0;
}

async function status(stateDir: string, socket: string, json: boolean): Promise<number> {
  if (!(await running(socket))) {
    process.stdout.write(`No simulated fleet is up in ${stateDir}. Start one: npm run sim -- up --hosts 3\n`);
    return 1;
  }
  const fleet = (await controlRequest(socket, "GET", "/fleet")) as FleetJson;
  const { events } = (await controlRequest(socket, "GET", "/timeline")) as { events: TimelineEvent[] };
  const rows = [];
  for (const h of fleet.hosts) {
    const { faults } = (await controlRequest(socket, "GET", `/hosts/${h.name}/faults`)) as { faults: FaultName[] };
    const power = [...events].reverse().find((e) => e.host === h.name && ["up", "down", "reboot-started"].includes(e.kind));
    const state = power?.kind === "up" ? "up" : power?.kind === "down" ? "down" : power?.kind === "reboot-started" ? "rebooting" : "unknown";
    rows.push({ ...h, state, bootId: power?.kind === "up" ? String(power.detail?.bootId ?? "") : undefined, faults });
  }
  if (json) {
    process.stdout.write(JSON.stringify({ ...fleet, hosts: rows }, null, 2) + "\n");
    return 0;
  }
  process.stdout.write(`Simulated fleet in ${stateDir} (kubeconfig ${fleet.kubeconfig})\n`);
  for (const r of rows) process.stdout.write(`  ${r.name.padEnd(8)} ${r.address.padEnd(14)} ${r.state.padEnd(9)} ${r.bootId ?? "-"}  faults: ${r.faults.join(", ") || "none"}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${messageOf(error)}\n`);
    process.exit(1);
  },
);
