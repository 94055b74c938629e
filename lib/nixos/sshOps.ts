/**
 * NixosOps over SSH: each operation is one or two POSIX shell commands through the rollout's
 * Session (which reconnects after a reboot or a dropped connection).
 *
 * The build runs `nixos-rebuild build` in /var/lib/nixos-fleet/build: it evaluates and builds
 * /etc/nixos/configuration.nix like `switch` would, but changes neither the profile, the boot
 * loader nor the running system. Its ./result link there is what keeps the built system from
 * garbage collection until it is a profile generation: nix-build registers an out-link as an
 * indirect GC root (/nix/var/nix/gcroots/auto/…). A build ahead (the FleetBuild) runs the same
 * way in its staging folder (lib/nixos/staging.ts), pointed at the configuration staged there
 * with `-I nixos-config=<folder>/configuration.nix`; its ./result there is the GC root.
 *
 * The build runs detached from the SSH session, as the transient service BUILD_UNIT
 * (systemd-run): a dropped connection does not kill it, nor start a second build beside it; the
 * rollout reconnects and follows the same unit. At the build's deadline the unit is stopped, so
 * no build goes on after the rollout gave up on it.
 */
import { HostConnectionError } from "../host/host";
import { shellQuote } from "../host/quote";
import { RolloutError } from "../rollout/errors";
import { ETC_NIXOS, FLEET_STATE_DIR, readFiles, run, writeFilesAtomically } from "../rollout/remote";
import type { Session } from "../rollout/session";
import { type ChannelPin, channelBuildScript, channelName, channelTarball, parseSetChannel, setChannelScript } from "./channel";
import { compareScript, comparisonOf } from "./compare";
import { type FlakePin, flakeRef, noFlakeGuard } from "./flake";
import type { Goal } from "./goal";
import { armScript, disarmScript, parseDisarm } from "./guard";
import type { BootFacts, LiveFiles, NixosOps, SystemComparison, SystemdState, SystemState } from "./ops";
import { isStagingDir, STAGING_ROOT } from "./staging";
import { readBootFacts, readSystemState, SYSTEM_PROFILE } from "./systems";

/** Where the system is built; its ./result is the GC root of the last built system. */
export const BUILD_DIR = `${FLEET_STATE_DIR}/build`;
/** The transient service the build runs in. The host lock makes it one build per host at a time. */
export const BUILD_UNIT = "nixos-fleet-build.service";
/** How long reading two systems' closures may take (diff-closures walks both closures). */
const COMPARE_TIMEOUT_MS = 60_000;
/** How often a running build is looked at. */
const BUILD_POLL_MS = 500;

/** Secret paths are absolute; they are written relative to "/". */
const relative = (files: Readonly<LiveFiles>): LiveFiles => {
  const out: LiveFiles = {};
  for (const [p, v] of Object.entries(files)) out[p.replace(/^\/+/, "")] = v;
  return out;
};

/** The NixOS operations of the host behind `session`. */
export function sshOps(session: Session): NixosOps {
  const host = () => session.host();
  /** A dropped connection is closed so the next operation reconnects. */
  const guard = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (error) {
      if (error instanceof HostConnectionError) await session.close();
      throw error;
    }
  };
  return {
    name: session.name,
    readSystems: (): Promise<SystemState> => guard(async () => readSystemState(await host())),
    readConfig: (names) => guard(async () => readFiles(await host(), names, ETC_NIXOS)),
    writeConfig: (files, step = "write") => guard(async () => writeFilesAtomically(await host(), ETC_NIXOS, files, { fileMode: "0644", umask: "022" }, step)),
    readSecrets: (paths) =>
      guard(async () => {
        const live = await readFiles(await host(), paths.map((p) => p.replace(/^\/+/, "")), "");
        const out: LiveFiles = {};
        for (const p of paths) out[p] = live[p.replace(/^\/+/, "")] ?? null;
        return out;
      }),
    writeSecrets: (files, step = "write") =>
      guard(async () => {
        if (Object.keys(files).length > 0) await writeFilesAtomically(await host(), "", relative(files), { fileMode: "0600", umask: "077" }, step);
      }),
    build: (timeoutMs, attach = false, staged?: string, channel?: ChannelPin, flake?: FlakePin): Promise<BootFacts> =>
      guard(async () => {
        const deadline = Date.now() + timeoutMs;
        const dir = staged ?? BUILD_DIR;
        const command = buildCommand(staged, channel, flake);
        if (!attach) await run(await host(), "build", startBuildScript(staged, channel, flake), { what: `starting \`${command}\` as ${BUILD_UNIT} failed` });
        await followBuild(session, deadline, timeoutMs, command);
        const facts = await readBootFacts(await host(), `${dir}/result`);
        if (!facts.system.startsWith("/nix/store/")) {
          throw new RolloutError(session.name, "build", `${command} left no system at ${dir}/result`, `run \`cd ${dir} && ${command}\` on the host by hand and look at its output.`);
        }
        return facts;
      }),
    setChannel: (pin) =>
      guard(async () => {
        const { stdout } = await run(await host(), "channel", setChannelScript(pin), {
          what: `setting the nixos channel to ${pin.url} (nix-channel --add, nix-channel --update nixos) failed; the channel was put back as it was`,
        });
        return parseSetChannel(stdout);
      }),
    stage: (dir, files) =>
      guard(async () => {
        if (!isStagingDir(dir)) throw new RolloutError(session.name, "stage", `${dir} is not a staging folder under ${STAGING_ROOT}`);
        await run(await host(), "stage", stageScript(dir), {
          what: `preparing the staging folder ${dir} (a copy of ${ETC_NIXOS}) failed`,
          hint: `check free space and permissions under ${STAGING_ROOT} on the host.`,
        });
        await writeFilesAtomically(await host(), dir, files, { fileMode: "0644", umask: "022" }, "stage");
      }),
    unstageOthers: (keep) =>
      guard(async () => {
        const k = shellQuote(keep);
        const script = `for old in ${STAGING_ROOT}/*; do if [ "$old" != ${k} ] && [ -e "$old" ]; then rm -rf -- "$old"; fi; done`;
        await run(await host(), "stage", script, { what: `removing the staging folders older than ${keep} failed` });
      }),
    readStaged: (dir, names) => guard(async () => readFiles(await host(), names, dir)),
    findSystem: (system) =>
      guard(async () => {
        const h = await host();
        const r = await h.exec(`test -x ${shellQuote(system)}/bin/switch-to-configuration`, { timeoutMs: 30_000 });
        return r.code === 0 ? readBootFacts(h, system) : undefined;
      }),
    setProfile: (system) =>
      guard(async () => {
        const command = `nix-env -p ${SYSTEM_PROFILE} --set ${shellQuote(system)} 2>&1 && readlink ${SYSTEM_PROFILE}`;
        const { stdout } = await run(await host(), "profile", command, { what: `making ${system} the system profile failed` });
        const m = /system-(\d+)-link/.exec(stdout);
        return m ? Number(m[1]) : 0;
      }),
    activate: (system: string, goal: Goal) =>
      guard(async () => {
        await run(await host(), "activate", `${shellQuote(system)}/bin/switch-to-configuration ${goal} 2>&1`, {
          what: `\`switch-to-configuration ${goal}\` of ${system} failed`,
        });
      }),
    armGuard: (g) =>
      guard(async () => {
        await run(await host(), "activate", armScript(g), { what: `arming the ${g.kind} guard (return to ${g.previous} unless confirmed) failed` });
      }),
    disarmGuard: () =>
      guard(async () => parseDisarm((await run(await host(), "confirm", disarmScript(), { what: "confirming the new configuration (disarming its guard) failed" })).stdout)),
    compareSystems: (from, to): Promise<SystemComparison> =>
      guard(async () => comparisonOf(from, to, await (await host()).exec(compareScript(from, to), { timeoutMs: COMPARE_TIMEOUT_MS }))),
    readBootId: (timeoutMs) =>
      guard(async () => (await run(await host(), "boot", "cat /proc/sys/kernel/random/boot_id", { timeoutMs })).stdout.trim()),
    reboot: async () => {
      try {
        const r = await (await host()).exec("systemctl reboot", { timeoutMs: 30_000 });
        if (r.code !== 0 && r.code !== null) {
          throw new RolloutError(session.name, "reboot", "systemctl reboot refused", "check the host's console.", {
            command: "systemctl reboot",
            exitCode: r.code,
            output: r.stdout + r.stderr,
          });
        }
      } catch (error) {
        // The host may cut the connection before it answers: that is the reboot starting.
        if (!(error instanceof HostConnectionError)) throw error;
      }
      await session.close();
    },
    reachable: (timeoutMs) => session.connector.probe(timeoutMs),
    reconnect: async (timeoutMs) => {
      await session.reconnect(timeoutMs);
    },
    systemd: (): Promise<SystemdState> =>
      guard(async () => {
        const h = await host();
        const r = await h.exec("systemctl is-system-running", { timeoutMs: 30_000 });
        const state = r.stdout.trim() || r.stderr.trim();
        if (state !== "degraded") return { state, failedUnits: "" };
        const failed = await h.exec("systemctl --failed --no-legend --plain", { timeoutMs: 30_000 });
        return { state, failedUnits: failed.stdout.trim() };
      }),
    shell: host,
  };
}

/** The arguments that point nixos-rebuild at the staged configuration, if there is one. */
function configArgs(staged?: string): string[] {
  return staged ? ["-I", `nixos-config=${staged}/configuration.nix`] : [];
}

/**
 * What the build unit runs, as messages name it: NixOS's own build, from the pinned channel when
 * there is one, or of the flake's configuration (the staged folder, else /etc/nixos).
 */
function buildCommand(staged?: string, channel?: ChannelPin, flake?: FlakePin): string {
  if (flake) return `nixos-rebuild build --flake ${flakeRef(staged ?? ETC_NIXOS, flake)}`;
  const nixpkgs = channel ? ["-I", `nixpkgs=<${channelName(channel.url)}, fetched>`] : [];
  const build = ["nixos-rebuild", "build", ...nixpkgs, ...configArgs(staged)].join(" ");
  return channel ? `nix-prefetch-url --unpack ${channelTarball(channel.url)} && ${build}` : build;
}

/**
 * Starts the build as a transient service. A unit of that name left by a rollout that is gone
 * (the host lock is ours) is stopped first. The unit gets the session's PATH and NIX_PATH, which
 * a service does not inherit, and stays loaded after it exits so that its result can be read.
 * It runs in the folder whose ./result is to keep the system: the staging folder, or BUILD_DIR.
 */
function startBuildScript(staged?: string, channel?: ChannelPin, flake?: FlakePin): string {
  const dir = staged ?? BUILD_DIR;
  const args = staged ? ` -I ${shellQuote(`nixos-config=${staged}/configuration.nix`)}` : "";
  const command = flake
    ? `nixos-rebuild build --flake ${shellQuote(flakeRef(staged ?? ETC_NIXOS, flake))}`
    : channel
      ? `sh -c ${shellQuote(channelBuildScript(channel, configArgs(staged)))}`
      : `nixos-rebuild build $no_flake${args}`;
  return [
    "set -e",
    `mkdir -p ${shellQuote(dir)}`,
    `systemctl stop ${BUILD_UNIT} >/dev/null 2>&1 || true`,
    `systemctl reset-failed ${BUILD_UNIT} >/dev/null 2>&1 || true`,
    noFlakeGuard(ETC_NIXOS),
    'nix_path=""',
    'if [ -n "${NIX_PATH:-}" ]; then nix_path="--setenv=NIX_PATH"; fi',
    `systemd-run --quiet --unit=${BUILD_UNIT} --property=RemainAfterExit=yes --working-directory=${shellQuote(dir)} --setenv=PATH $nix_path -- ${command}`,
  ].join("\n");
}

/**
 * Empties `dir` and fills it with a copy of /etc/nixos. Other staging folders stay until this
 * build succeeds (unstageOthers): a failed build leaves the last good one in place.
 */
function stageScript(dir: string): string {
  const d = shellQuote(dir);
  return [
    "set -e",
    "umask 022",
    `mkdir -p ${STAGING_ROOT}`,
    `rm -rf -- ${d}`,
    `mkdir -p ${d}`,
    `if [ -d ${ETC_NIXOS} ]; then cp -a ${ETC_NIXOS}/. ${d}/; fi`,
    `rm -f -- ${d}/result`,
  ].join("\n");
}

/** What `systemctl show` says of the build unit. */
interface UnitState {
  readonly activeState: string;
  readonly subState: string;
  readonly result: string;
  readonly status: string;
}

async function unitState(session: Session): Promise<UnitState> {
  const { stdout } = await run(await session.host(), "build", `systemctl show -p ActiveState -p SubState -p Result -p ExecMainStatus ${BUILD_UNIT}`);
  const kv = new Map(stdout.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
  return { activeState: kv.get("ActiveState") ?? "", subState: kv.get("SubState") ?? "", result: kv.get("Result") ?? "", status: kv.get("ExecMainStatus") ?? "" };
}

/**
 * Waits for the build unit to finish. A failed build throws with the unit's exit status and the tail of its journal; at the deadline
 * the unit is stopped.
 */
async function followBuild(session: Session, deadline: number, timeoutMs: number, command: string): Promise<void> {
  for (;;) {
    // A dropped connection rejects (HostConnectionError); the caller may follow the unit again.
    const state = await unitState(session);
    // RemainAfterExit: a build that exited 0 leaves the unit active/exited.
    if (state.activeState === "active" && state.subState === "exited" && state.result === "success") {
      await run(await session.host(), "build", `systemctl stop ${BUILD_UNIT}`);
      return;
    }
    if (!["active", "activating", "deactivating"].includes(state.activeState)) {
      const log = await run(await session.host(), "build", `journalctl -u ${BUILD_UNIT} -o cat --no-pager | tail -n 60`).catch(() => undefined);
      await run(await session.host(), "build", `systemctl reset-failed ${BUILD_UNIT} >/dev/null 2>&1 || true`).catch(() => undefined);
      throw new RolloutError(session.name, "build", `\`${command}\` failed`, undefined, {
        command: `systemd-run --unit=${BUILD_UNIT} … ${command}`,
        exitCode: state.status === "" ? null : Number(state.status),
        output: log?.stdout ?? `(the journal of ${BUILD_UNIT} could not be read; it is ${state.activeState}, result ${state.result})`,
      });
    }
    if (Date.now() >= deadline) {
      await run(await session.host(), "build", `systemctl stop ${BUILD_UNIT} >/dev/null 2>&1 || true`).catch(() => undefined);
      throw new RolloutError(
        session.name,
        "build",
        `gave up after ${Math.round(timeoutMs / 1000)}s waiting for \`${command}\` (${BUILD_UNIT} was ${state.activeState}); the build was stopped`,
        `raise timeouts.rebuildSeconds if the build needs longer (journalctl -u ${BUILD_UNIT} shows how far it got).`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(BUILD_POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}
