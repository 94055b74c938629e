/**
 * One simulated machine's life: power-on (boot into the boot loader's default), power cycles
 * (reboot: sessions drop, the link goes down, the host stays off for downMs), its sshd, and its
 * faults. The namespaces and the network already exist when a SimHost is made (fleet.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type ApiServer, K3sPorts, type KubeletApi } from "./k3s-ports";
import type { K3sState } from "./kubelet/host-system";
import { ENV, hostPaths } from "./layout";
import { nsenterArgs, type Holder } from "./mounts";
import { setHostLink, type HostNet } from "./netns";
import { BootError, chooseSystem, clearRun, newBootId, PowerOffWait, powerOn } from "./power";
import { killAndWait, messageOf, pidsInMountNamespace, refOf, runOk, sleep, type ProcRef } from "./proc";
import type { Resources } from "./resources";
import { bootServices } from "./hosttools/boot-units";
import type { JsonObject } from "./hosttools/evaluate";
import { hostStorePath } from "./hosttools/index";
import { SYSTEM_CONFIG_FILE } from "./hosttools/system-info";
import { stoppedUnits, stoppedUnitsDirIn } from "./hosttools/system-units";
import { SSHD_UNIT } from "./hosttools/unit-control";
import { dropSshSessions, parseAccepted, Sshd, sshdSetupFor, writeAuthorizedKeys, type SshdSetup } from "./sshd";
import type { Timeline } from "./timeline";
import { breaks, type FaultName, type FaultScope, type FaultsFile, type SimTimings } from "./types";

/**
 * Faults that model a broken configuration: they belong to systems, not to the host. A fault
 * set with a target system breaks that system only; set without one, it breaks every system
 * built after it was set (those in the store then are known good), the way a bad change to
 * the configuration breaks what is built from it.
 */
const SCOPED_FAULTS: ReadonlySet<FaultName> = new Set<FaultName>(["kubelet-never-ready", "degraded", "activation-fails"]);

/** The part of the simulated kubelets (sim/kubelet) a host drives. */
export interface KubeHooks {
  /** The host booted `system` (a store path) with this boot id; says whether its k3s runs. */
  hostUp(host: string, bootId: string, system: string): K3sState;
  hostDown(host: string): void;
  /** switch-to-configuration activated `system` live, or k3s.service was started or stopped; says whether its k3s runs (undefined while down). */
  servicesChanged(host: string, system: string): K3sState | undefined;
  setFault(node: string, fault: "kubelet-never-ready" | "pdb-blocks", on: boolean): Promise<void>;
}

/** What every host shares. */
export interface HostContext {
  readonly timings: SimTimings;
  readonly timeline: Timeline;
  readonly kube: KubeHooks;
  /** The real API server, which k3s servers serve on their own loopback (k3s-ports.ts). */
  readonly apiServer: ApiServer;
  /** What the hosts' kubelet servers share (k3s-ports.ts). */
  readonly kubeletApi: KubeletApi;
  readonly resources: Resources;
  /** SetEnv of every SSH session on this host (PATH and the ENV variables). */
  readonly sessionEnv: (host: string, hostDir: string) => Readonly<Record<string, string>>;
  readonly log: (message: string) => void;
}

/** Where a host is in its power cycle. */
export type PowerState = "off" | "booting" | "up" | "going-down" | "down";

/** The delay before a requested reboot starts, so the answer reaches the caller first. */
const REBOOT_DELAY_MS = 50;
const KILL_TIMEOUT_MS = 5000;
/** How long starting the configuration's own boot services may take. */
const BOOT_UNITS_TIMEOUT_MS = 20_000;

/** One simulated host: its power state, sshd and faults. */
export class SimHost {
  private state: PowerState = "off";
  private sshd: Sshd | undefined;
  private wait: PowerOffWait | undefined;
  private stopping = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly faultSet = new Set<FaultName>();
  /** For the faults that model a broken configuration (SCOPED_FAULTS): which systems they break. */
  private readonly scopes = new Map<FaultName, FaultScope>();
  private bootedSystem: string | undefined;
  private currentBootId: string | undefined;
  /** The activated system whose services.openssh settings sshd follows. */
  private sshdSystem: string | undefined;
  private readonly k3sPorts: K3sPorts;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly net: HostNet,
    readonly holder: Holder,
    /** OpenSSH line of the host's own key (the one fleet.json pins). */
    readonly hostKey: string,
    private readonly ctx: HostContext,
  ) {
    this.k3sPorts = new K3sPorts({ name, hostDir: dir, holder, hostAddress: net.hostAddress, rootAddress: net.rootAddress, api: ctx.apiServer, kubelet: ctx.kubeletApi });
    this.writeFaults();
  }

  get power(): PowerState {
    return this.state;
  }

  get bootId(): string | undefined {
    return this.currentBootId;
  }

  get faults(): FaultName[] {
    return [...this.faultSet].sort();
  }

  /** Powers the host on: boots the boot loader's default system and starts sshd. */
  boot(): Promise<void> {
    return this.serial(async () => {
      if (this.stopping) return;
      this.state = "booting";
      const bootId = newBootId();
      let system: string;
      try {
        system = chooseSystem(this.name, this.dir);
        powerOn(this.dir, system, bootId, this.ctx.timings, Date.now());
        await setHostLink(this.net, true);
        this.sshdSystem = system;
        await this.startSshd();
      } catch (error) {
        // A machine that fails to boot stays off; the next power cycle tries again.
        this.state = "down";
        throw error;
      }
      this.currentBootId = bootId;
      this.bootedSystem = system;
      this.state = "up";
      this.writeFaults();
      await this.ctx.kube.setFault(this.name, "kubelet-never-ready", this.hits("kubelet-never-ready"));
      this.ctx.timeline.record(this.name, "up", { bootId, system });
      await this.followK3s(this.ctx.kube.hostUp(this.name, bootId, system));
      await this.startBootServices(system);
    });
  }

  /**
   * systemd starts the services the booted configuration defines with a script (boot-units.ts),
   * inside the host. A unit that fails to start does not stop the boot, as with systemd.
   */
  private async startBootServices(system: string): Promise<void> {
    let config: JsonObject;
    try {
      config = JSON.parse(fs.readFileSync(path.join(hostStorePath(this.dir, system), SYSTEM_CONFIG_FILE), "utf8")) as JsonObject;
    } catch {
      return;
    }
    if (bootServices(config).length === 0) return;
    const env = this.ctx.sessionEnv(this.name, this.dir);
    try {
      await runOk("nsenter", ["--wd=/", ...nsenterArgs(this.holder), process.execPath, path.join(env[ENV.toolsDir], "boot-units.js")], {
        env: { ...env, HOME: "/root", USER: "root", LANG: "C.UTF-8" },
        timeoutMs: BOOT_UNITS_TIMEOUT_MS,
      });
    } catch (error) {
      this.ctx.log(`${this.name}: starting the boot services of ${system} failed: ${messageOf(error)}`);
    }
  }

  /**
   * The power button. Returns false when the host is not up (a power cycle is already under
   * way); otherwise the cycle starts shortly after, in the background.
   */
  reboot(): boolean {
    if (this.state !== "up" || this.stopping) return false;
    this.state = "going-down";
    void (async () => {
      await sleep(REBOOT_DELAY_MS);
      this.ctx.timeline.record(this.name, "reboot-started");
      await this.powerOff();
      this.wait = new PowerOffWait(this.downtime());
      await this.wait.done;
      this.wait = undefined;
      await this.boot();
    })().catch((error: unknown) => {
      const reason = error instanceof BootError ? error.message : `power cycle of ${this.name} failed: ${messageOf(error)}`;
      if (!this.stopping) this.ctx.log(reason);
    });
    return true;
  }

  /**
   * Sets or clears a fault and acts on it. `system` (a store path) binds a broken-configuration
   * fault to that one system; without it, the fault breaks the systems built after now.
   * Resolves with the host's faults afterwards.
   */
  async setFault(fault: FaultName, on: boolean, system?: string): Promise<FaultName[]> {
    if (system !== undefined && !SCOPED_FAULTS.has(fault)) throw new Error(`${fault} belongs to the host, not to a system; it takes no target system`);
    if (this.faultSet.has(fault) === on && system === undefined) return this.faults;
    if (on) this.faultSet.add(fault);
    else this.faultSet.delete(fault);
    if (SCOPED_FAULTS.has(fault)) {
      if (on) this.scopes.set(fault, system !== undefined ? { system } : { spared: this.systemsInStore() });
      else this.scopes.delete(fault);
    }
    this.writeFaults();
    this.ctx.timeline.record(this.name, "fault", { fault, on });
    switch (fault) {
      case "kubelet-never-ready":
        // Takes effect at the next boot into a system it breaks (see scopes).
        if (!on) await this.ctx.kube.setFault(this.name, fault, false);
        break;
      case "pdb-blocks":
        await this.ctx.kube.setFault(this.name, fault, on);
        break;
      case "host-key-changed":
        await this.serial(async () => {
          if (this.state !== "up" || this.stopping) return;
          await this.sshd?.stop();
          await this.startSshd();
        });
        break;
      case "never-returns":
        if (this.wait) {
          if (on) this.wait.reschedule(undefined);
          else this.wait.wake();
        }
        break;
      default:
        // build-fails, degraded, slow-boot, drop-ssh-during-rebuild: read from faults.json by the
        // host tools, or at the next power-off.
        break;
    }
    return this.faults;
  }

  /** A network blip: every SSH session of the host drops; sshd keeps listening. */
  async dropSessions(): Promise<number> {
    if (this.state !== "up") return 0;
    return dropSshSessions(this.holder.mntNs, this.sshd?.ref.pid);
  }

  /**
   * switch-to-configuration activated `system`, or systemctl started or stopped sshd.service of
   * the running `system`: as systemd does for sshd.service, stop sshd when the system disables it
   * or it was stopped by hand, restart it when its sshd_config changed, start it when it was off.
   * Sessions already open stay. Root's keys are rewritten in any case (sshd reads them per login).
   */
  servicesChanged(system: string): Promise<void> {
    return this.serial(async () => {
      if (this.state !== "up" || this.stopping) return;
      await this.followK3s(this.ctx.kube.servicesChanged(this.name, system));
      this.sshdSystem = system;
      const before = this.sshd ? fs.readFileSync(path.join(hostPaths(this.dir).sshd, "sshd_config"), "utf8") : undefined;
      const wanted = this.sshdSetup();
      if (this.sshd?.running && wanted.config !== undefined && before === wanted.config) {
        writeAuthorizedKeys(this.dir, wanted.rootKeys);
        return;
      }
      await this.sshd?.stop();
      this.sshd = undefined;
      await this.startSshd();
    });
  }

  /** Stops power cycles; the fleet then kills the host's processes and removes its namespaces. Resolves once its k3s ports are closed. */
  halt(): Promise<void> {
    this.stopping = true;
    this.sshd?.expectExit();
    this.wait?.wake();
    return this.k3sPorts.close();
  }

  /** What k3s listens on inside the host follows k3s; a port that cannot be served is logged, as k3s's own failure would be. */
  private async followK3s(k3s: K3sState | undefined): Promise<void> {
    try {
      await this.k3sPorts.follow(k3s);
    } catch (error) {
      this.ctx.log(`${this.name}: k3s's ports are not served: ${messageOf(error)}`);
    }
  }

  private downtime(): number | undefined {
    if (this.faultSet.has("never-returns")) return undefined;
    return this.faultSet.has("slow-boot") ? this.ctx.timings.slowBootMs : this.ctx.timings.downMs;
  }

  /** Every process of the host dies (sessions drop), the link goes down, the RAM is gone. */
  private powerOff(): Promise<void> {
    return this.serial(async () => {
      this.sshd?.expectExit();
      this.sshd = undefined;
      // Processes may fork while they are killed; repeat until the namespace holds only the holder.
      for (let round = 0; round < 5; round++) {
        const victims = pidsInMountNamespace(this.holder.mntNs)
          .filter((pid) => pid !== this.holder.pid)
          .map(refOf)
          .filter((r): r is ProcRef => r !== undefined);
        if (victims.length === 0) break;
        await killAndWait(victims, KILL_TIMEOUT_MS, `${this.name}'s processes to die at power-off`);
      }
      await setHostLink(this.net, false);
      clearRun(this.dir);
      this.currentBootId = undefined;
      this.state = "down";
      this.ctx.timeline.record(this.name, "down");
      this.ctx.kube.hostDown(this.name);
      this.k3sPorts.hostDown();
    });
  }

  /** Whether `systemctl stop sshd` stopped sshd.service since the last boot or activation. */
  private sshdStoppedByHand(): boolean {
    return stoppedUnits(stoppedUnitsDirIn(hostPaths(this.dir).run)).includes(SSHD_UNIT);
  }

  /** What sshd runs with now: the followed system's OpenSSH settings; no sshd while sshd.service is stopped. */
  private sshdSetup(): SshdSetup {
    const setup = sshdSetupFor({
      hostDir: this.dir,
      system: this.sshdSystem === undefined ? undefined : hostStorePath(this.dir, this.sshdSystem),
      address: this.net.hostAddress,
      otherHostKey: this.faultSet.has("host-key-changed"),
      env: this.ctx.sessionEnv(this.name, this.dir),
    });
    return this.sshdStoppedByHand() ? { ...setup, config: undefined } : setup;
  }

  private async startSshd(): Promise<void> {
    const p = hostPaths(this.dir);
    const setup = this.sshdSetup();
    writeAuthorizedKeys(this.dir, setup.rootKeys);
    if (setup.config === undefined) {
      const why = this.sshdStoppedByHand() ? `${SSHD_UNIT} was stopped with systemctl` : `services.openssh.enable is false in ${this.sshdSystem}`;
      this.ctx.log(`${this.name}: ${why}; sshd does not run`);
      return;
    }
    const configPath = path.join(p.sshd, "sshd_config");
    fs.writeFileSync(configPath, setup.config);
    const port = setup.port;
    this.sshd = await Sshd.start({
      holder: this.holder,
      configPath,
      logPath: path.join(p.sshd, "sshd.log"),
      address: this.net.hostAddress,
      port,
      onLine: (line) => {
        const accepted = parseAccepted(line);
        if (accepted) this.ctx.timeline.record(this.name, "ssh-session", { ...accepted });
      },
      onUnexpectedExit: (why) => this.ctx.log(`${this.name}: sshd ${why} while the host was up; the host is unreachable until it reboots`),
    });
    this.ctx.resources.addProcess(this.sshd.ref, `sshd of ${this.name}`);
  }

  /** The NixOS systems in the host's store now, as the host sees their paths. */
  private systemsInStore(): string[] {
    return fs
      .readdirSync(hostPaths(this.dir).store)
      .filter((n) => /-nixos-system-/.test(n) && !n.startsWith("."))
      .map((n) => `/nix/store/${n}`)
      .sort();
  }

  /** Whether a fault set on the host hits its current boot: for a broken configuration, whether it booted a system the fault breaks. */
  private hits(fault: FaultName): boolean {
    if (!this.faultSet.has(fault)) return false;
    const scope = this.scopes.get(fault);
    return scope === undefined || (this.bootedSystem !== undefined && breaks(scope, this.bootedSystem));
  }

  /**
   * faults.json holds the faults that hit the current boot and the scopes of the
   * broken-configuration faults (switch-to-configuration asks whether the system it activates
   * is broken); the host tools read it.
   */
  private writeFaults(): void {
    const file = hostPaths(this.dir).faults;
    const effective = this.faults.filter((f) => this.hits(f));
    const content: FaultsFile = { faults: effective, scopes: Object.fromEntries(this.scopes) };
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(content) + "\n");
    fs.renameSync(`${file}.tmp`, file);
  }

  /** Runs power transitions one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
