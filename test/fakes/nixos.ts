/**
 * An in-memory NixOS host behind the NixosOps interface, for unit tests of apply and rollback.
 * It keeps what a real host keeps (store, profile generations, boot loader default, booted and
 * current systems, /etc/nixos, secret files, boot id) and behaves as NixOS does where the
 * rollout depends on it: switch-to-configuration boot/switch installs the loader from the
 * profile's current generation, switch/test activate, an activation whose unit fails exits
 * non-zero after all that, a reboot boots the loader's default. Its guard (lib/nixos/guard.ts)
 * fires on the fake's clock as the host-side one does: the live guard switches back to the
 * previous system, the boot guard sets the previous system as boot default and reboots, each
 * only when not disarmed first. A system in `faults.cutsOff` refuses new connections while it
 * runs; a connection open before it was activated stays usable, as with sshd.
 */
import type { ExecResult, Host } from "../../lib/host/host";
import { HostConnectionError } from "../../lib/host/host";
import type { ChannelPin } from "../../lib/nixos/channel";
import type { FlakePin } from "../../lib/nixos/flake";
import { activatesNow, setsBootDefault, type Goal } from "../../lib/nixos/goal";
import type { Guard, GuardOutcome } from "../../lib/nixos/guard";
import type { Clock } from "../../lib/rollout/wait";
import type { ClosureDiffEntry } from "../../lib/nixos/closureDiff";
import type { BootFacts, LiveFiles, NixosOps, SystemComparison, SystemdState, SystemState } from "../../lib/nixos/ops";
import { RolloutError } from "../../lib/rollout/errors";
import type { FakeCluster } from "./cluster";

/** A system's boot facts from a name and a kernel parameter string. */
export function fakeSystem(name: string, kernelParams = "quiet", kernel = "6.6.1"): BootFacts {
  return {
    system: `/nix/store/${name}-nixos-system`,
    kernel: `/nix/store/k-linux-${kernel}/bzImage`,
    initrd: `/nix/store/i-initrd-linux-${kernel}/initrd`,
    kernelModules: `/nix/store/m-linux-${kernel}-modules`,
    kernelParams,
  };
}

/** Where the rollout may be made to fail. */
export interface FakeFaults {
  /** The build fails with this output. */
  build?: string;
  /** The first build loses the connection. */
  dropDuringBuild?: boolean;
  /** nix-env --set fails. */
  setProfile?: boolean;
  /** nix-channel --update fails with this output (the channel list is put back, as the real script does). */
  setChannel?: string;
  /** Systems whose activation (switch, test) has a unit that fails: exit 4, as NixOS does. */
  activationFails: Set<string>;
  /** Systems that come up degraded (a unit fails at boot or activation). */
  degraded: Set<string>;
  /** Systems whose kubelet never turns Ready after a boot into them. */
  kubeletBroken: Set<string>;
  /** After a reboot the host never answers again. */
  neverReturns?: boolean;
  /** Systems that refuse new SSH connections while they run (sshd off or moved, root's key gone). */
  cutsOff: Set<string>;
  /** `nix store diff-closures` fails with this reason (e.g. an old Nix without `nix store`). */
  diffUnreadable?: string;
}

export class FakeNixos implements NixosOps {
  readonly store = new Map<string, BootFacts>();
  /** Profile generations: generation N is generations[N - 1]. */
  generations: string[] = [];
  profileGeneration = 0;
  /** The boot loader's default entry (a system). */
  bootDefault: string;
  booted: string;
  current: string;
  bootId = "boot-1";
  up = true;
  etcNixos: Record<string, string> = {};
  secrets: Record<string, string> = {};
  /** What the next build produces. */
  nextBuild: BootFacts;
  readonly faults: FakeFaults = { activationFails: new Set(), degraded: new Set(), kubeletBroken: new Set(), cutsOff: new Set() };
  /** The clock the guard's deadlines run on: give it the rollout's. */
  clock: Clock = { now: () => 0, sleep: async () => undefined };
  /** The armed guard, with when it was armed. */
  armed: { readonly guard: Guard; readonly at: number } | undefined;
  /** The guard fired and nobody has been told yet. */
  guardFired = false;
  /** Whether the rollout holds a connection (reconnect opens one; a reboot drops it). */
  connected = true;
  private bootedAt = 0;
  /** Every operation, in order: "build", "set-profile S", "activate S goal", "reboot", "boot S". */
  readonly log: string[] = [];
  /** Command gate answers: command → result. */
  readonly commands = new Map<string, (h: FakeNixos) => ExecResult>();
  private boots = 1;
  /** Per system: its NixOS version (`<system>/nixos-version`). */
  readonly nixosVersions = new Map<string, string>();
  /** Per system: the packages of its closure, name → version. */
  readonly closures = new Map<string, Readonly<Record<string, string>>>();

  constructor(readonly name: string, running: BootFacts, private readonly cluster?: { fake: FakeCluster; node: string }) {
    this.store.set(running.system, running);
    this.generations = [running.system];
    this.profileGeneration = 1;
    this.bootDefault = running.system;
    this.booted = running.system;
    this.current = running.system;
    this.nextBuild = running;
  }

  get profile(): string {
    return this.generations[this.profileGeneration - 1] ?? "";
  }

  /** Adds a generation that is the boot default but has never booted (e.g. `nixos-rebuild boot` by hand). */
  pendingGeneration(s: BootFacts): void {
    this.store.set(s.system, s);
    this.setProfileNow(s.system);
    this.bootDefault = s.system;
  }

  private facts(system: string): BootFacts {
    return this.store.get(system) ?? { system: "", kernel: "", initrd: "", kernelModules: "", kernelParams: "" };
  }

  private mustBeUp(): void {
    this.fireGuardIfDue();
    if (!this.up) throw new HostConnectionError(this.name, "connection refused");
    if (!this.connected) throw new HostConnectionError(this.name, "not connected");
  }

  /** The host-side guard's timer or boot unit, run when its deadline has passed. */
  private fireGuardIfDue(): void {
    const a = this.armed;
    if (!a || !this.up) return;
    const g = a.guard;
    if (g.kind === "live" && this.clock.now() >= a.at + g.seconds * 1000) {
      this.armed = undefined;
      this.guardFired = true;
      this.log.push(`guard returns to ${g.previous}`);
      if (setsBootDefault(g.goal)) {
        this.setProfileNow(g.previous);
        this.bootDefault = this.profile;
      }
      this.current = g.previous;
    }
    if (g.kind === "boot" && this.booted === g.system && this.clock.now() >= this.bootedAt + g.seconds * 1000) {
      this.armed = undefined;
      this.guardFired = true;
      this.log.push(`guard returns to ${g.previous} and reboots`);
      this.setProfileNow(g.previous);
      this.bootDefault = this.profile;
      this.goDown();
    }
  }

  async armGuard(guard: Guard): Promise<void> {
    this.mustBeUp();
    this.log.push(`arm ${guard.kind} guard`);
    this.armed = { guard, at: this.clock.now() };
    this.guardFired = false;
  }

  async disarmGuard(): Promise<GuardOutcome> {
    this.mustBeUp();
    if (this.armed) {
      this.armed = undefined;
      this.log.push("disarm guard");
      return "disarmed";
    }
    const fired = this.guardFired;
    this.guardFired = false;
    return fired ? "fired" : "none";
  }

  private setProfileNow(system: string): number {
    if (this.generations[this.generations.length - 1] !== system) this.generations.push(system);
    this.profileGeneration = this.generations.lastIndexOf(system) + 1;
    return this.profileGeneration;
  }

  async readSystems(): Promise<SystemState> {
    this.mustBeUp();
    return {
      bootId: this.bootId,
      booted: this.facts(this.booted),
      current: this.facts(this.current),
      profile: this.facts(this.profile),
      generation: this.profileGeneration,
      currentGeneration: this.generations.lastIndexOf(this.current) + 1,
    };
  }

  async readConfig(names: readonly string[]): Promise<LiveFiles> {
    this.mustBeUp();
    return Object.fromEntries(names.map((n) => [n, this.etcNixos[n] ?? null]));
  }

  async writeConfig(files: Readonly<LiveFiles>): Promise<void> {
    this.mustBeUp();
    for (const [n, v] of Object.entries(files)) {
      if (v === null) delete this.etcNixos[n];
      else this.etcNixos[n] = v;
    }
  }

  async readSecrets(paths: readonly string[]): Promise<LiveFiles> {
    this.mustBeUp();
    return Object.fromEntries(paths.map((n) => [n, this.secrets[n] ?? null]));
  }

  async writeSecrets(files: Readonly<LiveFiles>): Promise<void> {
    this.mustBeUp();
    for (const [n, v] of Object.entries(files)) {
      if (v === null) delete this.secrets[n];
      else this.secrets[n] = v;
    }
  }

  /** Staging folders and their files, as stage() left them. */
  readonly staging = new Map<string, Record<string, string>>();

  async stage(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
    this.mustBeUp();
    this.log.push(`stage ${dir}`);
    this.staging.set(dir, { ...this.etcNixos, ...files });
  }

  async unstageOthers(keep: string): Promise<void> {
    this.mustBeUp();
    this.log.push(`unstage all but ${keep}`);
    for (const dir of [...this.staging.keys()]) if (dir !== keep) this.staging.delete(dir);
  }

  async readStaged(dir: string, names: readonly string[]): Promise<LiveFiles> {
    this.mustBeUp();
    const staged = this.staging.get(dir) ?? {};
    return Object.fromEntries(names.map((n) => [n, staged[n] ?? null]));
  }

  async findSystem(system: string): Promise<BootFacts | undefined> {
    this.mustBeUp();
    return this.store.get(system);
  }

  async build(_timeoutMs: number, attach = false, staged?: string, channel?: ChannelPin, flake?: FlakePin): Promise<BootFacts> {
    this.mustBeUp();
    this.log.push(`${attach ? "attach to build" : "build"}${staged ? ` ${staged}` : ""}${channel ? ` from ${channel.url}` : ""}${flake ? ` flake#${flake.configuration}` : ""}`);
    if (this.faults.dropDuringBuild) {
      // The build goes on on the host; only the connection that followed it is gone.
      this.faults.dropDuringBuild = false;
      this.store.set(this.nextBuild.system, this.nextBuild);
      throw new HostConnectionError(this.name, "connection lost");
    }
    if (this.faults.build !== undefined) {
      throw new RolloutError(this.name, "build", "`nixos-rebuild build` failed", undefined, { command: "nixos-rebuild build", exitCode: 100, output: this.faults.build });
    }
    this.store.set(this.nextBuild.system, this.nextBuild);
    return this.nextBuild;
  }

  /** The host's `nixos` channel URL ("" when none) and the upgrade token it was last set with. */
  channel = { url: "", token: "" };

  async setChannel(pin: ChannelPin): Promise<{ changed: false } | { changed: true; previous: string }> {
    this.mustBeUp();
    if (this.channel.url === pin.url && this.channel.token === pin.upgradeToken) return { changed: false };
    this.log.push(`set-channel ${pin.url}`);
    if (this.faults.setChannel !== undefined) {
      throw new RolloutError(this.name, "channel", "setting the nixos channel failed", undefined, { command: "nix-channel --update nixos", exitCode: 1, output: this.faults.setChannel });
    }
    const previous = this.channel.url || "none";
    this.channel = { url: pin.url, token: pin.upgradeToken };
    return { changed: true, previous };
  }

  async setProfile(system: string): Promise<number> {
    this.mustBeUp();
    this.log.push(`set-profile ${system}`);
    if (this.faults.setProfile) {
      throw new RolloutError(this.name, "profile", "making the profile failed", undefined, { command: "nix-env --set", exitCode: 1, output: "error: disk full" });
    }
    return this.setProfileNow(system);
  }

  async activate(system: string, goal: Goal): Promise<void> {
    this.mustBeUp();
    this.log.push(`activate ${system} ${goal}`);
    // As switch-to-configuration does: the loader follows the profile, then the system is activated.
    if (setsBootDefault(goal)) this.bootDefault = this.profile;
    if (activatesNow(goal)) {
      this.current = system;
      if (this.faults.activationFails.has(system)) {
        throw new RolloutError(this.name, "activate", `\`switch-to-configuration ${goal}\` of ${system} failed`, undefined, {
          command: `${system}/bin/switch-to-configuration ${goal}`,
          exitCode: 4,
          output: "warning: the following units failed: broken.service",
        });
      }
    }
  }

  async compareSystems(from: string, to: string): Promise<SystemComparison> {
    this.mustBeUp();
    const versions = { fromVersion: this.nixosVersions.get(from) ?? "", toVersion: this.nixosVersions.get(to) ?? "" };
    if (this.faults.diffUnreadable !== undefined) return { ...versions, diff: { kind: "unreadable", reason: this.faults.diffUnreadable } };
    const a = this.closures.get(from) ?? {};
    const b = this.closures.get(to) ?? {};
    const entries: ClosureDiffEntry[] = [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .sort()
      .filter((n) => a[n] !== b[n])
      .map((n) => ({ name: n, removed: n in a ? [a[n]] : [], added: n in b ? [b[n]] : [], sizeDelta: 0 }));
    return { ...versions, diff: { kind: "read", entries, unrecognised: [] } };
  }

  async readBootId(): Promise<string> {
    this.mustBeUp();
    return this.bootId;
  }

  async reboot(): Promise<void> {
    this.mustBeUp();
    this.log.push("reboot");
    this.goDown();
  }

  private goDown(): void {
    this.up = false;
    this.connected = false;
    this.cluster?.fake.nodes.set(this.cluster.node, { ...this.cluster.fake.nodes.get(this.cluster.node)!, ready: false });
  }

  async reachable(): Promise<boolean> {
    this.fireGuardIfDue();
    if (this.up) return true;
    if (this.faults.neverReturns) return false;
    this.powerOn();
    return true;
  }

  private powerOn(): void {
    this.boots++;
    this.bootId = `boot-${this.boots}`;
    this.booted = this.bootDefault;
    this.current = this.bootDefault;
    this.up = true;
    this.bootedAt = this.clock.now();
    this.log.push(`boot ${this.booted}`);
    if (this.cluster) {
      const n = this.cluster.fake.nodes.get(this.cluster.node)!;
      this.cluster.fake.nodes.set(this.cluster.node, { ...n, bootId: this.bootId, ready: !this.faults.kubeletBroken.has(this.booted) });
    }
  }

  async reconnect(): Promise<void> {
    this.fireGuardIfDue();
    if (!this.up) throw new HostConnectionError(this.name, "connection refused");
    this.connected = false;
    if (this.faults.cutsOff.has(this.current)) throw new HostConnectionError(this.name, "authentication as root failed: the host does not accept the configured private key");
    this.connected = true;
  }

  async systemd(): Promise<SystemdState> {
    this.mustBeUp();
    const bad = this.faults.degraded.has(this.current);
    return bad ? { state: "degraded", failedUnits: "broken.service loaded failed failed" } : { state: "running", failedUnits: "" };
  }

  async shell(): Promise<Host> {
    this.mustBeUp();
    return {
      name: this.name,
      exec: async (command: string) => {
        const answer = this.commands.get(command);
        return answer ? answer(this) : { code: 127, stdout: "", stderr: `${command}: not found` };
      },
      close: async () => undefined,
    };
  }
}
