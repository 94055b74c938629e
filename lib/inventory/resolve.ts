/**
 * Resolving one host against the fleet-wide values: the data of its fleet/host.nix, its
 * timeouts and its module list. Pure; no secrets are needed here.
 */
import * as path from "node:path";
import { type ChannelPin, channelUrl } from "../nixos/channel";
import type { FlakePin } from "../nixos/flake";
import type { DrainPolicy, Timeouts } from "../rollout/spec";
import type { HostNixData, InterfaceAddress } from "../render/hostData";
import { K3S_TOKEN_PATH } from "./defaults";
import { ipFamily, parseStaticAddress } from "./formats";
import { rolloutOrder } from "./order";
import { mergeSettings } from "./settings";
import type { Inventory, InventoryHost } from "./types";
import type { WaveHost } from "./waves";

/** The SSH user of a host (its override, else the fleet's). */
export function sshUser(inv: Inventory, host: InventoryHost): string {
  return host.ssh.user ?? inv.ssh.user;
}

/** The SSH port of a host (its override or the overlay's, else the fleet's). */
export function sshPort(inv: Inventory, host: InventoryHost): number {
  return host.ssh.port ?? inv.ssh.port;
}

/** The Kubernetes Node name of a host. */
export function nodeNameOf(host: InventoryHost): string {
  return host.nodeName ?? host.name;
}

/** Fleet-wide timeouts with the host's overrides. */
export function timeoutsOf(inv: Inventory, host: InventoryHost): Timeouts {
  const out: { -readonly [K in keyof Timeouts]: number } = { ...inv.timeouts };
  for (const key of Object.keys(out) as (keyof Timeouts)[]) {
    const v = host.timeouts[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** The fleet-wide drain policy with the host's overrides. */
export function drainPolicyOf(inv: Inventory, host: InventoryHost): DrainPolicy {
  return {
    force: host.drain.force ?? inv.drain.force,
    deleteEmptyDirData: host.drain.deleteEmptyDirData ?? inv.drain.deleteEmptyDirData,
  };
}

/** A host as the wave planner sees it: its role and its failure domain (`<label>=<value>`) if the fleet names one. */
export function waveHostOf(inv: Inventory, host: InventoryHost): WaveHost {
  const key = inv.rollout.failureDomainLabel;
  const value = key === undefined ? undefined : host.labels[key];
  return { name: host.name, role: host.role, ...(key !== undefined && value !== undefined ? { domain: `${key}=${value}` } : {}) };
}

/** The channel the host is built from (its own, else the fleet's), with its upgrade token; undefined when none is pinned. */
export function channelOf(inv: Inventory, host: InventoryHost): ChannelPin | undefined {
  const ref = host.nix.channel ?? inv.nix.channel;
  if (ref === undefined) return undefined;
  return { url: channelUrl(ref), upgradeToken: host.nix.upgradeToken ?? inv.nix.upgradeToken ?? "" };
}

/** The flake configuration the host is built from (nixosConfigurations.<its name> unless it names another); undefined without nix.flake. */
export function flakeOf(inv: Inventory, host: InventoryHost): FlakePin | undefined {
  if (inv.nix.flake === undefined) return undefined;
  return { configuration: host.nix.flake?.configuration ?? host.name };
}

/** The host's user modules (fleet-wide first), project-relative and normalized, without repeats. */
export function modulePathsOf(inv: Inventory, host: InventoryHost): string[] {
  return [...new Set([...inv.nix.imports, ...host.nix.imports].map((p) => path.posix.normalize(p)))];
}

/**
 * The k3s server that starts the cluster and so gets no serverAddr: the control-plane host
 * k3s.serverAddr points at, else the first control-plane host in rollout order.
 */
export function initialServer(inv: Inventory): string | undefined {
  const servers = rolloutOrder(inv.hosts).filter((h) => h.role === "control-plane");
  if (inv.k3s.serverAddr !== undefined) {
    const target = new URL(inv.k3s.serverAddr).hostname.replace(/^\[|\]$/g, "").toLowerCase();
    const named = servers.find((h) => {
      const staticIp = h.network.address === undefined ? undefined : parseStaticAddress(h.network.address)?.ip;
      return [h.address, staticIp, h.name].some((a) => a !== undefined && a.toLowerCase() === target);
    });
    if (named !== undefined) return named.name;
  }
  return servers[0]?.name;
}

function networkOf(inv: Inventory, host: InventoryHost): HostNixData["network"] {
  const net = host.network;
  const nameservers = [...(net.nameservers ?? inv.network.nameservers)];
  const parsed = net.address === undefined ? undefined : parseStaticAddress(net.address);
  if (parsed === undefined) {
    return { interface: null, useDHCP: true, ipv4Addresses: [], ipv6Addresses: [], gateway: null, gateway6: null, nameservers };
  }
  // checkInventory guarantees the interface and prefix exist with a static address.
  const addr: InterfaceAddress = { address: parsed.ip, prefixLength: parsed.prefixLength ?? net.prefixLength ?? inv.network.prefixLength ?? 0 };
  const gateway = net.gateway ?? inv.network.gateway;
  return {
    interface: net.interface ?? inv.network.interface ?? null,
    useDHCP: false,
    ipv4Addresses: parsed.family === 4 ? [addr] : [],
    ipv6Addresses: parsed.family === 6 ? [addr] : [],
    gateway: gateway !== undefined && ipFamily(gateway) === 4 ? gateway : null,
    gateway6: gateway !== undefined && ipFamily(gateway) === 6 ? gateway : null,
    nameservers,
  };
}

/**
 * The data of a host's fleet/host.nix. `authorizedKeys` is the final list (the plan adds the
 * login key's public half to the inventory's).
 */
export function hostNixData(inv: Inventory, host: InventoryHost, authorizedKeys: readonly string[]): HostNixData {
  const initial = initialServer(inv) === host.name;
  return {
    hostName: host.name,
    role: host.role,
    nodeName: nodeNameOf(host),
    stateVersion: host.nix.stateVersion ?? inv.nix.stateVersion,
    ssh: { user: sshUser(inv, host), authorizedKeys },
    network: networkOf(inv, host),
    k3s: {
      enable: inv.k3s.enable,
      role: host.role === "control-plane" ? "server" : "agent",
      serverAddr: initial ? "" : (inv.k3s.serverAddr ?? ""),
      tokenFile: inv.k3s.enable ? K3S_TOKEN_PATH : null,
      clusterInit: initial && inv.k3s.clusterInit,
      extraFlags: [...inv.k3s.extraFlags, ...host.k3s.extraFlags],
    },
    settings: mergeSettings(inv.nix.settings, host.nix.settings),
  };
}
