/**
 * NixosOps over SSH: each operation is one or two POSIX shell commands through the rollout's
 * Session (which reconnects after a reboot or a dropped connection).
 *
 * The build runs `nixos-rebuild build` in /var/lib/nixos-fleet/build: it evaluates and builds
 * /etc/nixos/configuration.nix like `switch` would, but changes neither the profile, the boot
 * loader nor the running system. Its ./result link there is what keeps the built system from
 * garbage collection until it is a profile generation: nix-build registers an out-link as an
 * indirect GC root (/nix/var/nix/gcroots/auto/…).
 */
import { HostConnectionError } from "../host/host";
import { shellQuote } from "../host/quote";
import { RolloutError } from "../rollout/errors";
import { ETC_NIXOS, FLEET_STATE_DIR, readFiles, run, writeFilesAtomically } from "../rollout/remote";
import type { Session } from "../rollout/session";
import type { Goal } from "./goal";
import type { BootFacts, LiveFiles, NixosOps, SystemdState, SystemState } from "./ops";
import { readBootFacts, readSystemState, SYSTEM_PROFILE } from "./systems";

/** Where the system is built; its ./result is the GC root of the last built system. */
export const BUILD_DIR = `${FLEET_STATE_DIR}/build`;

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
    build: (timeoutMs): Promise<BootFacts> =>
      guard(async () => {
        const command = `mkdir -p ${BUILD_DIR} && cd ${BUILD_DIR} && nixos-rebuild build 2>&1`;
        await run(await host(), "build", command, { timeoutMs, what: "`nixos-rebuild build` failed" });
        const facts = await readBootFacts(await host(), `${BUILD_DIR}/result`);
        if (!facts.system.startsWith("/nix/store/")) {
          throw new RolloutError(session.name, "build", `nixos-rebuild build left no system at ${BUILD_DIR}/result`, "run `nixos-rebuild build` on the host by hand and look at its output.");
        }
        return facts;
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
