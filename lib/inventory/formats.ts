/**
 * Syntax of the small strings an inventory holds: addresses, host names, Kubernetes names and
 * labels, interface names. Each check returns true/false or a reason; messages are composed
 * by the schema.
 */
import { isIPv4, isIPv6 } from "node:net";
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

/** Why a Kubernetes label key is invalid, or undefined when it is fine. */
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
  if (prefix !== undefined && !kubeletMaySet(prefix, name)) {
    return (
      `the kubelet refuses to start with ${prefix}/ labels in --node-labels (kubernetes.io and k8s.io are reserved); ` +
      `set such labels through the API instead (kubectl label node), or use your own prefix`
    );
  }
  return undefined;
}

/** Why a label value is invalid, or undefined when it is fine. */
export function labelValueProblem(value: string): string | undefined {
  if (value === "" || LABEL_PART.test(value)) return undefined;
  return `${JSON.stringify(value)} is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
}

/** Labels under kubernetes.io / k8s.io the kubelet may set on its own Node. */
const KUBELET_ALLOWED_KEYS = new Set([
  "kubernetes.io/hostname",
  "kubernetes.io/arch",
  "kubernetes.io/os",
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
]);

function kubeletMaySet(prefix: string, name: string): boolean {
  const under = (ns: string) => prefix === ns || prefix.endsWith(`.${ns}`);
  if (!under("kubernetes.io") && !under("k8s.io")) return true;
  if (under("kubelet.kubernetes.io") || under("node.kubernetes.io")) return true;
  return KUBELET_ALLOWED_KEYS.has(`${prefix}/${name}`);
}

/** A k3s server URL: https://<address>[:port]. */
export function serverAddrProblem(s: string): string | undefined {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return `${JSON.stringify(s)} is not a URL; write it like https://10.0.0.11:6443`;
  }
  if (url.protocol !== "https:") return `${JSON.stringify(s)} must start with https:// (k3s serves its API over TLS)`;
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") return `${JSON.stringify(s)} must have no path; write it like https://10.0.0.11:6443`;
  return undefined;
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
