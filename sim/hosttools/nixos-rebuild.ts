/**
 * nixos-rebuild of a simulated NixOS host (started by <system>/sw/bin/nixos-rebuild).
 */
import { argv0, processIo, runProgram } from "./cli";
import { controlFromEnv } from "./control";
import { readFaults } from "./faults";
import { toolsDir } from "./paths";
import { runRebuild } from "./rebuild";
import { parseRebuildArgs, REBUILD_SYNOPSIS } from "./rebuild-args";

runProgram("nixos-rebuild", async (argv) => {
  const parsed = parseRebuildArgs(argv, argv0("nixos-rebuild"));
  if (parsed.kind === "usage") {
    processIo.out(REBUILD_SYNOPSIS);
    return 1;
  }
  if (parsed.kind === "error") {
    if (parsed.message !== "") processIo.err(`${parsed.message}\n`);
    return 1;
  }
  return runRebuild(parsed.args, {
    io: processIo,
    env: process.env,
    cwd: process.cwd(),
    control: controlFromEnv(),
    faults: readFaults(),
    toolsDir: toolsDir(),
  });
});
