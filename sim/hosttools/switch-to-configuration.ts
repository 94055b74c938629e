/**
 * <system>/bin/switch-to-configuration of a simulated NixOS system.
 */
import { argv0, ownSystem, processIo, runProgram } from "./cli";
import { controlFromEnv } from "./control";
import { isSwitchAction, switchToConfiguration, switchUsage } from "./switch";

runProgram("switch-to-configuration", async (argv) => {
  const system = ownSystem();
  if (!system) throw new Error("run this through <system>/bin/switch-to-configuration: it needs to know which system it belongs to");
  const action = argv[0];
  if (argv.length !== 1 || action === undefined || !isSwitchAction(action)) {
    processIo.err(switchUsage(argv0("switch-to-configuration")));
    return 1;
  }
  return switchToConfiguration(system, action, { io: processIo, control: controlFromEnv() });
});
