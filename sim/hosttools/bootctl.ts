/**
 * bootctl on a simulated host (systemd-boot's tool): list the boot entries, and set the entry
 * to boot next time only.
 *
 *   bootctl list [--json=short|pretty]   entries, newest first, marked default/selected/oneshot
 *   bootctl set-oneshot ID               boot ID at the next boot only ("" clears, @current = booted)
 *   bootctl status                       the booted, default and one-shot entries
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LOADER_CONF } from "../protocol";
import { processIo, runProgram, type Io } from "./cli";
import { ownHostDir, readEfiVar, writeEfiVar } from "./efivars";
import { listBootEntries, readBootEntry } from "./loader";
import { HOST } from "./paths";

function defaultEntry(bootDir: string): string | undefined {
  try {
    return /^default\s+(\S+)\s*$/m.exec(fs.readFileSync(path.join(bootDir, LOADER_CONF), "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

/** The ids of the host's boot entries, newest first. */
export function bootEntryIds(bootDir: string = HOST.boot): string[] {
  return listBootEntries(bootDir);
}

const withConf = (id: string | undefined) => (id === undefined || id.endsWith(".conf") ? id : `${id}.conf`);

function list(io: Io, json: string | undefined): number {
  const hostDir = ownHostDir();
  const def = withConf(defaultEntry(HOST.boot));
  const selected = withConf(readEfiVar(hostDir, "LoaderEntrySelected"));
  const oneshot = withConf(readEfiVar(hostDir, "LoaderEntryOneShot"));
  const rows = bootEntryIds().flatMap((id) => {
    const e = readBootEntry(HOST.boot, id);
    return e ? [{ id, e }] : [];
  });
  if (json !== undefined) {
    const out = rows.map(({ id, e }) => ({
      type: "type1",
      source: "esp",
      id,
      path: `/boot/loader/entries/${id}`,
      title: "NixOS",
      version: `Generation ${e.generation}`,
      linux: e.kernel,
      initrd: [e.initrd],
      options: [`init=${e.system}/init`, ...e.params].join(" "),
      isReported: true,
      isDefault: id === def,
      isSelected: id === selected,
      isOneShot: id === oneshot,
    }));
    io.out(`${json === "pretty" ? JSON.stringify(out, null, 2) : JSON.stringify(out)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    io.out("No boot loader entries found.\n");
    return 0;
  }
  io.out("Boot Loader Entries:\n");
  for (const { id, e } of rows) {
    const marks = [id === def ? "default" : "", id === selected ? "selected" : "", id === oneshot ? "oneshot" : ""].filter(Boolean);
    io.out(`         type: Boot Loader Specification Type #1 (.conf)\n        title: NixOS${marks.length ? ` (${marks.join(") (")})` : ""}\n           id: ${id}\n      version: Generation ${e.generation}\n        linux: /boot${e.kernel}\n      options: init=${e.system}/init${e.params.length ? ` ${e.params.join(" ")}` : ""}\n\n`);
  }
  return 0;
}

/** Runs one bootctl command line; returns its exit status. */
export async function bootctl(argv: readonly string[], io: Io): Promise<number> {
  const words = argv.filter((a) => !a.startsWith("-"));
  const json = argv.find((a) => a.startsWith("--json="))?.slice("--json=".length);
  const unknown = argv.find((a) => a.startsWith("-") && !a.startsWith("--json=") && a !== "--no-pager" && a !== "--quiet" && a !== "-q");
  if (unknown) {
    io.err(`bootctl: unrecognized option '${unknown}'\n`);
    return 1;
  }
  const [verb = "status", ...args] = words;
  try {
    switch (verb) {
      case "list":
        return list(io, json);
      case "set-oneshot": {
        if (args.length !== 1) {
          io.err(`bootctl: set-oneshot takes one entry id, got ${args.length}.\n`);
          return 1;
        }
        const hostDir = ownHostDir();
        const raw = args[0];
        const id = raw === "@current" ? readEfiVar(hostDir, "LoaderEntrySelected") : raw;
        writeEfiVar(hostDir, "LoaderEntryOneShot", id === "" || id === undefined ? undefined : id);
        return 0;
      }
      case "set-default":
        io.err("bootctl set-default: not supported on a simulated host; the default entry follows the system profile (switch-to-configuration boot).\n");
        return 1;
      case "status": {
        const hostDir = ownHostDir();
        io.out(`System:\n      Firmware: UEFI (simulated)\n\nCurrent Boot Loader:\n      Product: systemd-boot (simulated)\n  Current Entry: ${readEfiVar(hostDir, "LoaderEntrySelected") ?? "n/a"}\n  Default Entry: ${defaultEntry(HOST.boot) ?? "n/a"}\n  OneShot Entry: ${readEfiVar(hostDir, "LoaderEntryOneShot") ?? "n/a"}\n`);
        return 0;
      }
      default:
        io.err(`Unknown command verb '${verb}'.\n`);
        return 1;
    }
  } catch (e) {
    io.err(`${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  runProgram("bootctl", (argv) => bootctl(argv, processIo));
}
