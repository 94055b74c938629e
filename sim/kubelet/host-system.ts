/**
 * What a host's system says about its kubelet: whether k3s runs (services.k3s.enable, and the
 * token it needs), as server or agent, with which --node-label flags, and the facts a kubelet
 * reports in status.nodeInfo (kernel, OS image, kubelet version). Read from the system's
 * evaluated configuration (<system>/etc/nixos-sim/config.json) and record (system.json).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { HOST_MOUNTS, hostPaths } from "../layout";
import { hostStorePath } from "../hosttools/boot-state";
import type { JsonObject, JsonValue } from "../hosttools/evaluate";
import { at } from "../hosttools/json-path";
import { k3sVersionOf } from "../hosttools/k3s";
import { flagValues, flagWords, unknownFlag } from "../hosttools/k3s-flags";
import { stoppedUnits, stoppedUnitsDirIn } from "../hosttools/system-units";
import { readSystemInfo, SYSTEM_CONFIG_FILE } from "../hosttools/system-info";

/** Whether k3s runs on a system, and why not when it does not. */
export type K3sState =
  | {
      readonly runs: true;
      readonly role: "server" | "agent";
      readonly labels: Readonly<Record<string, string>>;
      /** The Node's name: --node-name, else the system's host name; undefined when neither is set (the machine's name then). */
      readonly nodeName: string | undefined;
    }
  | { readonly runs: false; readonly why: string };

/** status.nodeInfo facts of a booted system. */
export interface NodeFacts {
  readonly kernelVersion: string;
  readonly osImage: string;
  readonly kubeletVersion: string;
}

/** The k3s settings of an evaluated configuration that decide whether its kubelet can run. */
export interface K3sSettings {
  readonly enable: boolean;
  readonly role: "server" | "agent";
  readonly token: string;
  readonly tokenFile: string | null;
  readonly serverAddr: string;
  readonly extraFlags: readonly string[];
  /** networking.hostName ("" when unset), which k3s names the Node after without --node-name. */
  readonly hostName: string;
}

/** services.k3s of an evaluated configuration, with the NixOS module's defaults. */
export function k3sSettings(config: JsonObject): K3sSettings {
  const str = (v: JsonValue | undefined): string => (typeof v === "string" ? v : "");
  const tokenFile = at(config, "services.k3s.tokenFile");
  return {
    enable: at(config, "services.k3s.enable") === true,
    role: at(config, "services.k3s.role") === "agent" ? "agent" : "server",
    token: str(at(config, "services.k3s.token")),
    tokenFile: typeof tokenFile === "string" && tokenFile !== "" ? tokenFile : null,
    serverAddr: str(at(config, "services.k3s.serverAddr")),
    extraFlags: flagWords(at(config, "services.k3s.extraFlags")),
    hostName: str(at(config, "networking.hostName")),
  };
}

/**
 * Whether k3s starts, as k3s itself decides: it must be enabled; it needs its token file when
 * one is named; an agent needs a server address and a token (a server makes its own).
 * `tokenExists` says whether a path exists on the host.
 */
export function k3sState(s: K3sSettings, tokenExists: (file: string) => boolean): K3sState {
  if (!s.enable) return { runs: false, why: "services.k3s.enable is false" };
  const badFlag = unknownFlag(s.role, s.extraFlags);
  if (badFlag !== undefined) return { runs: false, why: `k3s ${s.role} stops at once: ${badFlag}` };
  if (s.tokenFile !== null && !tokenExists(s.tokenFile)) return { runs: false, why: `the k3s token file ${s.tokenFile} does not exist` };
  if (s.role === "agent" && s.serverAddr === "") return { runs: false, why: "the k3s agent has no services.k3s.serverAddr" };
  if (s.role === "agent" && s.tokenFile === null && s.token === "") return { runs: false, why: "the k3s agent has no token (services.k3s.token or tokenFile)" };
  const labels: Record<string, string> = {};
  for (const label of flagValues(s.extraFlags, "node-label")) {
    const m = /^([^=]+)=(.*)$/.exec(label);
    if (m) labels[m[1]] = m[2];
  }
  const nodeName = flagValues(s.extraFlags, "node-name").pop() ?? (s.hostName === "" ? undefined : s.hostName);
  return { runs: true, role: s.role, labels, nodeName };
}

/** Where a path of the host's own view is found from outside: under the host folder for its private mounts, else the machine's. */
export function pathFromOutside(hostDir: string, hostPath: string): string {
  for (const m of HOST_MOUNTS) {
    if (m.file) continue;
    if (hostPath === m.target || hostPath.startsWith(`${m.target}/`)) return path.join(hostDir, m.source, hostPath.slice(m.target.length));
  }
  return hostPath;
}

/** The unit k3s runs as. */
export const K3S_UNIT = "k3s.service";

/**
 * What `system` (a store path as the host sees it) on the host in `hostDir` says about k3s,
 * and whether k3s.service was stopped by hand since the system was booted or activated.
 */
export function readK3sState(hostDir: string, system: string): K3sState {
  if (stoppedUnits(stoppedUnitsDirIn(hostPaths(hostDir).run)).includes(K3S_UNIT)) return { runs: false, why: `${K3S_UNIT} was stopped with systemctl` };
  const file = path.join(hostStorePath(hostDir, system), SYSTEM_CONFIG_FILE);
  let config: JsonObject;
  try {
    config = JSON.parse(fs.readFileSync(file, "utf8")) as JsonObject;
  } catch (e) {
    return { runs: false, why: `its configuration ${file} cannot be read: ${(e as Error).message}` };
  }
  return k3sState(k3sSettings(config), (f) => fs.existsSync(pathFromOutside(hostDir, f)));
}

/** The nodeInfo facts of `system`: its kernel, its NixOS release, and the k3s it runs. */
export function readNodeFacts(hostDir: string, system: string): NodeFacts {
  const info = readSystemInfo(hostStorePath(hostDir, system));
  const k3s = k3sVersionOf(info.systemPackages);
  return {
    kernelVersion: info.kernelVersion,
    osImage: `NixOS ${info.nixosVersion} (${info.codeName})`,
    kubeletVersion: k3s === undefined ? "" : `v${k3s}`,
  };
}
