/**
 * Before a fleet starts: its options checked, a crashed predecessor cleaned up, and each host's
 * folder with its SSH keys and root's home.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostPaths, SESSION_PATH } from "./layout";
import { HOSTS_PER_SUBNET } from "./netns";
import { isAlive } from "./proc";
import { cleanUp, readResources, RESOURCES_FILE, settle } from "./resources";
import { generateKey } from "./sshd";
import type { SimTimings } from "./types";

/** A host's role in the Kubernetes cluster. */
export type SimRole = "control-plane" | "worker";

/** How to start a fleet. */
export interface SimFleetOptions {
  /** The state folder (.sim); created when missing. */
  readonly stateDir: string;
  /** A number of hosts (named srv1..srvN) or their names. */
  readonly hosts: number | readonly string[];
  readonly timings?: Partial<SimTimings>;
  /** Roles by host name; by default the first host is the control plane and the others are workers. */
  readonly roles?: Readonly<Record<string, SimRole>>;
  /** Also receives each line written to <stateDir>/fleet.log. */
  readonly log?: (line: string) => void;
}

/** The fleet needs root: network namespaces, bind mounts and sshd. */
export class NeedsRootError extends Error {
  constructor() {
    super(
      "the simulated fleet needs root: it creates network namespaces, veth interfaces and bind mounts and runs sshd. " +
        "Run it as root, e.g. `sudo npm run sim -- up --hosts 3`.",
    );
    this.name = "NeedsRootError";
  }
}

const HOST_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/** Host names from the options, checked. */
export function hostNames(hosts: number | readonly string[]): string[] {
  const names = typeof hosts === "number" ? Array.from({ length: hosts }, (_v, i) => `srv${i + 1}`) : [...hosts];
  if (names.length === 0) throw new Error("a fleet needs at least one host");
  if (names.length > HOSTS_PER_SUBNET) throw new Error(`a fleet has at most ${HOSTS_PER_SUBNET} hosts, ${names.length} were asked for`);
  for (const n of names) if (!HOST_NAME.test(n)) throw new Error(`host name ${JSON.stringify(n)} must be lowercase letters, digits and dashes (at most 20), starting with a letter`);
  if (new Set(names).size !== names.length) throw new Error(`host names must be unique: ${names.join(", ")}`);
  return names;
}

/** The short id of a fleet in its namespace and interface names, derived from its state folder. */
export function fleetIdOf(stateDir: string): string {
  return createHash("sha256").update(path.resolve(stateDir)).digest("hex").slice(0, 4);
}

/**
 * Creates a host's folder: its own host key and the one another machine would present
 * (host-key-changed), root's authorized key, and root's home. Resolves with the host key line.
 */
export async function prepareHostDir(hostDir: string, name: string, clientKey: string): Promise<string> {
  const p = hostPaths(hostDir);
  fs.mkdirSync(p.sshd, { recursive: true });
  const [hostKey] = await Promise.all([
    generateKey(path.join(p.sshd, "ssh_host_ed25519_key"), `root@${name}`),
    generateKey(path.join(p.sshd, "ssh_host_ed25519_key.other"), `root@${name}-impostor`),
  ]);
  fs.writeFileSync(path.join(p.sshd, "authorized_keys"), clientKey + "\n");
  fs.mkdirSync(path.join(hostDir, "fs", "root"), { recursive: true });
  // SetEnv gives every session NixOS's PATH, but Debian's /etc/profile resets it for login
  // shells (NixOS's would not): the host's own root profile puts it back.
  fs.writeFileSync(path.join(hostDir, "fs", "root", ".profile"), `export PATH="${SESSION_PATH}"\n`);
  return hostKey;
}

/** Removes what a crashed fleet of this state folder left; refuses when that fleet still runs. */
export async function recoverCrashed(stateDir: string): Promise<void> {
  const old = readResources(stateDir);
  if (!old) return;
  if (old.owner.pid !== process.pid && isAlive(old.owner)) {
    throw new Error(`a fleet already runs with the state folder ${stateDir} (pid ${old.owner.pid}); stop it first: npm run sim -- down --state-dir ${stateDir}`);
  }
  const problems = await cleanUp(old);
  const left = await settle(old, 5000);
  if (left.length > 0) throw new Error(`a previous fleet in ${stateDir} left resources that could not be removed: ${left.join("; ")} (${problems.join("; ")})`);
  fs.rmSync(path.join(stateDir, RESOURCES_FILE), { force: true });
}

