/**
 * Values that passed validation and then broke a host or the cluster: addresses no host can
 * have, one address in two spellings, static networks the host cannot route from, k3s flags
 * systemd or the inventory would contradict, server URLs without a port.
 */
import * as assert from "node:assert/strict";
import { InventoryError, formatPath } from "../../lib/inventory/errors";
import { inlineInventory, smallInventory } from "./helpers/fixtures";

type Json = Record<string, unknown> & { hosts: Record<string, unknown>[] };

function base(edit: (inv: Json) => void): Json {
  const inv = smallInventory([{ name: "srv1", role: "control-plane" }, { name: "srv2" }, { name: "srv3" }]) as Json;
  edit(inv);
  return inv;
}

function issues(inv: unknown): Map<string, string> {
  try {
    inlineInventory(inv);
  } catch (error) {
    if (error instanceof InventoryError) return new Map(error.issues.map((i) => [formatPath(i.path), i.message]));
    throw error;
  }
  assert.fail("the inventory loaded, but it should have been rejected");
}

const staticNet = (address: string, extra: Record<string, unknown> = {}) => ({ interface: "eth0", address, ...extra });

describe("inventory: bad values that used to reach a host", () => {
  const cases: [string, (inv: Json) => void, string, string][] = [
    ["an unspecified SSH address", (i) => (i.hosts[1].address = "0.0.0.0"), "hosts[1].address", '"0.0.0.0" is an unspecified ("this network") address; connecting to it reaches the local machine, not a host\'s address'],
    ["a multicast SSH address", (i) => (i.hosts[2].address = "ff02::1"), "hosts[2].address", '"ff02::1" is a multicast address, not a host\'s address'],
    ["a broadcast static address", (i) => (i.hosts[0].network = staticNet("255.255.255.255/24")), "hosts[0].network.address", '"255.255.255.255" is the broadcast address, not a host\'s address'],
    ["the unspecified IPv6 address as a nameserver", (i) => (i.network = { nameservers: ["::"] }), "network.nameservers[0]", '"::" is the unspecified address; connecting to it reaches the local machine, not a host\'s address'],
    [
      "one IPv6 address in two spellings",
      (i) => Object.assign(i.hosts[0], { address: "fd00::1" }) && Object.assign(i.hosts[2], { address: "FD00:0:0::1" }),
      "hosts[2].address",
      "the address fd00::1 port 22 is already used by hosts[0] (srv1); each host needs its own",
    ],
    [
      "one static IPv6 address in two spellings",
      (i) => (i.hosts[0].network = staticNet("fd00::a/64")) && (i.hosts[1].network = staticNet("fd00:0::A/64")),
      "hosts[1].network.address",
      "the static address fd00::a is already used by hosts[0] (srv1); each host needs its own",
    ],
    [
      "the network address of its subnet",
      (i) => (i.hosts[1].network = staticNet("10.0.0.0/24")),
      "hosts[1].network.address",
      "10.0.0.0 is the network address of 10.0.0.0/24, which no host can have; pick an address inside the subnet, or fix the prefix",
    ],
    [
      "the broadcast address of its subnet",
      (i) => (i.hosts[1].network = staticNet("192.168.7.63/26")),
      "hosts[1].network.address",
      "192.168.7.63 is the broadcast address of 192.168.7.0/26, which no host can have; pick an address inside the subnet, or fix the prefix",
    ],
    [
      "a gateway outside the subnet",
      (i) => (i.hosts[2].network = staticNet("10.0.0.3/24", { gateway: "10.0.1.1" })),
      "hosts[2].network.gateway",
      "10.0.1.1 is outside 10.0.0.0/24, the subnet of srv3's static address 10.0.0.3/24: the host could not reach it, would lose its default route and with it the rollout's SSH connection; give a gateway inside the subnet, or fix the prefix",
    ],
    [
      "a fleet gateway of the other family",
      (i) => (i.network = { gateway: "fd00::1" }) && (i.hosts[1].network = staticNet("10.0.0.2/24")),
      "network.gateway",
      "fd00::1 is an IPv6 gateway for srv2's static address 10.0.0.2/24; the host would have no default route. Give an IPv4 gateway (per host under hosts[1].network.gateway if the fleet's differs)",
    ],
    ["a gateway that is the host itself", (i) => (i.hosts[0].network = staticNet("10.0.0.1/24", { gateway: "10.0.0.1" })), "hosts[0].network.gateway", "10.0.0.1 is srv1's own address; the gateway is the router the host sends other traffic to"],
    [
      "a host gateway with DHCP",
      (i) => (i.hosts[1].network = { gateway: "10.0.0.254" }),
      "hosts[1].network.gateway",
      "set without network.address, so it would be ignored (the host uses DHCP, which supplies the gateway); give the static address too, or remove it",
    ],
    ["a k3s flag without dashes", (i) => (i.k3s = { extraFlags: ["disable=traefik"] }), "k3s.extraFlags[0]", '"disable=traefik" is not a flag: k3s flags start with - or -- (e.g. --disable=traefik)'],
    [
      "a k3s flag systemd would rewrite",
      (i) => (i.hosts[1].k3s = { extraFlags: ["--kubelet-arg=eviction-hard=memory.available<5%"] }),
      "hosts[1].k3s.extraFlags[0]",
      "\"--kubelet-arg=eviction-hard=memory.available<5%\": systemd reads quotes, backslashes, $ and % in the k3s unit's command line, so k3s would get something else; leave them out",
    ],
    [
      "the cluster token as a flag",
      (i) => (i.k3s = { extraFlags: ["--token=K10abc::server:s3cret"] }),
      "k3s.extraFlags[0]",
      "\"--token=K10abc::server:s3cret\": the cluster token would sit in the world-readable Nix store; store it with `pulumi config set --secret --path 'fleet:secrets.k3sToken' <token>` and set k3s.tokenSecret",
    ],
    [
      "a node name as a flag",
      (i) => (i.hosts[2].k3s = { extraFlags: ["--node-name=other"] }),
      "hosts[2].k3s.extraFlags[0]",
      '"--node-name=other": set the host\'s nodeName instead (the rollout adds --node-name, and drains the Node by that name)',
    ],
    ["the server as a short flag", (i) => (i.k3s = { extraFlags: ["-s=https://10.0.0.1:6443"] }), "k3s.extraFlags[0]", '"-s=https://10.0.0.1:6443": set k3s.serverAddr instead (the rollout gives each joining host the server)'],
    [
      "a server URL without its port",
      (i) => (i.k3s = { serverAddr: "https://10.0.0.1" }),
      "k3s.serverAddr",
      '"https://10.0.0.1" names no port; k3s serves on 6443 (https://10.0.0.1:6443): without one, agents would try 443',
    ],
    ["a server URL with a password", (i) => (i.k3s = { serverAddr: "https://admin:pw@10.0.0.1:6443" }), "k3s.serverAddr", '"https://admin:pw@10.0.0.1:6443" must hold no user or password (the cluster token is k3s.tokenSecret)'],
    ["a server URL with a bad host", (i) => (i.k3s = { serverAddr: "https://cp_1.lan:6443" }), "k3s.serverAddr", '"cp_1.lan" in "https://cp_1.lan:6443" is not an IP address or host name'],
  ];
  for (const [what, edit, path, message] of cases) {
    it(`refuses ${what} at ${path}`, () => {
      const found = issues(base(edit));
      assert.equal(found.get(path), message, [...found].map(([p, m]) => `${p}: ${m}`).join("\n"));
    });
  }

  it("still takes what is fine: a link-local IPv6 gateway, an explicit :443, a DHCP host beside a fleet gateway", () => {
    const inv = inlineInventory(
      base((i) => {
        i.network = { gateway: "10.0.0.254", prefixLength: 24, interface: "eth0" };
        i.hosts[0].network = { address: "fd00::1/64", gateway: "fe80::1" };
        i.hosts[1].network = { address: "10.0.0.2" };
        i.k3s = { serverAddr: "https://api.example.com:443", extraFlags: ["--disable=traefik", "--node-taint=dedicated=db:NoSchedule"] };
      }),
    );
    assert.equal(inv.hosts[0].network.gateway, "fe80::1");
    assert.equal(inv.hosts[2].network.address, undefined);
  });
});
