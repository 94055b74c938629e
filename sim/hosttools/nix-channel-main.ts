/**
 * Entry of <system>/sw/bin/nix-channel and nix-collect-garbage (chosen by the first argument
 * the wrapper passes: "channel" or "collect-garbage").
 */
import { processIo, runProgram } from "./cli";
import { nixChannel, nixCollectGarbage } from "./nix-channel";

runProgram("nix-channel", async ([which, ...argv]) =>
  which === "collect-garbage" ? nixCollectGarbage(argv, processIo) : nixChannel(argv, processIo),
);
