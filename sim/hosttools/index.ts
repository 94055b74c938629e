/**
 * What the fleet uses from the host tools. The programs themselves (nixos-rebuild,
 * systemctl, ...) run on the hosts through each system's sw/bin wrappers.
 */
export { bootstrapHost, type BootstrapOptions, type BootstrapResult } from "./bootstrap";
export { hostStorePath, readBootTarget, writeBootState, type BootState, type BootTarget } from "./boot-state";
export { initialConfiguration, type InitialConfigurationOptions } from "./initial-config";
export { installSystemTools, SW_BIN_TOOLS } from "./install-tools";
export { readBootDefault, type BootDefault, type LoaderEntry } from "./loader";
export { HOST, RUN_SIM_FILES, toolsDir } from "./paths";
export { readSystemInfo, readBootspec, type SystemInfo } from "./system-info";
export { DEGRADED_FAULT_UNIT } from "./system-state";
