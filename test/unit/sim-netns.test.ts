import * as assert from "node:assert/strict";
import { chooseSubnet, hostAddresses, hostNetNames, overlaps, parseCidr, usedNetworks, type IpAddrEntry, type IpRouteEntry } from "../../sim/netns";

describe("simulated fleet: subnet choice (sim/netns.ts)", function () {
  const overlapCases: Array<[string, string, boolean]> = [
    ["10.213.0.0/24", "10.213.0.77/32", true],
    ["10.213.0.0/24", "10.0.0.0/8", true],
    ["10.213.0.0/24", "10.213.1.0/24", false],
    ["10.213.0.0/24", "10.212.255.255", false],
    ["192.168.213.0/24", "192.168.0.0/16", true],
    ["172.30.213.0/24", "172.16.0.0/12", true],
  ];
  for (const [a, b, expected] of overlapCases) {
    it(`${a} ${expected ? "overlaps" : "does not overlap"} ${b}`, function () {
      assert.equal(overlaps(parseCidr(a), parseCidr(b)), expected);
      assert.equal(overlaps(parseCidr(b), parseCidr(a)), expected);
    });
  }

  const addrs: IpAddrEntry[] = [
    { ifname: "lo", addr_info: [{ local: "127.0.0.1", prefixlen: 8 }] },
    { ifname: "eth0", addr_info: [{ local: "10.213.0.9", prefixlen: 29 }] },
  ];
  const routes: IpRouteEntry[] = [{ dst: "default" }, { dst: "10.213.1.0/24" }, { dst: "10.213.2.5", table: "local" }];

  it("lists every address's network and every route but the default", function () {
    assert.deepEqual(usedNetworks(addrs, routes), ["127.0.0.1/8", "10.213.0.9/29", "10.213.1.0/24", "10.213.2.5"]);
  });

  it("picks the first candidate nothing overlaps, and none when all are taken", function () {
    const used = usedNetworks(addrs, routes);
    assert.equal(chooseSubnet(used), "10.213.3.0/24");
    assert.equal(chooseSubnet(["0.0.0.0/1", "128.0.0.0/1"]), undefined);
    assert.equal(chooseSubnet([]), "10.213.0.0/24");
  });

  it("gives each host its own /30: root side .1, host side .2", function () {
    assert.deepEqual(hostAddresses("10.213.0.0/24", 0), { rootAddress: "10.213.0.1", hostAddress: "10.213.0.2" });
    assert.deepEqual(hostAddresses("10.213.0.0/24", 2), { rootAddress: "10.213.0.9", hostAddress: "10.213.0.10" });
    assert.deepEqual(hostAddresses("10.213.0.0/24", 63), { rootAddress: "10.213.0.253", hostAddress: "10.213.0.254" });
    assert.throws(() => hostAddresses("10.213.0.0/24", 64), /at most 64 hosts/);
  });

  it("keeps interface names within 15 characters and namespaces under the nfsim- prefix", function () {
    const n = hostNetNames("abcd", 63, "a-very-long-hostname");
    assert.ok(n.vethRoot.length <= 15, n.vethRoot);
    assert.ok(n.netns.startsWith("nfsim-abcd-"));
  });
});
