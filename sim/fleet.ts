/**
 * The simulated fleet: N NixOS hosts in their own network and mount namespaces, reached over
 * real OpenSSH, the real Kubernetes control plane with a simulated kubelet per host, a control
 * socket and a timeline. This file wires the pieces together; each concern lives in its own
 * module.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ControlServer } from "./control";
import { SimHost, type HostContext, type PowerState } from "./host";
import { installHost, type K3sJoin } from "./install";
import { ControlPlane } from "./controlplane/index";
import { EXEC_ANSWERS_FILE, readExecAnswers } from "./kubelet/exec";
import { SimKubelets } from "./kubelet/index";
import { fleetIdOf, hostNames, NeedsRootError, prepareHostDir, recoverCrashed, type SimFleetOptions, type SimRole } from "./fleet-setup";
import { ENV, hostPaths, SESSION_PATH } from "./layout";
import { withMachineLock } from "./lock";
import { checkStateDirPlacement, ensureMountpoints, mountHostFs, startHolder, type Holder } from "./mounts";
import { createHostNet, findFreeSubnet, hostAddresses, hostNetNames, type HostNet } from "./netns";
import { messageOf } from "./proc";
import { cleanUp, Resources, RESOURCES_FILE, settle } from "./resources";
import { generateKey } from "./sshd";
import { Timeline } from "./timeline";
import { DEFAULT_TIMINGS, type FaultName, type FleetJson, type SimTimings, type TimelineEvent } from "./types";

export { fleetIdOf, hostNames, NeedsRootError, type SimFleetOptions, type SimRole } from "./fleet-setup";

/** The compiled host tools (dist/sim/hosttools). */
const TOOLS_DIR = path.join(__dirname, "hosttools");
const STOP_TIMEOUT_MS = 30_000;
/** Deadline for every host's Node to be Ready and the seeded workloads available after the start. */
const SETTLE_TIMEOUT_MS = 120_000;
/** State folders of the fleets running in this process (resources.json names the process, not the fleet). */
const LIVE_STATE_DIRS = new Set<string>();
/** Files of the state folder this fleet owns, removed at start (kube/ holds the control plane's data, bin/ the hosts' kubectl). */
const OWN_FILES = ["kubeconfig", "audit.log", "fleet.json", "timeline.jsonl", "known_hosts", "control.sock", "id_ed25519", "id_ed25519.pub", "fleet.log", "inventory.yaml"];

/** A running simulated fleet. */
export class SimFleet {
  private readonly hosts = new Map<string, SimHost>();
  /** Host names in the order they were asked for (hosts start in parallel). */
  private order: string[] = [];
  private control: ControlServer | undefined;
  private controlPlane: ControlPlane | undefined;
  private controlPlaneStarting: Promise<unknown> | undefined;
  private kube: SimKubelets | undefined;
  private kubeconfig = "";
  private stopping: Promise<void> | undefined;
  private stopRequested: (() => void) | undefined;
  /** Resolves when a stop was requested over the control socket (POST /down). */
  readonly downRequested: Promise<void>;

  private constructor(
    readonly stateDir: string,
    readonly timings: SimTimings,
    private readonly resources: Resources,
    private readonly tl: Timeline,
    private readonly logFn: (line: string) => void,
  ) {
    this.downRequested = new Promise((resolve) => (this.stopRequested = resolve));
  }

  /** Starts the whole fleet; on failure everything created so far is removed before the error is thrown. */
  static async start(o: SimFleetOptions): Promise<SimFleet> {
    if (process.getuid?.() !== 0) throw new NeedsRootError();
    const names = hostNames(o.hosts);
    const stateDir = path.resolve(o.stateDir);
    checkStateDirPlacement(stateDir);
    if (LIVE_STATE_DIRS.has(stateDir)) throw new Error(`a fleet already runs with the state folder ${stateDir} in this process; stop it first`);
    fs.mkdirSync(stateDir, { recursive: true });
    await recoverCrashed(stateDir);
    LIVE_STATE_DIRS.add(stateDir);
    for (const f of OWN_FILES) fs.rmSync(path.join(stateDir, f), { force: true });
    fs.rmSync(path.join(stateDir, "hosts"), { recursive: true, force: true });
    fs.rmSync(path.join(stateDir, "kube"), { recursive: true, force: true });
    fs.rmSync(path.join(stateDir, "bin"), { recursive: true, force: true });
    const logFile = path.join(stateDir, "fleet.log");
    const log = (line: string) => {
      const stamped = `${new Date().toISOString()} ${line}`;
      fs.appendFileSync(logFile, stamped + "\n");
      o.log?.(stamped);
    };
    const fleetId = fleetIdOf(stateDir);
    const resources = new Resources(path.join(stateDir, RESOURCES_FILE), stateDir, fleetId);
    const timings: SimTimings = { ...DEFAULT_TIMINGS, ...o.timings };
    const fleet = new SimFleet(stateDir, timings, resources, new Timeline(path.join(stateDir, "timeline.jsonl")), log);
    try {
      await fleet.build(names, fleetId, o.roles ?? {});
    } catch (error) {
      LIVE_STATE_DIRS.delete(stateDir);
      log(`start failed: ${messageOf(error)}`);
      await fleet.stop().catch((e: unknown) => log(`cleanup after the failed start: ${messageOf(e)}`));
      throw error;
    }
    return fleet;
  }

  private async build(names: string[], fleetId: string, roles: Readonly<Record<string, SimRole>>): Promise<void> {
    const sd = this.stateDir;
    const started = Date.now();
    this.order = names;
    // The control plane starts while the hosts' namespaces are made; its processes are recorded
    // as they start, so `sim down` and crash recovery end them too.
    const controlPlane = ControlPlane.start({
      dataDir: path.join(sd, "kube"),
      kubeconfigPath: path.join(sd, "kubeconfig"),
      auditLogPath: path.join(sd, "audit.log"),
      ...(this.timings.nodeMonitorGracePeriodSeconds === undefined ? {} : { nodeMonitorGracePeriodSeconds: this.timings.nodeMonitorGracePeriodSeconds, nodeMonitorPeriodSeconds: 1 }),
      onProcess: (ref, component) => this.resources.addProcess(ref, `${component} of the control plane`),
      log: this.logFn,
    }).then((cp) => (this.controlPlane = cp));
    this.controlPlaneStarting = controlPlane;
    // A rejection is awaited below; this keeps it from counting as unhandled meanwhile.
    controlPlane.catch(() => undefined);
    // Under the machine-wide lock: the subnet is chosen and the hosts' namespaces and mounts are
    // made, so no other fleet takes the same subnet or removes a mountpoint in between.
    const { subnet, nets, holders } = await withMachineLock(async () => {
      const mountpoints = ensureMountpoints();
      this.resources.update((d) => ({ ...d, mountpoints }));
      const free = await findFreeSubnet();
      const created: HostNet[] = [];
      for (const [i, name] of names.entries()) {
        created.push(
          await createHostNet(hostNetNames(fleetId, i, name), hostAddresses(free, i), (kind, n) =>
            this.resources.update((d) => (kind === "netns" ? { ...d, netns: [...d.netns, n] } : { ...d, veths: [...d.veths, n] })),
          ),
        );
      }
      const held = await Promise.all(
        names.map(async (name, i) => {
          const holder = await startHolder(created[i].netns);
          this.resources.update((d) => ({ ...d, holders: [...d.holders, { ...holder, host: name }] }));
          await mountHostFs(holder, path.join(sd, "hosts", name), name);
          return holder;
        }),
      );
      return { subnet: free, nets: created, holders: held };
    });
    this.logFn(`starting ${names.length} hosts on ${subnet}`);
    const roleOf = (name: string, i: number): SimRole => roles[name] ?? (i === 0 ? "control-plane" : "worker");
    const clientKey = await generateKey(path.join(sd, "id_ed25519"), "nixos-fleet-sim");
    const cp = await controlPlane;
    this.kubeconfig = cp.kubeconfigPath;
    this.kube = new SimKubelets({
      kubeconfig: fs.readFileSync(cp.kubeconfigPath, "utf8"),
      hosts: names.map((name, i) => ({ name, address: nets[i].hostAddress, hostDir: path.join(sd, "hosts", name) })),
      timings: this.timings,
      auditLog: path.join(sd, "audit.log"),
      record: (host, kind, detail, at) => void this.tl.record(host, kind, detail, at),
      log: this.logFn,
    });
    await this.kube.start();
    const controlSocket = path.join(sd, "control.sock");
    this.control = await ControlServer.listen(controlSocket, {
      fleet: () => this.fleetJson,
      timeline: () => this.timeline(),
      hasHost: (h) => this.hosts.has(h),
      event: (h, body) => void this.tl.record(h, body.kind, body.detail),
      cannotReboot: (h) => {
        const s = this.mustHost(h).power;
        return s === "up" ? undefined : `${h} is not up (it is ${s}); the power button does nothing now`;
      },
      reboot: (h) => void this.mustHost(h).reboot(),
      dropSessions: async (h) => void (await this.mustHost(h).dropSessions()),
      servicesChanged: (h, system) => this.mustHost(h).servicesChanged(system),
      faults: (h) => this.mustHost(h).faults,
      setFault: (h, f, on, system) => this.setFault(h, f, on, system),
      down: () => this.stopRequested?.(),
    });
    const kubectl = installKubectl(cp.binaries.kubectl, sd);
    const ctx: HostContext = {
      timings: this.timings,
      timeline: this.tl,
      kube: this.kube,
      apiServer: { ...loopbackEndpoint(cp.url), kubeconfig: fs.readFileSync(cp.kubeconfigPath, "utf8") },
      kubeletApi: { tls: cp.kubeletServing(), answers: () => readExecAnswers(path.join(sd, EXEC_ANSWERS_FILE)) },
      resources: this.resources,
      sessionEnv: (host, hostDir) => ({
        PATH: SESSION_PATH,
        [ENV.host]: host,
        [ENV.hostDir]: hostDir,
        [ENV.control]: controlSocket,
        [ENV.toolsDir]: TOOLS_DIR,
        [ENV.kubectl]: kubectl,
      }),
      log: this.logFn,
    };
    // The machines were set up as one k3s cluster: control-plane hosts as servers, the others as agents of the first server.
    const server = names.findIndex((n, i) => roleOf(n, i) === "control-plane");
    const joinToken = randomBytes(24).toString("hex");
    const joinOf = (name: string, i: number): K3sJoin =>
      roleOf(name, i) === "control-plane" ? { role: "server" } : { role: "agent", serverAddr: `https://${nets[Math.max(server, 0)].hostAddress}:6443`, token: joinToken };
    const results = await Promise.allSettled(names.map((name, i) => this.addHost(ctx, name, roleOf(name, i), nets[i], holders[i], clientKey, joinOf(name, i))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    await this.kube.settled(SETTLE_TIMEOUT_MS);
    const json = this.fleetJson;
    fs.writeFileSync(path.join(sd, "known_hosts"), json.hosts.map((h) => `${h.address} ${h.hostKey}`).join("\n") + "\n");
    writeAtomic(path.join(sd, "fleet.json"), JSON.stringify(json, null, 2) + "\n");
    this.logFn(`${names.length} hosts up in ${Date.now() - started} ms`);
  }

  private async addHost(ctx: HostContext, name: string, role: SimRole, net: HostNet, holder: Holder, clientKey: string, k3s: K3sJoin): Promise<void> {
    const hostDir = path.join(this.stateDir, "hosts", name);
    const hostKey = await prepareHostDir(hostDir, name, clientKey);
    const info = { name, address: net.hostAddress, port: 22, hostKey, role };
    fs.writeFileSync(hostPaths(hostDir).info, JSON.stringify(info, null, 2) + "\n");
    const host = new SimHost(name, hostDir, net, holder, hostKey, ctx);
    this.hosts.set(name, host);
    const installed = await installHost(host, clientKey, ctx.sessionEnv(name, hostDir), TOOLS_DIR, k3s);
    this.logFn(`${name}: installed generation ${installed.generation} (${installed.system})`);
    await host.boot();
  }

  /** What fleet.json holds. */
  get fleetJson(): FleetJson {
    return {
      hosts: this.order.flatMap((n) => this.hosts.get(n) ?? []).map((h) => ({ name: h.name, address: h.net.hostAddress, port: 22, hostKey: h.hostKey })),
      sshKeyPath: path.join(this.stateDir, "id_ed25519"),
      kubeconfig: this.kubeconfig,
      stateDir: this.stateDir,
      timeline: path.join(this.stateDir, "timeline.jsonl"),
      controlSocket: path.join(this.stateDir, "control.sock"),
    };
  }

  /** Every timeline event so far. */
  timeline(): TimelineEvent[] {
    return this.tl.all();
  }

  /** Calls `listener` with each later timeline event; returns the unsubscribe function. */
  onEvent(listener: (e: TimelineEvent) => void): () => void {
    return this.tl.subscribe(listener);
  }

  /**
   * Sets or clears a fault of a host; resolves with its faults. `system` binds a
   * broken-configuration fault (kubelet-never-ready, degraded, activation-fails) to one system;
   * without it such a fault breaks the systems built after it was set.
   */
  setFault(host: string, fault: FaultName, on: boolean, system?: string): Promise<FaultName[]> {
    return this.mustHost(host).setFault(fault, on, system);
  }

  /** Presses a host's power button; throws when the host is not up. */
  reboot(host: string): void {
    const h = this.mustHost(host);
    if (!h.reboot()) throw new Error(`${host} is not up (it is ${h.power}); cannot reboot it now`);
  }

  /** A host's power state and current boot id (tests and `status`). */
  hostState(host: string): { power: PowerState; bootId: string | undefined; faults: FaultName[] } {
    const h = this.mustHost(host);
    return { power: h.power, bootId: h.bootId, faults: h.faults };
  }

  /** Stops everything and removes what the fleet created; rejects listing anything left behind. */
  stop(timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
    this.stopping ??= this.doStop(timeoutMs);
    return this.stopping;
  }

  private async doStop(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1000, deadline - Date.now());
    const halted = Promise.all([...this.hosts.values()].map((h) => h.halt()));
    const problems: string[] = [];
    await bounded(halted, left(), "closing the hosts' k3s ports").catch((e: unknown) => problems.push(messageOf(e)));
    await bounded(this.control?.close(), left(), "closing the control socket").catch((e: unknown) => problems.push(messageOf(e)));
    this.kube?.stop();
    // A start still under way (a failed fleet start) ends first, so no component starts after the cleanup.
    await bounded(this.controlPlaneStarting?.catch(() => undefined), left(), "the Kubernetes control plane's start").catch((e: unknown) => problems.push(messageOf(e)));
    await bounded(this.controlPlane?.stop(), left(), "stopping the Kubernetes control plane").catch((e: unknown) => problems.push(messageOf(e)));
    problems.push(...(await cleanUp(this.resources.snapshot, left())));
    LIVE_STATE_DIRS.delete(this.stateDir);
    const remaining = await settle(this.resources.snapshot, Math.min(left(), 5000));
    if (remaining.length > 0) {
      const msg = `the fleet in ${this.stateDir} did not clean up completely; left: ${remaining.join("; ")}` + (problems.length ? `; problems: ${problems.join("; ")}` : "");
      this.logFn(msg);
      throw new Error(`${msg}. Run \`npm run sim -- down --state-dir ${this.stateDir}\` to retry.`);
    }
    this.resources.remove();
    fs.rmSync(path.join(this.stateDir, "fleet.json"), { force: true });
    this.logFn("stopped; nothing left behind" + (problems.length ? ` (noted: ${problems.join("; ")})` : ""));
  }

  private mustHost(name: string): SimHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no simulated host named ${JSON.stringify(name)} (hosts: ${[...this.hosts.keys()].join(", ")})`);
    return h;
  }
}

/** host and port of an https://HOST:PORT URL. */
function loopbackEndpoint(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/**
 * A copy of the control plane's kubectl in the state folder, which the hosts see (the tool
 * cache under /root is hidden by each host's own /root): k3s's `kubectl` on a host runs it.
 */
function installKubectl(kubectl: string, stateDir: string): string {
  const into = path.join(stateDir, "bin", "kubectl");
  fs.mkdirSync(path.dirname(into), { recursive: true });
  fs.copyFileSync(kubectl, into, fs.constants.COPYFILE_FICLONE);
  fs.chmodSync(into, 0o555);
  return into;
}

function writeAtomic(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

/** Awaits `p` (when there is one) but gives up after `ms`, naming what it waited for. */
async function bounded(p: Promise<unknown> | undefined, ms: number, what: string): Promise<void> {
  if (!p) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise((_r, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
