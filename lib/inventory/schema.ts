/**
 * The inventory schema: one zod schema for both sources (the structured stack config key
 * fleet:inventory and the YAML file fleet:inventoryFile). Defaults come from ./defaults.
 * Checks that relate several fields (unique names, k3s needs) live in ./checks.
 */
import * as path from "node:path";
import { z } from "zod";
import { channelRefProblem } from "../nixos/channel";
import { configurationNameProblem } from "../nixos/flake";
import { PATH_LITERAL_SAFE } from "../render/render";
import { HOST_ROLES, REBOOT_POLICIES, REBUILD_ACTIONS, type Timeouts } from "../rollout/spec";
import * as D from "./defaults";
import {
  HOST_NAME,
  INTERFACE_NAME,
  K8S_LABEL_NAME,
  SECRET_NAME,
  USER_NAME,
  hostAddressProblem,
  ipFamily,
  isK8sSubdomain,
  isSshAddress,
  k3sFlagProblem,
  labelKeyProblem,
  labelValueProblem,
  parseStaticAddress,
  publicKeyProblem,
  serverAddrProblem,
} from "./formats";
import { nixSettingsSchema } from "./settings";
import { bool, checkedText, describeValue, num, strict, text } from "./zodParts";

const q = describeValue;
const nonEmpty = checkedText((s) => (s.trim() === "" ? "must not be empty" : undefined));
const matching = (re: RegExp, what: string) => checkedText((s) => (re.test(s) ? undefined : `${q(s)} is not ${what}`));

const hostName = matching(HOST_NAME, "a host name: 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit");
const sshAddress = checkedText((s) => (isSshAddress(s) ? hostAddressProblem(s) : `${q(s)} is not an IPv4/IPv6 address or host name`));
const plainIp = checkedText((s) => (ipFamily(s) !== undefined ? hostAddressProblem(s) : `${q(s)} is not an IPv4 or IPv6 address`));
const staticAddress = checkedText((s) => {
  const parsed = parseStaticAddress(s);
  return parsed !== undefined ? hostAddressProblem(parsed.ip) : `${q(s)} is not an IP address, with or without a /prefix (10.0.0.5 or 10.0.0.5/24)`;
});
const interfaceName = matching(INTERFACE_NAME, "a network interface name (at most 15 characters, e.g. eth0 or enp3s0)");
const userName = matching(USER_NAME, "a user name");
const secretName = matching(SECRET_NAME, "a secret name (letters, digits, '_' and '-', starting with a letter)");
const namespace = matching(K8S_LABEL_NAME, "a Kubernetes namespace name");
const nodeName = checkedText((s) => (isK8sSubdomain(s) ? undefined : `${q(s)} is not a Kubernetes Node name (lower-case DNS subdomain)`));
const channel = checkedText((s) => {
  const p = channelRefProblem(s);
  return p === undefined ? undefined : `${q(s)} ${p}`;
});
/** Any text; a change of it asks for a fresh fetch of the channel (an upgrade on the same channel). */
const upgradeToken = nonEmpty;
const stateVersion = matching(/^[0-9]{2}\.[0-9]{2}$/, 'a NixOS release like "24.05" (quote it in YAML: 24.10 unquoted reads as 24.1)');

const hostKey = checkedText((s) => {
  const p = publicKeyProblem(s, "host");
  return p === undefined
    ? undefined
    : `${p}; copy the whole line from /etc/ssh/ssh_host_ed25519_key.pub on the host (or the output of \`ssh-keyscan -t ed25519 <address>\` without the address in front), or leave hostKey out and set ssh.trustOnFirstUse: true`;
});
const authorizedKey = checkedText((s) => {
  const p = publicKeyProblem(s, "user");
  return p === undefined ? undefined : `${p}; copy the whole line of the user's public key file (e.g. ~/.ssh/id_ed25519.pub)`;
});

const port = num(z.number().int().min(1).max(65535));
const prefixLength = num(z.number().int().min(0).max(128));
/** A timeout of `key`: positive, at most its limit; the message says why the limit is there. */
function seconds(key: keyof Timeouts) {
  const max = D.TIMEOUT_LIMITS[key];
  const span = max === 86_400 ? "one day" : max === 3_600 ? "one hour" : `${max / 60} minutes`;
  return num(
    z
      .number()
      .positive()
      .max(max, { error: (iss) => `${q(iss.input)} is more than ${max} seconds (${span}), the most ${key} may be; timeouts are in seconds: did you give milliseconds?` }),
  );
}

const flag = checkedText(k3sFlagProblem);

const regex = checkedText((s) => {
  try {
    new RegExp(s);
    return undefined;
  } catch (error) {
    return `${q(s)} is not a valid JavaScript regular expression: ${error instanceof Error ? error.message : String(error)}`;
  }
});

const modulePath = checkedText((s) => {
  const norm = path.posix.normalize(s);
  if (path.isAbsolute(s) || norm === ".." || norm.startsWith("../")) {
    return `${q(s)} must be a path inside the project folder, relative to it (e.g. nix/monitoring.nix)`;
  }
  if (!PATH_LITERAL_SAFE.test(norm)) {
    return `${q(s)} may hold only letters, digits, '.', '_', '-', '+' and '/' (it is imported as a Nix path literal)`;
  }
  return s.endsWith(".nix") ? undefined : `${q(s)} is not a .nix file`;
});

/** A folder of the project, relative to it: where the user's flake is. */
const flakeFolder = checkedText((s) => {
  const norm = path.posix.normalize(s);
  if (path.isAbsolute(s) || norm === ".." || norm.startsWith("../")) {
    return `${q(s)} must be a folder inside the project folder, relative to it (e.g. flake), so that the flake is committed with the inventory`;
  }
  return undefined;
});
const flakeConfiguration = checkedText((s) => {
  const p = configurationNameProblem(s);
  return p === undefined ? undefined : `${q(s)} ${p}`;
});

const labels = z.record(z.string(), text()).superRefine((rec, ctx) => {
  for (const [k, v] of Object.entries(rec)) {
    const kp = labelKeyProblem(k);
    if (kp !== undefined) ctx.addIssue({ code: "custom", path: [k], message: `invalid label key: ${kp}` });
    const vp = labelValueProblem(v);
    if (vp !== undefined) ctx.addIssue({ code: "custom", path: [k], message: vp });
  }
});

/** Taint effects the API server accepts on a Node. */
export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

const taint = strict({
  key: checkedText((s) => {
    const p = labelKeyProblem(s);
    return p === undefined ? undefined : `${q(s)} is not a taint key: ${p}`;
  }),
  value: checkedText((s) => labelValueProblem(s)?.replace("label value", "taint value")).optional(),
  effect: z.enum(TAINT_EFFECTS),
});

// The API server refuses a Node with two taints of the same key and effect.
const taints = z.array(taint).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((t, i) => {
    const id = `${t.key}:${t.effect}`;
    if (seen.has(id)) ctx.addIssue({ code: "custom", path: [i], message: `a second taint ${id}: a Node holds one taint per key and effect` });
    seen.add(id);
  });
});

const labelKey = checkedText((s) => {
  const p = labelKeyProblem(s);
  return p === undefined ? undefined : `${q(s)} is not a label key: ${p}`;
});

const maxUnavailable = num(
  z
    .number()
    .int({ error: (iss) => `${q(iss.input)} is not a whole number; give how many hosts may be disrupted at once (1, 2, ...)` })
    .min(1, { error: (iss) => `${q(iss.input)} is less than 1; at least one host must be allowed to reboot, or nothing could be rolled out` })
    .max(D.MAX_UNAVAILABLE_LIMIT, { error: (iss) => `${q(iss.input)} is more than ${D.MAX_UNAVAILABLE_LIMIT}, the most maxUnavailable may be` }),
);

const timeoutsShape = {
  connectSeconds: seconds("connectSeconds").default(D.TIMEOUT_DEFAULTS.connectSeconds),
  lockSeconds: seconds("lockSeconds").default(D.TIMEOUT_DEFAULTS.lockSeconds),
  rebuildSeconds: seconds("rebuildSeconds").default(D.TIMEOUT_DEFAULTS.rebuildSeconds),
  drainSeconds: seconds("drainSeconds").default(D.TIMEOUT_DEFAULTS.drainSeconds),
  shutdownSeconds: seconds("shutdownSeconds").default(D.TIMEOUT_DEFAULTS.shutdownSeconds),
  bootSeconds: seconds("bootSeconds").default(D.TIMEOUT_DEFAULTS.bootSeconds),
  settleSeconds: seconds("settleSeconds").default(D.TIMEOUT_DEFAULTS.settleSeconds),
  readySeconds: seconds("readySeconds").default(D.TIMEOUT_DEFAULTS.readySeconds),
  healthSeconds: seconds("healthSeconds").default(D.TIMEOUT_DEFAULTS.healthSeconds),
  confirmSeconds: seconds("confirmSeconds").default(D.TIMEOUT_DEFAULTS.confirmSeconds),
};

const hostTimeouts = strict({
  connectSeconds: seconds("connectSeconds").optional(),
  lockSeconds: seconds("lockSeconds").optional(),
  rebuildSeconds: seconds("rebuildSeconds").optional(),
  drainSeconds: seconds("drainSeconds").optional(),
  shutdownSeconds: seconds("shutdownSeconds").optional(),
  bootSeconds: seconds("bootSeconds").optional(),
  settleSeconds: seconds("settleSeconds").optional(),
  readySeconds: seconds("readySeconds").optional(),
  healthSeconds: seconds("healthSeconds").optional(),
  confirmSeconds: seconds("confirmSeconds").optional(),
});

const sshShape = {
  user: userName,
  port,
  /** Accept whatever key the host presents when hostKey is absent. */
  trustOnFirstUse: bool(),
  /** Public keys authorized for the SSH user; the login key's own public half is always added. */
  authorizedKeys: z.array(authorizedKey),
};

/** What a drain may evict (kubectl drain's --force and --delete-emptydir-data). */
const drainShape = { force: bool(), deleteEmptyDirData: bool() };

const commandGate = strict({
  name: nonEmpty,
  command: nonEmpty,
  exitCode: num(z.number().int().min(0).max(255)).default(D.COMMAND_GATE_DEFAULTS.exitCode),
  passWhen: z.array(regex).default([]),
});

/**
 * A command run over SSH on a host of the inventory around the rollout (rollout.before and
 * rollout.after), e.g. `ceph osd set noout`. The host is checked against the inventory in ./checks.
 */
const rolloutHook = strict({
  host: hostName,
  command: nonEmpty,
});

/** A folder on a host, as a hostPath volume names it. */
const hostPath = checkedText((s) => (s.startsWith("/") && !s.split("/").includes("..") ? undefined : `${q(s)} is not an absolute path without '..' (a hostPath volume's path, e.g. /var/lib/app)`));

/**
 * How a machine that is not NixOS yet becomes one: nixos-anywhere installs it from a flake, or
 * from a configuration module and a disko layout (./commandChecks checks which).
 */
const bootstrapSchema = strict({
  nixosAnywhere: strict({
    /** A flake output, e.g. `.#srv4`; its configuration brings its own disko layout. */
    flake: nonEmpty.optional(),
    /** A NixOS configuration module, relative to the project folder. */
    configuration: modulePath.optional(),
    /** The disko layout of the disks, relative to the project folder (with configuration). */
    disko: modulePath.optional(),
  }),
  /** hostPath folders whose data on the old system may be lost (caches); any other with data stops the install. */
  discardHostPaths: z.array(hostPath).default([]),
});

/**
 * One host. Its ssh, network, nix.stateVersion, nix.channel, nix.upgradeToken and timeouts values replace the fleet-wide ones
 * field by field; nix.imports and k3s.extraFlags add to them; nix.settings merge into them.
 */
const hostSchema = strict({
  name: hostName,
  /** May be left out only when the simulated fleet overlay supplies it. */
  address: sshAddress.optional(),
  hostKey: hostKey.optional(),
  role: z.enum(HOST_ROLES).default("worker"),
  nodeName: nodeName.optional(),
  ssh: strict({
    user: sshShape.user.optional(),
    port: sshShape.port.optional(),
    trustOnFirstUse: sshShape.trustOnFirstUse.optional(),
    authorizedKeys: sshShape.authorizedKeys.optional(),
  }).prefault({}),
  network: strict({
    interface: interfaceName.optional(),
    address: staticAddress.optional(),
    prefixLength: prefixLength.optional(),
    gateway: plainIp.optional(),
    nameservers: z.array(plainIp).optional(),
  }).prefault({}),
  nix: strict({
    stateVersion: stateVersion.optional(),
    channel: channel.optional(),
    upgradeToken: upgradeToken.optional(),
    /** The host's entry in the fleet's flake: nixosConfigurations.<configuration>; default: the host's name. */
    flake: strict({ configuration: flakeConfiguration }).optional(),
    imports: z.array(modulePath).default([]),
    settings: nixSettingsSchema(),
  }).prefault({}),
  k3s: strict({ extraFlags: z.array(flag).default([]) }).prefault({}),
  labels: labels.default({}),
  /** Taints of the host's Node, applied with its labels once the host is healthy. */
  taints: taints.default([]),
  timeouts: hostTimeouts.prefault({}),
  drain: strict({ force: drainShape.force.optional(), deleteEmptyDirData: drainShape.deleteEmptyDirData.optional() }).prefault({}),
  /** Install NixOS on a machine that runs another system, before its first rollout. */
  bootstrap: bootstrapSchema.optional(),
});

/** The whole inventory as the user writes it; see examples/prod-inventory.yaml. */
export const inventorySchema = strict({
  ssh: strict({
    user: sshShape.user.default(D.SSH_DEFAULTS.user),
    port: sshShape.port.default(D.SSH_DEFAULTS.port),
    trustOnFirstUse: sshShape.trustOnFirstUse.default(D.SSH_DEFAULTS.trustOnFirstUse),
    authorizedKeys: sshShape.authorizedKeys.default([]),
  }).prefault({}),
  rebuild: strict({
    action: z.enum(REBUILD_ACTIONS).default(D.REBUILD_DEFAULTS.action),
    rebootPolicy: z.enum(REBOOT_POLICIES).default(D.REBUILD_DEFAULTS.rebootPolicy),
  }).prefault({}),
  timeouts: strict(timeoutsShape).prefault({}),
  /** Disruption budget: how many hosts at once, and never two failure domains at once. */
  rollout: strict({
    maxUnavailable: maxUnavailable.default(D.ROLLOUT_DEFAULTS.maxUnavailable),
    /** A key of the hosts' labels whose value names the host's failure domain (e.g. topology.kubernetes.io/zone). */
    failureDomainLabel: labelKey.optional(),
    /** Run before the first host is disrupted, e.g. `ceph osd set noout`. */
    before: z.array(rolloutHook).default([]),
    /** Run after the last host passed its gates, e.g. `ceph osd unset noout`; not after a failed rollout. */
    after: z.array(rolloutHook).default([]),
  }).prefault({}),
  drain: strict({
    force: drainShape.force.default(D.DRAIN_DEFAULTS.force),
    deleteEmptyDirData: drainShape.deleteEmptyDirData.default(D.DRAIN_DEFAULTS.deleteEmptyDirData),
  }).prefault({}),
  kubernetes: strict({
    enabled: bool().default(D.KUBERNETES_DEFAULTS.enabled),
    watchedNamespaces: z.array(namespace).default([...D.KUBERNETES_DEFAULTS.watchedNamespaces]),
    /** Relative to the project folder. */
    kubeconfigFile: nonEmpty.optional(),
  }).prefault({}),
  health: strict({
    nodesReady: bool().default(D.HEALTH_DEFAULTS.nodesReady),
    commands: z.array(commandGate).default([]),
  }).prefault({}),
  network: strict({
    interface: interfaceName.optional(),
    prefixLength: prefixLength.optional(),
    gateway: plainIp.optional(),
    nameservers: z.array(plainIp).default([]),
  }).prefault({}),
  nix: strict({
    stateVersion: stateVersion.default(D.NIX_DEFAULTS.stateVersion),
    /** The NixOS channel every host is built from (a name such as nixos-24.11, or a URL); absent: each host's own. */
    channel: channel.optional(),
    /** Change it to fetch the channel afresh and upgrade on the same channel. */
    upgradeToken: upgradeToken.optional(),
    /** The user's flake (a folder of the project with flake.nix and flake.lock) every host is built from; absent: configuration.nix. */
    flake: strict({ path: flakeFolder }).optional(),
    imports: z.array(modulePath).default([]),
    settings: nixSettingsSchema(),
  }).prefault({}),
  k3s: strict({
    enable: bool().default(D.K3S_DEFAULTS.enable),
    serverAddr: checkedText((s) => serverAddrProblem(s)).optional(),
    tokenSecret: secretName.optional(),
    clusterInit: bool().default(D.K3S_DEFAULTS.clusterInit),
    extraFlags: z.array(flag).default([]),
  }).prefault({}),
  hosts: z.array(hostSchema).min(1),
});

/** The inventory after parsing: every default applied, nothing resolved per host yet. */
export type ParsedInventory = z.output<typeof inventorySchema>;
export type ParsedHost = ParsedInventory["hosts"][number];
