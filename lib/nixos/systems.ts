/**
 * Reading which systems a NixOS host booted, runs and boots next, as shell over the Host
 * interface. Paths are NixOS's own: /run/booted-system, /run/current-system,
 * /nix/var/nix/profiles/system and its system-<N>-link generations.
 */
import type { Host } from "../host/host";
import { shellQuote } from "../host/quote";
import { RolloutError } from "../rollout/errors";
import type { BootFacts, SystemState } from "./ops";

export const SYSTEM_PROFILE = "/nix/var/nix/profiles/system";

function factsScript(label: string, link: string): string {
  const p = shellQuote(link);
  return [
    `printf '${label}.system=%s\\n' "$(readlink -f ${p})"`,
    ...(["kernel", "initrd", "kernel-modules"] as const).map(
      (f) => `printf '${label}.${f}=%s\\n' "$(readlink -f ${p}/${f} 2>/dev/null)"`,
    ),
    `printf '${label}.kernel-params=%s\\n' "$(cat ${p}/kernel-params 2>/dev/null)"`,
  ].join("\n");
}

function parse(stdout: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  return kv;
}

function factsOf(kv: Map<string, string>, label: string): BootFacts {
  return {
    system: kv.get(`${label}.system`) ?? "",
    kernel: kv.get(`${label}.kernel`) ?? "",
    initrd: kv.get(`${label}.initrd`) ?? "",
    kernelModules: kv.get(`${label}.kernel-modules`) ?? "",
    kernelParams: kv.get(`${label}.kernel-params`) ?? "",
  };
}

async function read(host: Host, script: string, what: string): Promise<Map<string, string>> {
  const r = await host.exec(script);
  if (r.code !== 0) {
    throw new RolloutError(host.name, "read", `reading ${what} failed`, undefined, { command: script.split("\n")[0], exitCode: r.code, output: r.stdout + r.stderr });
  }
  return parse(r.stdout);
}

/** The boot facts of the system at `path` (a store path or a link to one). */
export async function readBootFacts(host: Host, path: string): Promise<BootFacts> {
  return factsOf(await read(host, factsScript("s", path), `the system at ${path}`), "s");
}

/** Reads the booted, current and boot-default systems and the boot id in one round trip. */
export async function readSystemState(host: Host): Promise<SystemState> {
  const script = [
    `printf 'boot_id=%s\\n' "$(cat /proc/sys/kernel/random/boot_id)"`,
    `printf 'generation=%s\\n' "$(readlink ${SYSTEM_PROFILE})"`,
    `for l in ${SYSTEM_PROFILE}-*-link; do [ -L "$l" ] && printf 'link.%s=%s\\n' "$l" "$(readlink -f "$l")"; done`,
    factsScript("booted", "/run/booted-system"),
    factsScript("current", "/run/current-system"),
    factsScript("profile", SYSTEM_PROFILE),
  ].join("\n");
  const kv = await read(host, script, "the host's systems");
  const gen = /system-(\d+)-link/.exec(kv.get("generation") ?? "");
  const current = factsOf(kv, "current");
  let currentGeneration = 0;
  for (const [k, v] of kv) {
    const m = /^link\..*system-(\d+)-link$/.exec(k);
    if (m && v === current.system && current.system !== "") currentGeneration = Math.max(currentGeneration, Number(m[1]));
  }
  return {
    bootId: (kv.get("boot_id") ?? "").trim(),
    booted: factsOf(kv, "booted"),
    current,
    profile: factsOf(kv, "profile"),
    generation: gen ? Number(gen[1]) : 0,
    currentGeneration,
  };
}
