/**
 * nixos-version of a simulated system: the version of the system whose sw/bin it was
 * started from (the running one when started otherwise).
 */
import * as fs from "node:fs";
import { argv0, ownSystem, processIo, runProgram } from "./cli";
import { HOST } from "./paths";
import { readSystemInfo } from "./system-info";

runProgram("nixos-version", async (argv) => {
  const system = ownSystem() ?? fs.realpathSync(HOST.currentSystem);
  const info = readSystemInfo(system);
  const name = argv0("nixos-version");
  switch (argv[0]) {
    case "-h":
    case "--help":
      processIo.out("Usage: nixos-version [--hash | --revision | --configuration-revision | --json]\n");
      return 1;
    case "--hash":
    case "--revision":
      if (!info.revision || !/^[0-9a-f]+$/.test(info.revision)) {
        processIo.err(`${name}: Nixpkgs commit hash is unknown\n`);
        return 1;
      }
      processIo.out(`${info.revision}\n`);
      return 0;
    case "--configuration-revision":
      processIo.err(`${name}: configuration revision is unknown\n`);
      return 1;
    case "--json":
      processIo.out(`${JSON.stringify(info.revision ? { nixosVersion: info.nixosVersion, nixpkgsRevision: info.revision } : { nixosVersion: info.nixosVersion })}\n`);
      return 0;
    default:
      processIo.out(`${info.nixosVersion} (${info.codeName})\n`);
      return 0;
  }
});
