/**
 * From a valid inventory and the secrets to the rollout plan: one fully resolved HostSpec per
 * host, in rollout order, with its rendered files and its secret files.
 */
import * as path from "node:path";
import { renderHostFiles, type StaticModuleName, type UserModule } from "../render/render";
import { readStaticModules } from "../render/static";
import type { HostSpec } from "../rollout/spec";
import { CONFIG_KEYS, K3S_TOKEN_PATH } from "./defaults";
import { IssueList, unreadableFile } from "./errors";
import { flakeFiles } from "./flakeFiles";
import type { TreeEntry } from "./fsTree";
import { publicKeyProblem } from "./formats";
import { publicKeyOf, withKey } from "./loginKey";
import { rolloutOrder } from "./order";
import { channelOf, drainPolicyOf, flakeOf, hostNixData, modulePathsOf, nodeNameOf, sshPort, sshUser, timeoutsOf, waveHostOf } from "./resolve";
import type { Inventory, InventoryHost, InventoryIo } from "./types";
import { disruptionGroup, planWaves } from "./waves";

/** Secret stack config, read by the program and handed over as plain strings. */
export interface PlanSecrets {
  /** fleet:sshPrivateKey; replaced by the simulation's key under the simulated fleet overlay. */
  readonly sshPrivateKey?: string;
  /** fleet:secrets: name → value; the inventory refers to entries by name. */
  readonly values: Readonly<Record<string, string>>;
  /** fleet:kubeconfig, used when the inventory names no kubernetes.kubeconfigFile. */
  readonly kubeconfig?: string;
}

/**
 * File access of the plan; `nixDir` overrides where the static modules are read from, and
 * `readTree` lists a folder (the flake's) as fsTree.ts does.
 */
export interface PlanIo extends InventoryIo {
  readonly nixDir?: string;
  readTree(absoluteDir: string): TreeEntry[];
}

const why = (error: unknown) => (error instanceof Error ? error.message : String(error));

interface Inputs {
  sshPrivateKey: string;
  loginPublicKey: string;
  k3sToken?: string;
  kubeconfig?: string;
  staticModules: Record<StaticModuleName, string>;
  userModules: Map<string, string>;
  /** The fleet's flake: its files relative to its folder. */
  flake?: Readonly<Record<string, string>>;
}

function loginKey(secrets: PlanSecrets, issues: IssueList): { key?: string; pub?: string } {
  const key = secrets.sshPrivateKey;
  if (key === undefined || key.trim() === "") {
    issues.addIssue({
      path: [],
      subject: CONFIG_KEYS.sshPrivateKey,
      message: "not set; the rollout logs in with it. Store it with `pulumi config set --secret fleet:sshPrivateKey < ~/.ssh/id_ed25519`",
    });
    return {};
  }
  try {
    const pub = publicKeyOf(key);
    // Every host authorizes this key, so it must pass the check authorized keys pass.
    const problem = publicKeyProblem(pub, "user");
    if (problem !== undefined) {
      issues.addIssue({ path: [], subject: CONFIG_KEYS.sshPrivateKey, message: `its public key is refused: ${problem}; make a new one with \`ssh-keygen -t ed25519\`` });
      return {};
    }
    return { key, pub };
  } catch (error) {
    issues.addIssue({ path: [], subject: CONFIG_KEYS.sshPrivateKey, message: `is not a usable private key (${why(error)}); give an unencrypted OpenSSH or PEM key` });
    return {};
  }
}

function secretValue(name: string, secrets: PlanSecrets): string | undefined {
  return Object.prototype.hasOwnProperty.call(secrets.values, name) ? secrets.values[name] : undefined;
}

function kubeconfigOf(inv: Inventory, secrets: PlanSecrets, io: PlanIo, issues: IssueList): string | undefined {
  if (!inv.kubernetes.enabled) return undefined;
  const file = inv.kubernetes.kubeconfigFile;
  if (secrets.kubeconfig !== undefined && secrets.kubeconfig.trim() !== "") return secrets.kubeconfig;
  if (file === undefined) {
    issues.add(
      ["kubernetes", "kubeconfigFile"],
      "required while kubernetes.enabled is true (the rollout drains Nodes and checks the cluster through it): name a kubeconfig file " +
        "relative to the project folder, or store one with `pulumi config set --secret fleet:kubeconfig < kubeconfig.yaml`, or set kubernetes.enabled: false",
    );
    return undefined;
  }
  const absolute = path.resolve(inv.projectDir, file);
  try {
    return io.readFile(absolute);
  } catch (error) {
    const fix =
      "check the spelling or put the kubeconfig there (on a k3s server it is /etc/rancher/k3s/k3s.yaml; set its server: to an address this machine reaches), " +
      "or store it as secret config instead (`pulumi config set --secret fleet:kubeconfig < kubeconfig.yaml` and remove kubernetes.kubeconfigFile), or set kubernetes.enabled: false";
    issues.add(["kubernetes", "kubeconfigFile"], unreadableFile(error, file, absolute, inv.projectDir, fix));
    return undefined;
  }
}

function userModules(inv: Inventory, io: PlanIo, issues: IssueList): Map<string, string> {
  const out = new Map<string, string>();
  const origins: { list: readonly string[]; at: (i: number) => (string | number)[] }[] = [
    { list: inv.nix.imports, at: (i) => ["nix", "imports", i] },
    ...inv.hosts.map((h, j) => ({ list: h.nix.imports, at: (i: number) => ["hosts", j, "nix", "imports", i] })),
  ];
  for (const { list, at } of origins) {
    list.forEach((p, i) => {
      const rel = path.posix.normalize(p);
      if (out.has(rel)) return;
      const absolute = path.resolve(inv.projectDir, rel);
      try {
        out.set(rel, io.readFile(absolute));
      } catch (error) {
        const fix = "check the spelling, create the module there, or remove the entry";
        issues.add(at(i), `the module ${unreadableFile(error, rel, absolute, inv.projectDir, fix)}`);
        out.set(rel, "");
      }
    });
  }
  return out;
}

/** The files of the fleet's flake, or undefined (with issues) when they cannot be shipped. */
function flakeOfProject(inv: Inventory, io: PlanIo, issues: IssueList): Readonly<Record<string, string>> | undefined {
  const folder = inv.nix.flake?.path;
  if (folder === undefined) return undefined;
  const at = ["nix", "flake", "path"];
  const shown = path.posix.normalize(folder);
  const absolute = path.resolve(inv.projectDir, shown);
  let entries: TreeEntry[];
  try {
    entries = io.readTree(absolute);
  } catch (error) {
    const code = typeof error === "object" && error !== null && "code" in error ? (error as { code?: unknown }).code : undefined;
    const message =
      code === "ENOTDIR"
        ? `${shown} is a file (${absolute}); nix.flake.path names the folder that holds flake.nix and flake.lock`
        : unreadableFile(error, shown, absolute, inv.projectDir, "check the spelling, or put the flake (flake.nix, flake.lock and the modules it imports) in that folder");
    issues.add(at, `the flake folder ${message}`);
    return undefined;
  }
  const found = flakeFiles(shown, entries, (rel) => io.readFile(path.join(absolute, rel)));
  for (const p of found.problems) issues.add(at, p);
  return found.problems.length === 0 ? found.files : undefined;
}

function gatherInputs(inv: Inventory, secrets: PlanSecrets, io: PlanIo): Inputs {
  const issues = new IssueList();
  const { key, pub } = loginKey(secrets, issues);
  let k3sToken: string | undefined;
  const tokenSecret = inv.k3s.tokenSecret;
  if (inv.k3s.enable && tokenSecret !== undefined) {
    k3sToken = secretValue(tokenSecret, secrets);
    if (k3sToken === undefined || k3sToken === "") {
      issues.add(
        ["k3s", "tokenSecret"],
        `names the secret "${tokenSecret}", which is ${k3sToken === "" ? "empty" : "not set"}; store the cluster token with ` +
          `\`pulumi config set --secret --path 'fleet:secrets.${tokenSecret}' <token>\``,
      );
    }
  }
  const kubeconfig = kubeconfigOf(inv, secrets, io, issues);
  const modules = userModules(inv, io, issues);
  const flake = flakeOfProject(inv, io, issues);
  let staticModules: Record<StaticModuleName, string> | undefined;
  try {
    staticModules = readStaticModules(io.readFile, io.nixDir);
  } catch (error) {
    issues.addIssue({ path: [], subject: "nixos-fleet installation", message: `cannot read the static NixOS modules: ${why(error)}` });
  }
  issues.throwIfAny(inv.source);
  if (key === undefined || pub === undefined || staticModules === undefined) throw new Error("unreachable: missing plan input without an issue");
  return { sshPrivateKey: key, loginPublicKey: pub, k3sToken, kubeconfig, staticModules, userModules: modules, ...(flake !== undefined ? { flake } : {}) };
}

function specOf(inv: Inventory, host: InventoryHost, inputs: Inputs): HostSpec {
  const authorizedKeys = withKey(host.ssh.authorizedKeys ?? inv.ssh.authorizedKeys, inputs.loginPublicKey);
  const modules: UserModule[] = modulePathsOf(inv, host).map((p) => ({ path: p, content: inputs.userModules.get(p) ?? "" }));
  const files = renderHostFiles({
    data: hostNixData(inv, host, authorizedKeys),
    staticModules: inputs.staticModules,
    userModules: modules,
    ...(inputs.flake !== undefined ? { flakeFiles: inputs.flake } : {}),
  });
  const hostKey = host.hostKey === undefined ? "" : host.hostKey.trim().split(/\s+/).slice(0, 2).join(" ");
  const k8s = inv.kubernetes.enabled;
  const channel = channelOf(inv, host);
  const flake = flakeOf(inv, host);
  return {
    name: host.name,
    address: host.address,
    port: sshPort(inv, host),
    user: sshUser(inv, host),
    hostKey,
    trustOnFirstUse: hostKey === "" && (host.ssh.trustOnFirstUse ?? inv.ssh.trustOnFirstUse),
    sshPrivateKey: inputs.sshPrivateKey,
    files,
    ...(channel !== undefined ? { channel } : {}),
    ...(flake !== undefined ? { flake } : {}),
    secretFiles: inputs.k3sToken !== undefined ? { [K3S_TOKEN_PATH]: inputs.k3sToken } : {},
    action: inv.rebuild.action,
    rebootPolicy: inv.rebuild.rebootPolicy,
    ...(k8s && inputs.kubeconfig !== undefined ? { kubernetes: { kubeconfig: inputs.kubeconfig, nodeName: nodeNameOf(host) } } : {}),
    drain: drainPolicyOf(inv, host),
    gates: {
      nodesReady: k8s && inv.health.nodesReady,
      watchedNamespaces: k8s ? [...inv.kubernetes.watchedNamespaces] : [],
      commands: inv.health.commands.map((g) => ({ ...g, passWhen: [...g.passWhen] })),
    },
    timeouts: timeoutsOf(inv, host),
    disruption: { maxUnavailable: inv.rollout.maxUnavailable, group: disruptionGroup(waveHostOf(inv, host)) },
  };
}

/**
 * Every host of the inventory as a HostSpec, in rollout order (control plane first, then
 * workers, inventory order within each). Throws InventoryError listing every missing secret
 * or unreadable file, each with the command or path that fixes it.
 */
export function planHosts(inv: Inventory, secrets: PlanSecrets, io: PlanIo): HostSpec[] {
  const inputs = gatherInputs(inv, secrets, io);
  return rolloutOrder(inv.hosts).map((host) => specOf(inv, host, inputs));
}

/**
 * The waves of the rollout (host names): control-plane hosts one by one first, then the workers
 * at most rollout.maxUnavailable at a time, one failure domain per wave (./waves.ts).
 */
export function planRolloutWaves(inv: Inventory): string[][] {
  return planWaves(rolloutOrder(inv.hosts).map((h) => waveHostOf(inv, h)), inv.rollout.maxUnavailable);
}
