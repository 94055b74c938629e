import * as assert from "node:assert/strict";
import { loadInventory } from "../../lib/inventory/load";
import { HOST_KEYS, REPO, inlineInventory, memoryIo, smallInventory, refusalsOf } from "./helpers/fixtures";

type Json = Record<string, unknown>;
type Inv = Json & { hosts: Json[] };

const issuesOf = refusalsOf;

function three(edit: (inv: Inv) => void = () => {}): Inv {
  const inv = smallInventory([{ name: "srv1", role: "control-plane" }, { name: "srv2" }, { name: "srv3" }]) as Inv;
  edit(inv);
  return inv;
}

describe("inventory: checks across fields", () => {
  it("rejects duplicate names, naming the first host that has it", () => {
    const found = issuesOf(three((i) => (i.hosts[2].name = "srv1")));
    assert.match(found.get("hosts[2].name") ?? "", /the name "srv1" is already used by hosts\[0\] \(srv1\)/);
  });

  it("rejects a duplicate address and port, but not the same address on another port", () => {
    const found = issuesOf(three((i) => (i.hosts[1].address = "10.0.0.1")));
    assert.match(found.get("hosts[1].address") ?? "", /the address 10\.0\.0\.1 port 22 is already used by hosts\[0\] \(srv1\)/);
    const ok = inlineInventory(three((i) => Object.assign(i.hosts[1], { address: "10.0.0.1", ssh: { port: 2222 } })));
    assert.equal(ok.hosts.length, 3);
  });

  it("rejects Node names that collide, also with another host's name", () => {
    assert.match(issuesOf(three((i) => (i.hosts[2].nodeName = "srv2"))).get("hosts[2].nodeName") ?? "", /Node name of hosts\[1\]/);
    const both = issuesOf(three((i) => Object.assign(i.hosts[1], { nodeName: "n" }) && Object.assign(i.hosts[2], { nodeName: "n" })));
    assert.match(both.get("hosts[2].nodeName") ?? "", /the Node name "n" is already used by hosts\[1\]/);
  });

  it("requires an address and a pinned host key unless trust on first use is chosen", () => {
    const found = issuesOf(three((i) => delete i.hosts[1].address && delete i.hosts[2].hostKey));
    assert.match(found.get("hosts[1].address") ?? "", /required but missing; set the host's IP address or DNS name/);
    assert.match(found.get("hosts[2].hostKey") ?? "", /pin the host's SSH key.*or set ssh\.trustOnFirstUse: true/);
    const tofu = inlineInventory(three((i) => (delete i.hosts[2].hostKey, (i.ssh = { trustOnFirstUse: true }))));
    assert.equal(tofu.hosts[2].hostKey, undefined);
  });

  it("checks static networking: interface, prefix, agreement of prefix forms", () => {
    const found = issuesOf(
      three((i) => {
        i.hosts[0].network = { address: "10.0.0.1" };
        i.hosts[1].network = { address: "10.0.0.2/24", prefixLength: 16, interface: "eth0" };
        i.hosts[2].network = { prefixLength: 24 };
      }),
    );
    assert.match(found.get("hosts[0].network.interface") ?? "", /required with a static network\.address/);
    assert.match(found.get("hosts[0].network.prefixLength") ?? "", /write 10\.0\.0\.1\/24/);
    assert.match(found.get("hosts[1].network.prefixLength") ?? "", /16 contradicts the \/24/);
    assert.match(found.get("hosts[2].network.prefixLength") ?? "", /without network\.address/);
    const ok = inlineInventory(three((i) => ((i.network = { interface: "eth0", prefixLength: 24 }), (i.hosts[0].network = { address: "10.0.0.1" }))));
    assert.equal(ok.hosts[0].network.address, "10.0.0.1");
    const v6 = issuesOf(three((i) => (i.hosts[0].network = { address: "fd00::1", prefixLength: 129, interface: "eth0" })));
    assert.match(v6.get("hosts[0].network.prefixLength") ?? "", /above the maximum 128/);
    const v4 = issuesOf(three((i) => (i.hosts[0].network = { address: "10.0.0.1", prefixLength: 40, interface: "eth0" })));
    assert.match(v4.get("hosts[0].network.prefixLength") ?? "", /longer than an IPv4 prefix can be \(32\)/);
  });

  it("rejects duplicate gate names and duplicate static addresses", () => {
    const found = issuesOf(
      three((i) => {
        i.health = { commands: [{ name: "ceph", command: "ceph health" }, { name: "ceph", command: "true" }] };
        i.network = { interface: "eth0", prefixLength: 24 };
        i.hosts[0].network = { address: "10.1.0.1" };
        i.hosts[1].network = { address: "10.1.0.1/24" };
      }),
    );
    assert.match(found.get("health.commands[1].name") ?? "", /already the name of health\.commands\[0\]/);
    assert.match(found.get("hosts[1].network.address") ?? "", /the static address 10\.1\.0\.1 is already used by hosts\[0\]/);
  });

  it("checks what k3s needs: a token secret, a server, the server address for those who join", () => {
    const noToken = issuesOf(three((i) => (i.k3s = { enable: true, serverAddr: "https://10.0.0.1:6443" })));
    assert.match(noToken.get("k3s.tokenSecret") ?? "", /required when k3s\.enable is true.*pulumi config set --secret --path 'fleet:secrets\.k3sToken' <token>/);
    const noAddr = issuesOf(three((i) => (i.k3s = { enable: true, tokenSecret: "k3sToken" })));
    assert.match(noAddr.get("k3s.serverAddr") ?? "", /required: srv2, srv3 join the cluster through a server, e.g\. https:\/\/10\.0\.0\.1:6443/);
    const noServer = issuesOf(three((i) => ((i.hosts[0].role = "worker"), (i.k3s = { enable: true, tokenSecret: "t" }))));
    assert.match(noServer.get("hosts") ?? "", /k3s needs a server/);
    // A single server needs no serverAddr; workers joining an outside server need no server host.
    const solo = { ...smallInventory([{ name: "solo", role: "control-plane" }]), k3s: { enable: true, tokenSecret: "t" } };
    assert.equal(inlineInventory(solo).k3s.enable, true);
    const outside = three((i) => ((i.hosts[0].role = "worker"), (i.k3s = { enable: true, tokenSecret: "t", serverAddr: "https://api.example.com:6443" })));
    assert.equal(inlineInventory(outside).hosts.length, 3);
  });
});
