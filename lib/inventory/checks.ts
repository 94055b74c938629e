/**
 * Checks across fields and hosts, run on the parsed inventory: required connection data, uniqueness, static networking, k3s prerequisites.
 */
import type { IssueList } from "./errors";
import { canonicalAddress, inSubnet, ipFamily, maxPrefix, parseStaticAddress, reservedInSubnet, subnetOf } from "./formats";
import type { ParsedHost, ParsedInventory } from "./schema";

/** Runs every cross-field check, adding problems to `issues`. */
export function checkInventory(inv: ParsedInventory, issues: IssueList): void {
  checkConnections(inv, issues);
  checkUnique(inv, issues);
  inv.hosts.forEach((h, i) => checkNetwork(inv, h, i, issues));
  checkK3s(inv, issues);
  checkRebuild(inv, issues);
  checkFailureDomains(inv, issues);
}

/**
 * With rollout.failureDomainLabel set, every host must say which domain it is in: a host
 * without it could be disrupted together with any domain, which is what the label forbids.
 */
function checkFailureDomains(inv: ParsedInventory, issues: IssueList): void {
  const key = inv.rollout.failureDomainLabel;
  if (key === undefined) return;
  inv.hosts.forEach((h, i) => {
    const value = h.labels[key];
    if (value === undefined) {
      issues.add(
        ["hosts", i, "labels"],
        `${h.name} has no label ${key}, which rollout.failureDomainLabel names: give it its failure domain (labels: { ${JSON.stringify(key)}: <domain> }), or remove rollout.failureDomainLabel`,
      );
    } else if (value === "") {
      issues.add(["hosts", i, "labels", key], `${h.name}'s ${key} is empty; rollout.failureDomainLabel needs the name of the host's failure domain there`);
    }
  });
}

/** `test` activates without a boot default; a reboot after it would undo the change at once. */
function checkRebuild(inv: ParsedInventory, issues: IssueList): void {
  if (inv.rebuild.action === "test" && inv.rebuild.rebootPolicy === "always") {
    issues.add(
      ["rebuild", "rebootPolicy"],
      '"always" reboots after `nixos-rebuild test`, which undoes the test activation; use action switch or boot, or rebootPolicy never',
    );
  }
}

function checkConnections(inv: ParsedInventory, issues: IssueList): void {
  inv.hosts.forEach((h, i) => {
    if (h.address === undefined) {
      issues.add(["hosts", i, "address"], "required but missing; set the host's IP address or DNS name");
    }
    const tofu = h.ssh.trustOnFirstUse ?? inv.ssh.trustOnFirstUse;
    if (h.hostKey === undefined && !tofu) {
      issues.add(
        ["hosts", i, "hostKey"],
        "required but missing; pin the host's SSH key (the line in /etc/ssh/ssh_host_ed25519_key.pub on the host, or `ssh-keyscan -t ed25519 <address>`), or set ssh.trustOnFirstUse: true",
      );
    }
  });
}

/** Reports later duplicates of a per-host value, naming the first host that has it. */
function unique(inv: ParsedInventory, issues: IssueList, field: string, valueOf: (h: ParsedHost) => string | undefined, what: (v: string) => string): void {
  const first = new Map<string, number>();
  inv.hosts.forEach((h, i) => {
    const v = valueOf(h);
    if (v === undefined) return;
    const j = first.get(v);
    if (j === undefined) first.set(v, i);
    else issues.add(["hosts", i, ...field.split(".")], `${what(v)} is already used by hosts[${j}] (${inv.hosts[j].name}); each host needs its own`);
  });
}

function checkUnique(inv: ParsedInventory, issues: IssueList): void {
  unique(inv, issues, "name", (h) => h.name, (v) => `the name "${v}"`);
  unique(inv, issues, "nodeName", (h) => (h.nodeName !== undefined ? h.nodeName : undefined), (v) => `the Node name "${v}"`);
  // Two entries may share an address behind port forwarding, not address and port.
  unique(
    inv,
    issues,
    "address",
    // One spelling per address: "fd00::1" and "FD00:0::1" are the same host.
    (h) => (h.address === undefined ? undefined : `${canonicalAddress(h.address)} port ${h.ssh.port ?? inv.ssh.port}`),
    (v) => `the address ${v}`,
  );
  unique(inv, issues, "network.address", (h) => {
    const ip = h.network.address === undefined ? undefined : parseStaticAddress(h.network.address)?.ip;
    return ip === undefined ? undefined : canonicalAddress(ip);
  }, (v) => `the static address ${v}`);
  // A host whose nodeName is unset uses its name; that must not collide with another's nodeName.
  const names = new Map(inv.hosts.map((h, i) => [h.name, i]));
  inv.hosts.forEach((h, i) => {
    const j = h.nodeName === undefined ? undefined : names.get(h.nodeName);
    if (j !== undefined && j !== i && inv.hosts[j].nodeName === undefined) {
      issues.add(["hosts", i, "nodeName"], `"${h.nodeName}" is the Node name of hosts[${j}] (its name); each host needs its own`);
    }
  });
  const gates = new Map<string, number>();
  inv.health.commands.forEach((g, i) => {
    const j = gates.get(g.name);
    if (j !== undefined) issues.add(["health", "commands", i, "name"], `"${g.name}" is already the name of health.commands[${j}]; gate names appear in progress messages and must differ`);
    else gates.set(g.name, i);
  });
}

function checkNetwork(inv: ParsedInventory, h: ParsedHost, i: number, issues: IssueList): void {
  const at = (k: string) => ["hosts", i, "network", k];
  const net = h.network;
  if (net.address === undefined) {
    if (net.prefixLength !== undefined) issues.add(at("prefixLength"), "set without network.address; give the static address too, or remove it (the host uses DHCP)");
    if (net.gateway !== undefined) issues.add(at("gateway"), "set without network.address, so it would be ignored (the host uses DHCP, which supplies the gateway); give the static address too, or remove it");
    return;
  }
  const parsed = parseStaticAddress(net.address);
  if (parsed === undefined) return; // the schema reported it
  if ((net.interface ?? inv.network.interface) === undefined) {
    issues.add(at("interface"), "required with a static network.address; name the interface (e.g. enp3s0) here or in network.interface for the whole fleet");
  }
  const prefix = parsed.prefixLength ?? net.prefixLength ?? inv.network.prefixLength;
  if (parsed.prefixLength !== undefined && net.prefixLength !== undefined && parsed.prefixLength !== net.prefixLength) {
    issues.add(at("prefixLength"), `${net.prefixLength} contradicts the /${parsed.prefixLength} in network.address; keep one`);
  } else if (prefix === undefined) {
    issues.add(at("prefixLength"), `required with a static network.address; write ${parsed.ip}/24 (for example), or set network.prefixLength`);
  } else if (prefix > maxPrefix(parsed.family)) {
    issues.add(at("prefixLength"), `${prefix} is longer than an IPv${parsed.family} prefix can be (${maxPrefix(parsed.family)})`);
  } else {
    checkSubnet(inv, h, i, parsed.ip, parsed.family, prefix, issues);
  }
}

/**
 * A static address must be a host address of its subnet, and the default gateway must be
 * reachable from it: a gateway outside the subnet (or of the other IP family) gives the host
 * no default route after the switch, which cuts the rollout's SSH connection off.
 */
function checkSubnet(inv: ParsedInventory, h: ParsedHost, i: number, ip: string, family: 4 | 6, prefix: number, issues: IssueList): void {
  const reserved = reservedInSubnet(ip, prefix);
  if (reserved !== undefined) {
    issues.add(["hosts", i, "network", "address"], `${ip} is the ${reserved} address of ${subnetOf(ip, prefix)}, which no host can have; pick an address inside the subnet, or fix the prefix`);
  }
  const gateway = h.network.gateway ?? inv.network.gateway;
  if (gateway === undefined) return;
  const where = h.network.gateway !== undefined ? ["hosts", i, "network", "gateway"] : ["network", "gateway"];
  const whose = `${h.name}'s static address ${ip}/${prefix}`;
  const gwFamily = ipFamily(gateway);
  if (gwFamily !== family) {
    issues.add(where, `${gateway} is an IPv${gwFamily} gateway for ${whose}; the host would have no default route. Give an IPv${family} gateway (per host under hosts[${i}].network.gateway if the fleet's differs)`);
  } else if (canonicalAddress(gateway) === canonicalAddress(ip)) {
    issues.add(where, `${gateway} is ${h.name}'s own address; the gateway is the router the host sends other traffic to`);
  } else if (!inSubnet(gateway, ip, prefix) && !(family === 6 && inSubnet(gateway, "fe80::", 10))) {
    issues.add(
      where,
      `${gateway} is outside ${subnetOf(ip, prefix)}, the subnet of ${whose}: the host could not reach it, would lose its default route and with it the rollout's SSH connection; give a gateway inside the subnet, or fix the prefix`,
    );
  }
}

function checkK3s(inv: ParsedInventory, issues: IssueList): void {
  const k3s = inv.k3s;
  if (!k3s.enable) return;
  if (k3s.tokenSecret === undefined) {
    issues.add(
      ["k3s", "tokenSecret"],
      "required when k3s.enable is true: name the secret holding the cluster token; store it with `pulumi config set --secret --path 'fleet:secrets.k3sToken' <token>` and set k3s.tokenSecret: k3sToken",
    );
  }
  const servers = inv.hosts.filter((h) => h.role === "control-plane");
  if (servers.length === 0 && k3s.serverAddr === undefined) {
    issues.add(["hosts"], "k3s needs a server: give at least one host role: control-plane, or set k3s.serverAddr to a server outside the inventory");
    return;
  }
  const joining = inv.hosts.filter((h) => h.role === "worker").concat(servers.slice(1));
  if (joining.length > 0 && k3s.serverAddr === undefined) {
    const names = joining.map((h) => h.name).join(", ");
    const a = servers[0]?.address;
    const example = a === undefined ? "https://<server address>:6443" : a.includes(":") ? `https://[${a}]:6443` : `https://${a}:6443`;
    issues.add(["k3s", "serverAddr"], `required: ${names} join the cluster through a server, e.g. ${example}`);
  }
}
