/**
 * Entry of <system>/sw/bin/nix-prefetch-url: downloads from the simulated channels into the
 * host's store (nix-prefetch-url.ts).
 */
import { loadChannelTable } from "./channel-table";
import { processIo, runProgram } from "./cli";
import { nixPrefetchUrl } from "./nix-prefetch-url";
import { HOST } from "./paths";

runProgram("nix-prefetch-url", async (argv) => nixPrefetchUrl(argv, process.env, loadChannelTable(), HOST.store, processIo));
