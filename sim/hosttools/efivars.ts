/**
 * The boot loader's EFI variables of a simulated host (its NVRAM): kept in <hostDir>/efivars/,
 * outside the host's disks, one file per variable. systemd-boot's:
 *   LoaderEntryOneShot  the entry to boot next time only (bootctl set-oneshot, systemctl reboot
 *                       --boot-loader-entry=); the loader deletes it when it boots
 *   LoaderEntrySelected the entry the loader booted this time
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ENV } from "../layout";

export type EfiVar = "LoaderEntryOneShot" | "LoaderEntrySelected";

/** Where a host's EFI variables live (from outside the host, or on it through ENV.hostDir). */
export function efiVarsDir(hostDir: string): string {
  return path.join(hostDir, "efivars");
}

/** A variable's value, undefined when unset. */
export function readEfiVar(hostDir: string, name: EfiVar): string | undefined {
  try {
    return fs.readFileSync(path.join(efiVarsDir(hostDir), name), "utf8");
  } catch {
    return undefined;
  }
}

/** Sets a variable, or deletes it with undefined. */
export function writeEfiVar(hostDir: string, name: EfiVar, value: string | undefined): void {
  const file = path.join(efiVarsDir(hostDir), name);
  if (value === undefined) {
    fs.rmSync(file, { force: true });
    return;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, value);
  fs.renameSync(`${file}.tmp`, file);
}

/** The host folder of the host this program runs on; throws as bootctl does without EFI. */
export function ownHostDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env[ENV.hostDir];
  if (!dir) throw new Error("Not booted with EFI or UEFI variable support not available, cannot set or read boot loader variables.");
  return dir;
}

/** Sets (or with "" clears) the entry to boot next time only, on this host. */
export function setOneShot(entry: string, env: NodeJS.ProcessEnv = process.env): void {
  writeEfiVar(ownHostDir(env), "LoaderEntryOneShot", entry === "" ? undefined : entry);
}

/** What the loader does at power-on with the one-shot entry: reads and deletes it. */
export function takeOneShot(hostDir: string): string | undefined {
  const value = readEfiVar(hostDir, "LoaderEntryOneShot");
  if (value !== undefined) writeEfiVar(hostDir, "LoaderEntryOneShot", undefined);
  return value;
}
