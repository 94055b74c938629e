/**
 * Every built system carries its own programs, like NixOS: `<system>/sw/bin/*` and
 * `<system>/bin/switch-to-configuration` are small shell wrappers that start the compiled
 * host tools with Node, telling them which system they belong to.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WRAPPER_ENV } from "./paths";

/** A program in sw/bin: which compiled tool runs it, with which leading arguments. */
interface ToolSpec {
  readonly name: string;
  readonly script: string;
  readonly leadingArgs?: readonly string[];
}

/** The programs every simulated system puts on the PATH. */
export const SW_BIN_TOOLS: readonly ToolSpec[] = [
  { name: "nixos-rebuild", script: "nixos-rebuild.js" },
  { name: "nixos-version", script: "nixos-version.js" },
  { name: "nix-env", script: "nix-env.js" },
  // `nix store diff-closures` from the systems' recorded closures; the rest goes to Debian's nix.
  { name: "nix", script: "nix-main.js" },
  { name: "nix-channel", script: "nix-channel-main.js", leadingArgs: ["channel"] },
  { name: "nix-collect-garbage", script: "nix-channel-main.js", leadingArgs: ["collect-garbage"] },
  { name: "nix-prefetch-url", script: "nix-prefetch-url-main.js" },
  { name: "systemctl", script: "systemctl.js" },
  { name: "systemd-run", script: "systemd-run.js" },
  { name: "journalctl", script: "journalctl.js" },
  { name: "bootctl", script: "bootctl.js" },
  { name: "reboot", script: "reboot.js" },
  // coreutils' uname, answering for the booted simulated kernel instead of the machine's.
  { name: "uname", script: "uname.js" },
  { name: "poweroff", script: "systemctl.js", leadingArgs: ["poweroff"] },
  { name: "halt", script: "systemctl.js", leadingArgs: ["halt"] },
];

/** What the k3s package adds to the PATH of a system with services.k3s.enable. */
export const K3S_TOOLS: readonly ToolSpec[] = [
  { name: "k3s", script: "k3s.js" },
  { name: "kubectl", script: "k3s.js", leadingArgs: ["kubectl"] },
];

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The text of one wrapper script. */
export function wrapperScript(system: string, toolsDir: string, spec: ToolSpec, node: string = process.execPath): string {
  const lead = (spec.leadingArgs ?? []).map(quote).join(" ");
  return [
    "#!/bin/sh",
    `# ${spec.name} of ${system} (simulated NixOS host tool)`,
    `${WRAPPER_ENV.system}=${quote(system)} ${WRAPPER_ENV.argv0}="$0" exec ${quote(node)} ${quote(path.join(toolsDir, spec.script))}${lead ? ` ${lead}` : ""} "$@"`,
    "",
  ].join("\n");
}

function writeExecutable(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode: 0o555 });
}

/**
 * Fills `<into>/sw/bin/` and `<into>/bin/switch-to-configuration` with wrappers for the
 * system whose store path is `system` (`into` defaults to it; the build writes into a
 * temporary folder that is renamed to `system` afterwards). `k3s`: the system enables k3s,
 * whose package brings `k3s` and `kubectl`.
 */
export function installSystemTools(system: string, toolsDir: string, into: string = system, k3s = false): void {
  for (const spec of [...SW_BIN_TOOLS, ...(k3s ? K3S_TOOLS : [])]) {
    writeExecutable(path.join(into, "sw", "bin", spec.name), wrapperScript(system, toolsDir, spec));
  }
  writeExecutable(
    path.join(into, "bin", "switch-to-configuration"),
    wrapperScript(system, toolsDir, { name: "switch-to-configuration", script: "switch-to-configuration.js" }),
  );
}
