/**
 * reboot (and `systemctl reboot`) on a simulated host: presses the host's power button
 * through the fleet's control socket. Prints nothing on success, like systemd's.
 */
import { processIo, runProgram } from "./cli";
import { controlFromEnv } from "./control";
import type { Io } from "./cli";

/** systemd's words when there is no systemd to talk to. */
export const NO_SYSTEMD = "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n";

const ACCEPTED = new Set(["-f", "--force", "--no-wall", "-n", "--no-sync", "-w", "--wtmp-only", "-d", "--no-wtmp", "--reboot", "-i"]);

/** Asks the fleet to reboot this host; returns the exit status. */
export async function requestReboot(io: Io): Promise<number> {
  const control = controlFromEnv();
  if (!control) {
    io.err(NO_SYSTEMD);
    return 1;
  }
  try {
    await control.reboot();
  } catch (e) {
    io.err(`Failed to reboot system via logind: ${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  runProgram("reboot", async (argv) => {
    const unknown = argv.find((a) => !ACCEPTED.has(a));
    if (unknown !== undefined) {
      processIo.err(unknown.startsWith("-") ? `reboot: unrecognized option '${unknown}'\n` : "reboot: Too many arguments.\n");
      return 1;
    }
    return requestReboot(processIo);
  });
}
