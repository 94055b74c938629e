/**
 * The simulated hosts' network: one network namespace per host and a veth pair from the
 * machine's root namespace, each host on its own /30 inside one small private subnet that is
 * checked to be unused on this machine (no address or route overlaps it).
 */
import { run, runOk } from "./proc";

/** Candidate subnets, tried in order; the first one that overlaps nothing on the machine is used. */
export const SUBNET_CANDIDATES: readonly string[] = [
  "10.213.0.0/24",
  "10.213.1.0/24",
  "10.213.2.0/24",
  "10.213.3.0/24",
  "10.231.0.0/24",
  "10.231.1.0/24",
  "172.30.213.0/24",
  "192.168.213.0/24",
];

/** Each host takes a /30: network, root side (.1), host side (.2), broadcast. */
export const HOSTS_PER_SUBNET = 64;
/** Every network namespace of a simulated host is named nfsim-<fleet id>-<host>. */
export const NETNS_PREFIX = "nfsim-";

/** One host's network. */
export interface HostNet {
  readonly netns: string;
  /** Interface name of the root-namespace end. */
  readonly vethRoot: string;
  /** Interface name inside the host's namespace. */
  readonly vethHost: string;
  readonly rootAddress: string;
  readonly hostAddress: string;
}

interface Cidr {
  readonly base: number;
  readonly prefix: number;
}

function ipToInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/n" (or a bare address as /32) into its network. */
export function parseCidr(s: string): Cidr {
  const [ip, p] = s.split("/");
  const prefix = p === undefined ? 32 : Number(p);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`bad prefix length in ${s}`);
  return { base: (ipToInt(ip) & mask(prefix)) >>> 0, prefix };
}

/** True when two networks share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const m = mask(Math.min(a.prefix, b.prefix));
  return ((a.base & m) >>> 0) === ((b.base & m) >>> 0);
}

/** The part of one `ip -4 -j addr` entry this module reads. */
export interface IpAddrEntry {
  readonly ifname?: string;
  readonly addr_info?: ReadonlyArray<{ readonly local?: string; readonly prefixlen?: number }>;
}
/** The part of one `ip -j route` entry this module reads. */
export interface IpRouteEntry {
  readonly dst?: string;
  readonly table?: string;
}

/**
 * Networks already in use on the machine: every address with its prefix and every route
 * destination. Default routes are left out: they cover everything and do not make a subnet taken.
 */
export function usedNetworks(addrs: readonly IpAddrEntry[], routes: readonly IpRouteEntry[]): string[] {
  const used: string[] = [];
  for (const link of addrs) for (const a of link.addr_info ?? []) if (a.local) used.push(`${a.local}/${a.prefixlen ?? 32}`);
  for (const r of routes) if (r.dst && r.dst !== "default" && r.dst !== "0.0.0.0/0") used.push(r.dst);
  return used;
}

/** The first candidate that overlaps none of `used`, or undefined. */
export function chooseSubnet(used: readonly string[], candidates: readonly string[] = SUBNET_CANDIDATES): string | undefined {
  const taken = used.map(parseCidr);
  return candidates.find((c) => {
    const net = parseCidr(c);
    return !taken.some((t) => overlaps(net, t));
  });
}

/** Reads the machine's addresses and routes and picks a free subnet; throws listing what was tried. */
export async function findFreeSubnet(): Promise<string> {
  const addrs = JSON.parse((await runOk("ip", ["-4", "-j", "addr"])).stdout || "[]") as IpAddrEntry[];
  const routes = JSON.parse((await runOk("ip", ["-4", "-j", "route", "show", "table", "all"])).stdout || "[]") as IpRouteEntry[];
  const subnet = chooseSubnet(usedNetworks(addrs, routes));
  if (!subnet) {
    throw new Error(
      `no free private subnet for the simulated fleet: each of ${SUBNET_CANDIDATES.join(", ")} overlaps an address or route of this machine ` +
        `(see \`ip -4 addr\` and \`ip -4 route show table all\`); stop the fleet that uses it (npm run sim -- down) or free one of them.`,
    );
  }
  return subnet;
}

/** The addresses of host number `index` (0-based) inside `subnet`. */
export function hostAddresses(subnet: string, index: number): { rootAddress: string; hostAddress: string } {
  const net = parseCidr(subnet);
  const capacity = 2 ** (32 - net.prefix) / 4;
  if (index < 0 || index >= capacity) throw new Error(`host number ${index + 1} does not fit in ${subnet} (at most ${capacity} hosts)`);
  const base = net.base + index * 4;
  return { rootAddress: intToIp(base + 1), hostAddress: intToIp(base + 2) };
}

/** Interface and namespace names of one host; interface names stay within Linux's 15 characters. */
export function hostNetNames(fleetId: string, index: number, hostName: string): { netns: string; vethRoot: string; vethHost: string } {
  return { netns: `${NETNS_PREFIX}${fleetId}-${hostName}`, vethRoot: `nf${fleetId}h${index}`, vethHost: "eth0" };
}

/**
 * Creates the host's namespace and veth pair with their addresses; the host side stays down
 * until the host boots. `onCreated` is told of each piece as soon as it exists, so a failure
 * halfway can be cleaned up.
 */
export async function createHostNet(
  names: { netns: string; vethRoot: string; vethHost: string },
  addrs: { rootAddress: string; hostAddress: string },
  onCreated: (kind: "netns" | "veth", name: string) => void,
): Promise<HostNet> {
  await runOk("ip", ["netns", "add", names.netns]);
  onCreated("netns", names.netns);
  await runOk("ip", ["link", "add", names.vethRoot, "type", "veth", "peer", "name", names.vethHost, "netns", names.netns]);
  onCreated("veth", names.vethRoot);
  await runOk("ip", ["-batch", "-"], {
    input: [`addr add ${addrs.rootAddress}/30 dev ${names.vethRoot}`, `link set ${names.vethRoot} up`].join("\n") + "\n",
  });
  await runOk("ip", ["-n", names.netns, "-batch", "-"], {
    input: [`link set lo up`, `addr add ${addrs.hostAddress}/30 dev ${names.vethHost}`].join("\n") + "\n",
  });
  // Announce the address when the link comes up (gratuitous ARP), as servers are commonly set
  // up to; otherwise the root side keeps a failed neighbour entry for a second after a reboot.
  await runOk("ip", ["netns", "exec", names.netns, "sysctl", "-q", "-w", `net.ipv4.conf.${names.vethHost}.arp_notify=1`]);
  return { ...names, ...addrs };
}

/** Plugs the host's cable in (up) or pulls it (down). */
export async function setHostLink(net: HostNet, up: boolean): Promise<void> {
  await runOk("ip", ["-n", net.netns, "link", "set", net.vethHost, up ? "up" : "down"]);
}

/** Deletes a namespace (its veth end goes with it) and the root-side veth if it is still there. */
export async function deleteNet(netns: string | undefined, vethRoot: string | undefined): Promise<void> {
  if (netns && (await netnsExists(netns))) await runOk("ip", ["netns", "delete", netns]);
  if (vethRoot && (await linkExists(vethRoot))) {
    const r = await run("ip", ["link", "delete", vethRoot]);
    // The pair may vanish on its own while the namespace is torn down; only a survivor is an error.
    if (r.code !== 0 && (await linkExists(vethRoot))) throw new Error(`could not delete interface ${vethRoot}: ${r.stderr.trim()}`);
  }
}

/** Names of the network namespaces mounted under /run/netns. */
export async function listNetns(): Promise<string[]> {
  const r = await runOk("ip", ["-j", "netns", "list"]);
  const list = JSON.parse(r.stdout.trim() || "[]") as Array<{ name: string }>;
  return list.map((n) => n.name);
}

/** True when a network namespace of that name is mounted under /run/netns. */
export async function netnsExists(name: string): Promise<boolean> {
  return (await listNetns()).includes(name);
}

/** True when an interface of that name exists in the root network namespace. */
export async function linkExists(name: string): Promise<boolean> {
  return (await run("ip", ["link", "show", "dev", name])).code === 0;
}

