/**
 * The shape of fleet/host.nix: the per-host data the static modules in nix/ read with
 * `import ./host.nix`. This interface is the contract between the TypeScript side and those
 * modules; change both together. Absent values are null, never missing attributes, so the Nix
 * side can test `!= null` without `or`.
 */
import type { HostRole } from "../rollout/spec";
import type { NixAttrs } from "./nixValue";

/** One static address of an interface (networking.interfaces.<name>.ipv4.addresses item). */
export interface InterfaceAddress {
  readonly address: string;
  readonly prefixLength: number;
}

export interface HostNixData {
  /** networking.hostName */
  readonly hostName: string;
  readonly role: HostRole;
  /** Name of the Kubernetes Node (k3s --node-name). */
  readonly nodeName: string;
  /** system.stateVersion */
  readonly stateVersion: string;
  readonly ssh: {
    /** The user the rollout logs in as; its authorized keys are managed. */
    readonly user: string;
    readonly authorizedKeys: readonly string[];
  };
  readonly network: {
    /** Interface of the static address; null with DHCP. */
    readonly interface: string | null;
    /** True when no static address is given. */
    readonly useDHCP: boolean;
    readonly ipv4Addresses: readonly InterfaceAddress[];
    readonly ipv6Addresses: readonly InterfaceAddress[];
    /** networking.defaultGateway / defaultGateway6; null when unset or with DHCP. */
    readonly gateway: string | null;
    readonly gateway6: string | null;
    readonly nameservers: readonly string[];
  };
  readonly k3s: {
    readonly enable: boolean;
    readonly role: "server" | "agent";
    /** Empty for the server that initializes the cluster. */
    readonly serverAddr: string;
    /** Absolute path outside the Nix store, as a string (a path literal would copy the secret into the store). */
    readonly tokenFile: string | null;
    readonly clusterInit: boolean;
    /** Flags besides --node-name, which k3s.nix adds. */
    readonly extraFlags: readonly string[];
  };
  /** Free-form NixOS option values, fleet-wide merged with the host's; imported as a module. */
  readonly settings: NixAttrs;
}
