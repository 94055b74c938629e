/**
 * Syntax of the small strings an inventory holds: addresses, host names, Kubernetes names and
 * labels, interface names. Each check returns true/false or a reason; messages are composed
 * by the schema.
 */
import { BlockList, isIPv4, isIPv6 } from "node:net";
import { keyTypesFor } from "../host/keyShape";
import { keyBlobProblem, type KeyUse } from "../host/keys";

export { isIPv4, isIPv6 };

/** IP address family. */
export type IpFamily = 4 | 6;

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A DNS name: dot-separated labels; the last one not all digits (so "10.0.0.300" is no name). */
export function isDnsName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split(".");
  return labels.every((l) => DNS_LABEL.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1]);
}

/** What SSH can connect to: an IPv4 or IPv6 address, or a DNS name. */
export function isSshAddress(s: string): boolean {
  return isIPv4(s) || isIPv6(s) || isDnsName(s);
}

/** Addresses no single host owns: "this network" (0.0.0.0 reaches the local machine), broadcast, multicast. */
const NOT_A_HOST: readonly { net: string; prefix: number; family: "ipv4" | "ipv6"; what: string }[] = [
  { net: "0.0.0.0", prefix: 8, family: "ipv4", what: "an unspecified (\"this network\") address; connecting to it reaches the local machine" },
  { net: "255.255.255.255", prefix: 32, family: "ipv4", what: "the broadcast address" },
  { net: "224.0.0.0", prefix: 4, family: "ipv4", what: "a multicast address" },
  { net: "::", prefix: 128, family: "ipv6", what: "the unspecified address; connecting to it reaches the local machine" },
  { net: "ff00::", prefix: 8, family: "ipv6", what: "a multicast address" },
];

/** Why an IP address cannot be one host's own address, or undefined (also for DNS names). */
export function hostAddressProblem(s: string): string | undefined {
  const family = ipFamily(s.split("%")[0]);
  if (family === undefined) return undefined;
  const hit = NOT_A_HOST.find((r) => r.family === `ipv${family}` && inSubnet(s.split("%")[0], r.net, r.prefix));
  return hit === undefined ? undefined : `${JSON.stringify(s)} is ${hit.what}, not a host's address`;
}

/** The one spelling of an IP address (IPv6 compressed, lower case), for comparing; `s` itself when no IP. */
export function canonicalAddress(s: string): string {
  const [ip, zone] = s.split("%");
  if (ipFamily(ip) !== 6) return s.toLowerCase();
  const short = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  return zone === undefined ? short : `${short}%${zone}`;
}

/** True when the IP `ip` lies in `net`/`prefix` (both of one family). */
export function inSubnet(ip: string, net: string, prefix: number): boolean {
  const family = ipFamily(ip);
  if (family === undefined || ipFamily(net) !== family) return false;
  const list = new BlockList();
  list.addSubnet(net, prefix, family === 4 ? "ipv4" : "ipv6");
  return list.check(ip, family === 4 ? "ipv4" : "ipv6");
}

/** IPv4 dotted quad → 32-bit number. */
function v4(ip: string): number {
  return ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

/**
 * For an IPv4 address with a prefix of at most /30: "network" or "broadcast" when it is the
 * first or last address of its subnet, which no host can have; otherwise undefined.
 */
export function reservedInSubnet(ip: string, prefix: number): "network" | "broadcast" | undefined {
  if (ipFamily(ip) !== 4 || prefix > 30) return undefined;
  const size = 2 ** (32 - prefix);
  const offset = v4(ip) % size;
  return offset === 0 ? "network" : offset === size - 1 ? "broadcast" : undefined;
}

/** The subnet of an address as text, e.g. 10.0.0.0/24 for 10.0.0.5/24 (IPv4; IPv6 as given). */
export function subnetOf(ip: string, prefix: number): string {
  if (ipFamily(ip) !== 4) return `${ip}/${prefix}`;
  const size = 2 ** (32 - prefix);
  const base = v4(ip) - (v4(ip) % size);
  return `${[24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256).join(".")}/${prefix}`;
}

/** The family of a plain IP address (no zone, no prefix), or undefined when it is none. */
export function ipFamily(s: string): IpFamily | undefined {
  if (s.includes("%")) return undefined;
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : undefined;
}

/** Longest prefix of a family. */
export function maxPrefix(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** "10.0.0.5/24" → { ip, prefixLength }; "10.0.0.5" → { ip }; undefined when malformed. */
export function parseStaticAddress(s: string): { ip: string; family: IpFamily; prefixLength?: number } | undefined {
  const [ip, prefix, ...rest] = s.split("/");
  const family = ipFamily(ip);
  if (family === undefined || rest.length > 0) return undefined;
  if (prefix === undefined) return { ip, family };
  if (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > maxPrefix(family)) return undefined;
  return { ip, family, prefixLength: Number(prefix) };
}

/** A host name as both NixOS (networking.hostName) and Kubernetes (Node name) accept it. */
export const HOST_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** RFC 1123 label, as Kubernetes namespaces are named. */
export const K8S_LABEL_NAME = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/** RFC 1123 subdomain (lower case), as Kubernetes Node objects are named. */
export function isK8sSubdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split(".").every((l) => K8S_LABEL_NAME.test(l));
}

/** Linux interface names: at most 15 bytes, no slash or blank. */
export const INTERFACE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,14}$/;

/** POSIX user names as NixOS accepts them. */
export const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Names of entries of the fleet:secrets stack config map (usable in `--path 'fleet:secrets.<name>'`). */
export const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

const LABEL_PART = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * Why a Kubernetes label or taint key is invalid, or undefined when it is fine. Keys under
 * kubernetes.io (node-role.kubernetes.io/worker, say) are fine: the program sets them through
 * the API with the kubeconfig's credentials, not through the kubelet, which may not set them.
 */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isK8sSubdomain(prefix)) {
    return `the prefix ${JSON.stringify(prefix)} is not a lower-case DNS subdomain (e.g. example.com)`;
  }
  if (!LABEL_PART.test(name)) {
    return `the name ${JSON.stringify(name)} must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Why a label value is invalid, or undefined when it is fine. */
export function labelValueProblem(value: string): string | undefined {
  if (value === "" || LABEL_PART.test(value)) return undefined;
  return `${JSON.stringify(value)} is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
}

/** A k3s server URL: https://<address>:<port>. */
export function serverAddrProblem(s: string): string | undefined {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return `${JSON.stringify(s)} is not a URL; write it like https://10.0.0.11:6443`;
  }
  if (url.protocol !== "https:") return `${JSON.stringify(s)} must start with https:// (k3s serves its API over TLS)`;
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") return `${JSON.stringify(s)} must have no path; write it like https://10.0.0.11:6443`;
  if (url.username !== "" || url.password !== "") return `${JSON.stringify(s)} must hold no user or password (the cluster token is k3s.tokenSecret)`;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!isSshAddress(host)) return `${JSON.stringify(host)} in ${JSON.stringify(s)} is not an IP address or host name`;
  // new URL drops a port equal to the scheme's default, so look at the text.
  if (!/:[0-9]+\/?$/.test(s)) return `${JSON.stringify(s)} names no port; k3s serves on 6443 (https://${url.host}:6443): without one, agents would try 443`;
  return undefined;
}

/** k3s flags the inventory sets elsewhere (a flag here would contradict or leak it), and where. */
const MANAGED_FLAGS: Readonly<Record<string, string>> = {
  token: "the cluster token would sit in the world-readable Nix store; store it with `pulumi config set --secret --path 'fleet:secrets.k3sToken' <token>` and set k3s.tokenSecret",
  t: "the cluster token would sit in the world-readable Nix store; store it with `pulumi config set --secret --path 'fleet:secrets.k3sToken' <token>` and set k3s.tokenSecret",
  "agent-token": "the token would sit in the world-readable Nix store; leave it out (agents join with k3s.tokenSecret)",
  "token-file": "the rollout sets the token file itself from k3s.tokenSecret; leave it out",
  server: "set k3s.serverAddr instead (the rollout gives each joining host the server)",
  s: "set k3s.serverAddr instead (the rollout gives each joining host the server)",
  "cluster-init": "set k3s.clusterInit: true instead (only the first server may have it)",
  "node-name": "set the host's nodeName instead (the rollout adds --node-name, and drains the Node by that name)",
  "node-label": "set the host's labels instead (the program sets them on the Node through the API once the host is healthy, and removes those it drops)",
};

/** Why a k3s command-line flag would not reach k3s as written, or undefined. */
export function k3sFlagProblem(flag: string): string | undefined {
  const shown = JSON.stringify(flag);
  if (flag === "" || /\s/.test(flag)) return `${shown}: put each flag in its own list item and join a flag to its value with '=' (--node-taint=key=value:NoSchedule)`;
  if (!flag.startsWith("-")) return `${shown} is not a flag: k3s flags start with - or -- (e.g. --disable=traefik)`;
  // The flags end up in the k3s unit's ExecStart, where systemd reads quotes, escapes, $ and %.
  if (/["'\\$%]/.test(flag)) return `${shown}: systemd reads quotes, backslashes, $ and % in the k3s unit's command line, so k3s would get something else; leave them out`;
  const name = flag.replace(/^--?/, "").split("=")[0];
  const managed = MANAGED_FLAGS[name];
  return managed === undefined ? undefined : `${shown}: ${managed}`;
}

/**
 * Why a string is not a whole OpenSSH public key line ("ssh-ed25519 AAAA... comment") for
 * `use`, or undefined: the base64 blob is decoded and checked field by field, so a line cut
 * short when copied is caught here rather than at the host.
 */
export function publicKeyProblem(line: string, use: KeyUse): string | undefined {
  const parts = line.trim().split(/\s+/);
  const shown = JSON.stringify(line.length > 40 ? `${line.slice(0, 37)}...` : line);
  if (parts.length < 2 || parts[0] === "") return `${shown} is not an OpenSSH public key line ("<type> <base64 key> [comment]")`;
  const [type, data] = parts;
  if (parts.length >= 3 && keyTypesFor(use).includes(data)) {
    return `${shown} starts with ${JSON.stringify(type)} before the key type; ssh-keyscan prints "<address> <type> <key>": keep only "<type> <key>"`;
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 === 1) return `the key data after ${type} is not base64`;
  return keyBlobProblem(type, Buffer.from(data, "base64"), use);
}
