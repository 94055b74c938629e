/**
 * What a system's configuration asks of OpenSSH, read from its evaluated configuration
 * (<system>/etc/nixos-sim/config.json): whether sshd runs, its ports, PermitRootLogin and
 * MaxSessions, and the
 * keys root may log in with (users.users.root.openssh.authorizedKeys.keys, which NixOS writes
 * to /etc/ssh/authorized_keys.d/root).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { JsonObject } from "./evaluate";
import { at } from "./json-path";
import { SYSTEM_CONFIG_FILE } from "./system-info";

/** The OpenSSH settings of one system. */
export interface OpensshSettings {
  /** services.openssh.enable: false means sshd.service does not run. */
  readonly enable: boolean;
  /** services.openssh.ports (NixOS's default [ 22 ]). */
  readonly ports: readonly number[];
  /** services.openssh.settings.PermitRootLogin (NixOS's default "prohibit-password"). */
  readonly permitRootLogin: string;
  /** Root's authorized keys from the configuration. */
  readonly rootKeys: readonly string[];
  /** services.openssh.settings.MaxSessions: open sessions (channels) per connection; OpenSSH's default is 10. */
  readonly maxSessions?: number;
}

/** Reads the settings from an evaluated configuration, with NixOS's defaults. */
export function opensshSettings(config: JsonObject): OpensshSettings {
  const ports = at(config, "services.openssh.ports");
  const permit = at(config, "services.openssh.settings.PermitRootLogin");
  const keys = at(config, "users.users.root.openssh.authorizedKeys.keys");
  const maxSessions = at(config, "services.openssh.settings.MaxSessions");
  return {
    ...(typeof maxSessions === "number" ? { maxSessions } : {}),
    enable: at(config, "services.openssh.enable") === true,
    ports: Array.isArray(ports) && ports.length > 0 ? ports.filter((p): p is number => typeof p === "number") : [22],
    permitRootLogin: typeof permit === "string" ? permit : "prohibit-password",
    rootKeys: Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string").map((k) => k.trim()) : [],
  };
}

/** The settings of the system at `systemDir` (a store path reachable by the caller). */
export function readOpensshSettings(systemDir: string): OpensshSettings {
  const file = path.join(systemDir, SYSTEM_CONFIG_FILE);
  let config: JsonObject;
  try {
    config = JSON.parse(fs.readFileSync(file, "utf8")) as JsonObject;
  } catch (e) {
    throw new Error(`cannot read the configuration of ${systemDir} from ${file}: ${(e as Error).message}`);
  }
  return opensshSettings(config);
}
