/** Entry of <system>/sw/bin/nix (nix.ts); other commands than the simulated ones run Debian's nix. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { processIo, runProgram } from "./cli";
import { at } from "./json-path";
import { hostClosure, hostStorePath, nix } from "./nix";
import { HOST } from "./paths";
import { SYSTEM_CONFIG_FILE } from "./system-info";

/** Debian's nix-bin; absolute so that this wrapper does not find itself. */
const REAL_NIX = "/usr/bin/nix";
const NIX_CONF = "/etc/nix/nix.conf";

function readIfThere(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** The running system's `nix.extraOptions`: NixOS writes them into its /etc/nix/nix.conf. */
function extraOptions(): string {
  const text = readIfThere(`${HOST.currentSystem}/${SYSTEM_CONFIG_FILE}`);
  const value = text === "" ? undefined : at(JSON.parse(text), "nix.extraOptions");
  return typeof value === "string" ? value : "";
}

runProgram("nix", async (argv) => {
  const result = nix(argv, processIo, {
    configTexts: [readIfThere(NIX_CONF), extraOptions(), process.env.NIX_CONFIG ?? ""],
    storePath: hostStorePath,
    readClosure: hostClosure,
  });
  if (result !== "forward") return result;
  const real = spawnSync(REAL_NIX, argv, { stdio: "inherit" });
  if (real.error) throw new Error(`cannot run ${REAL_NIX}: ${real.error.message}`);
  return real.status ?? 1;
});
