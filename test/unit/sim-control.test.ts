import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { controlRequest } from "../../sim/client";
import { ControlServer, type ControlHandlers } from "../../sim/control";
import type { FaultName, FleetJson } from "../../sim/types";

describe("simulated fleet: control server (sim/control.ts)", function () {
  let dir: string;
  let server: ControlServer;
  let socket: string;
  const calls: string[] = [];
  let faults: FaultName[] = [];
  const fleet: FleetJson = { hosts: [{ name: "srv1", address: "10.213.0.2", port: 22, hostKey: "ssh-ed25519 AAAA" }], sshKeyPath: "k", kubeconfig: "c", stateDir: "s", timeline: "t", controlSocket: "x" };
  const handlers: ControlHandlers = {
    fleet: () => fleet,
    timeline: () => [{ t: 1, host: "srv1", kind: "up" }],
    hasHost: (h) => h === "srv1",
    event: (h, b) => void calls.push(`event ${h} ${b.kind} ${JSON.stringify(b.detail ?? null)}`),
    cannotReboot: (h) => (calls.includes("reboot srv1") ? `${h} is rebooting` : undefined),
    reboot: (h) => void calls.push(`reboot ${h}`),
    dropSessions: async (h) => void calls.push(`drop ${h}`),
    servicesChanged: async (h, system) => void calls.push(`services ${h} ${system}`),
    faults: () => faults,
    setFault: async (_h, f, on) => (faults = on ? [...faults, f] : faults.filter((x) => x !== f)),
    down: () => void calls.push("down"),
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-ctl-"));
    socket = path.join(dir, "control.sock");
    server = await ControlServer.listen(socket, handlers);
  });
  after(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("serves the fleet, the timeline and faults", async function () {
    assert.deepEqual(await controlRequest(socket, "GET", "/fleet"), fleet);
    assert.deepEqual(await controlRequest(socket, "GET", "/timeline"), { events: [{ t: 1, host: "srv1", kind: "up" }] });
    assert.deepEqual(await controlRequest(socket, "PUT", "/hosts/srv1/faults", { fault: "slow-boot", on: true }), { faults: ["slow-boot"] });
    assert.deepEqual(await controlRequest(socket, "GET", "/hosts/srv1/faults"), { faults: ["slow-boot"] });
  });

  it("records events and presses the power button after answering", async function () {
    assert.equal(await controlRequest(socket, "POST", "/hosts/srv1/events", { kind: "build-started", detail: { action: "boot" } }), undefined);
    assert.ok(calls.includes('event srv1 build-started {"action":"boot"}'));
    assert.deepEqual(await controlRequest(socket, "POST", "/hosts/srv1/reboot", {}), {});
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(calls.includes("reboot srv1"));
    await assert.rejects(controlRequest(socket, "POST", "/hosts/srv1/reboot", {}), /409 srv1 is rebooting/);
    assert.equal(await controlRequest(socket, "POST", "/hosts/srv1/drop-sessions", {}), undefined);
    assert.ok(calls.includes("drop srv1"));
  });

  it("tells the fleet which system was activated, so sshd follows it", async function () {
    assert.equal(await controlRequest(socket, "POST", "/hosts/srv1/services", { system: "/nix/store/abc-nixos-system-srv1" }), undefined);
    assert.ok(calls.includes("services srv1 /nix/store/abc-nixos-system-srv1"));
  });

  const bad: Array<[string, "GET" | "POST" | "PUT", string, unknown, RegExp]> = [
    ["an unknown host", "GET", "/hosts/srv9/faults", undefined, /404 no simulated host named "srv9"/],
    ["an unknown fault", "PUT", "/hosts/srv1/faults", { fault: "melts", on: true }, /400 "fault" must be a fault name/],
    ["a fault without on", "PUT", "/hosts/srv1/faults", { fault: "degraded" }, /400 "on" must be true or false/],
    ["an unknown event kind", "POST", "/hosts/srv1/events", { kind: "party" }, /400 "kind" must be a timeline kind/],
    ["a detail that is not an object", "POST", "/hosts/srv1/events", { kind: "up", detail: [1] }, /400 "detail" must be an object/],
    ["a services call without a store path", "POST", "/hosts/srv1/services", { system: "/tmp/x" }, /400 "system" must be a store path/],
    ["an unknown path", "GET", "/nothing", undefined, /404 no such request/],
  ];
  for (const [what, method, url, body, re] of bad) {
    it(`refuses ${what}`, async function () {
      await assert.rejects(controlRequest(socket, method, url, body), re);
    });
  }

  it("refuses a body that is not JSON", async function () {
    const http = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ socketPath: socket, method: "POST", path: "/hosts/srv1/events" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end("{not json");
    });
    assert.equal(status, 400);
  });

  it("refuses a socket path longer than a Unix socket allows", async function () {
    await assert.rejects(ControlServer.listen(path.join(dir, "x".repeat(120)), handlers), /longer than 107 bytes/);
  });
});
