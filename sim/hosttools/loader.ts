/**
 * The boot loader of a simulated host, laid out like systemd-boot's (sim/protocol.ts):
 * /boot/loader/loader.conf names the default entry, /boot/loader/entries holds one
 * nixos-generation-<N>.conf per generation of the system profile.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LOADER_CONF, LOADER_ENTRIES } from "../protocol";
import type { Generation } from "./profile";
import { readBootspec } from "./system-info";

/** One boot entry, as written to and read from nixos-generation-<N>.conf. */
export interface LoaderEntry {
  readonly generation: number;
  /** The system store path (from `options init=<system>/init`). */
  readonly system: string;
  readonly kernel: string;
  readonly initrd: string;
  /** Kernel parameters after init=. */
  readonly params: readonly string[];
}

/** The entry the loader boots by default. */
export interface BootDefault extends LoaderEntry {
  readonly entryFile: string;
}

export const DEFAULT_LOADER_TIMEOUT = 5;

function entryFileName(generation: number): string {
  return `nixos-generation-${generation}.conf`;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The text of one entry file. */
export function formatEntry(e: LoaderEntry, label: string, builtMs: number): string {
  return [
    "title NixOS",
    `version Generation ${e.generation} ${label}, built on ${day(builtMs)}`,
    `linux ${e.kernel}`,
    `initrd ${e.initrd}`,
    `options init=${e.system}/init${e.params.length > 0 ? ` ${e.params.join(" ")}` : ""}`,
    "",
  ].join("\n");
}

/** Parses an entry file; undefined when it lacks linux, initrd or init=. */
export function parseEntry(text: string, generation: number): LoaderEntry | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (m) fields.set(m[1], m[2]);
  }
  const options = (fields.get("options") ?? "").split(/\s+/).filter((s) => s !== "");
  const init = options.find((o) => o.startsWith("init="));
  const kernel = fields.get("linux");
  const initrd = fields.get("initrd");
  if (!init || !kernel || !initrd) return undefined;
  return {
    generation,
    system: init.slice("init=".length).replace(/\/init$/, ""),
    kernel,
    initrd,
    params: options.filter((o) => o !== init),
  };
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * Installs the boot loader for `generations` (as switch-to-configuration boot does):
 * one entry per generation, stale entries removed, `defaultGeneration` the default.
 * `storeRoot` maps a host store path to where this process can read it ("" on the host).
 */
export function installLoader(bootDir: string, generations: readonly Generation[], defaultGeneration: number, storeRoot = ""): void {
  const entriesDir = path.join(bootDir, LOADER_ENTRIES);
  fs.mkdirSync(entriesDir, { recursive: true });
  const wanted = new Set<string>();
  for (const g of generations) {
    const spec = readBootspec(storeRoot + g.target);
    const entry: LoaderEntry = {
      generation: g.number,
      system: spec.toplevel,
      kernel: spec.kernel,
      initrd: spec.initrd,
      params: spec.kernelParams,
    };
    const name = entryFileName(g.number);
    wanted.add(name);
    writeAtomically(path.join(entriesDir, name), formatEntry(entry, spec.label, g.createdMs));
  }
  for (const name of fs.readdirSync(entriesDir)) {
    if (/^nixos-generation-\d+\.conf$/.test(name) && !wanted.has(name)) fs.rmSync(path.join(entriesDir, name));
  }
  writeAtomically(
    path.join(bootDir, LOADER_CONF),
    `timeout ${DEFAULT_LOADER_TIMEOUT}\ndefault ${entryFileName(defaultGeneration)}\nconsole-mode keep\n`,
  );
}

/** The default boot entry, or undefined when no loader is installed. */
export function readBootDefault(bootDir: string): BootDefault | undefined {
  let conf: string;
  try {
    conf = fs.readFileSync(path.join(bootDir, LOADER_CONF), "utf8");
  } catch {
    return undefined;
  }
  const m = /^default\s+(nixos-generation-(\d+)\.conf)\s*$/m.exec(conf);
  return m ? readBootEntry(bootDir, m[1]) : undefined;
}

/** The ids of the installed boot entries ("nixos-generation-3.conf"), newest generation first. */
export function listBootEntries(bootDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(bootDir, LOADER_ENTRIES));
  } catch {
    return [];
  }
  const gen = (n: string) => Number(/^nixos-generation-(\d+)\.conf$/.exec(n)?.[1] ?? -1);
  return names.filter((n) => gen(n) >= 0).sort((a, b) => gen(b) - gen(a));
}

/**
 * One boot entry by its id, with or without ".conf" (systemd-boot accepts both); undefined
 * when there is no such entry or it cannot be booted.
 */
export function readBootEntry(bootDir: string, id: string): BootDefault | undefined {
  const m = /^(nixos-generation-(\d+))(\.conf)?$/.exec(id);
  if (!m) return undefined;
  const entryFile = path.join(bootDir, LOADER_ENTRIES, `${m[1]}.conf`);
  let text: string;
  try {
    text = fs.readFileSync(entryFile, "utf8");
  } catch {
    return undefined;
  }
  const entry = parseEntry(text, Number(m[2]));
  return entry ? { ...entry, entryFile } : undefined;
}
