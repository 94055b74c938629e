import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkpointFigures, checkpointLines } from "../../bench/checkpoint";
import { hostAddress, newHostKeyLine, scaleInventoryYaml } from "../../bench/scale/inventory";
import { cpuMsOf, highWaterMark, roleOf, samplePeaks } from "../../bench/scale/peak";
import { mbPerHost, median, ratio, type ScaleRow, scaleLines, shapeLines } from "../../bench/scale/report";
import { parsePublicKeyLine } from "../../lib/host/keys";
import { readTree } from "../../lib/inventory/fsTree";
import { loadInventory } from "../../lib/inventory/load";

const MB = 1024 * 1024;
const row = (hosts: number, fleetMs: number[], baselineMs: number[], fleetMb: number, baselineMb: number, pairsMs: number[] = baselineMs, pairsMb = baselineMb): ScaleRow => ({
  hosts,
  payloadBytes: 6000,
  fleet: { ms: fleetMs, peak: { program: fleetMb * MB, provider: 90 * MB, cli: 80 * MB, other: 0 }, cpuMs: { program: 4000, provider: 1500, cli: 2500, other: 100 } },
  baseline: { ms: baselineMs, peak: { program: baselineMb * MB, provider: 70 * MB, cli: 60 * MB, other: 0 }, cpuMs: { program: 2000, provider: 1000, cli: 1200, other: 100 } },
  pairs: { ms: pairsMs, peak: { program: pairsMb * MB, provider: 75 * MB, cli: 70 * MB, other: 0 }, cpuMs: { program: 3000, provider: 1400, cli: 2000, other: 100 } },
  oneBuild: { ms: baselineMs.map((ms) => ms * 1.1), peak: { program: (baselineMb + 0.45 * hosts) * MB, provider: 72 * MB, cli: 64 * MB, other: 0 }, cpuMs: { program: 2200, provider: 1000, cli: 1300, other: 100 } },
});

describe("bench:scale", () => {
  it("generates an inventory of N hosts on loopback addresses, each with its own valid host key, that the inventory checks accept", () => {
    const keys = Array.from({ length: 300 }, newHostKeyLine);
    for (const k of keys.slice(0, 3)) assert.equal(parsePublicKeyLine(k, "host key", "host").type, "ssh-ed25519");
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(hostAddress(0), "127.1.0.1");
    assert.equal(hostAddress(254), "127.1.0.255");
    assert.equal(hostAddress(255), "127.1.1.0");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-scale-"));
    try {
      const file = path.join(dir, "inventory.yaml");
      fs.writeFileSync(file, scaleInventoryYaml(keys));
      const io = { readFile: (p: string) => fs.readFileSync(p, "utf8"), readTree };
      const inv = loadInventory({ inventory: undefined, inventoryFile: file, projectDir: dir }, io);
      assert.equal(inv.hosts.length, 300);
      assert.equal(new Set(inv.hosts.map((h) => h.address)).size, 300);
      assert.ok(inv.hosts.every((h) => /^127\.1\.\d+\.\d+$/.test(h.address ?? "")), "loopback only");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names each process of a preview by its role and reads its resident high-water mark", () => {
    assert.equal(roleOf("/usr/bin/node\0/p/node_modules/@pulumi/pulumi/cmd/run\0--engine\0x"), "program");
    assert.equal(roleOf("node\0/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js\0"), "provider");
    assert.equal(roleOf("/root/.cache/nixos-fleet/pulumi-v3.248.0/bin/pulumi\0preview\0"), "cli");
    assert.equal(roleOf("/root/.cache/nixos-fleet/pulumi-v3.248.0/bin/pulumi-language-nodejs\0"), "other");
    assert.equal(highWaterMark("Name:\tnode\nVmPeak:\t 999 kB\nVmHWM:\t  204800 kB\nVmRSS:\t 100 kB\n"), 200 * MB);
    assert.equal(highWaterMark("Name:\tkthreadd\n"), undefined);
    // utime 250 and stime 50 ticks at 100 per second; a command name with a space and a parenthesis.
    const stat = "4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0 1000 0 0";
    assert.equal(cpuMsOf(stat, 100), 3000);
    assert.equal(cpuMsOf("4242 (node) S 1", 100), undefined);
  });

  it("samples the peak memory and the CPU time of a real process tree", async () => {
    const sampler = samplePeaks(process.pid, 20);
    const cpuBefore = process.cpuUsage();
    // Keep this process busy for a while, so its CPU time is well above a clock tick.
    const until = Date.now() + 150;
    while (Date.now() < until) JSON.stringify({ spin: Math.random() });
    await new Promise((r) => setTimeout(r, 60));
    const spent = process.cpuUsage(cpuBefore);
    const use = sampler.stop();
    assert.ok(use.peak.other >= process.memoryUsage().rss * 0.5, `this process (${process.memoryUsage().rss} B resident) seen at ${use.peak.other} B`);
    const totalMs = (process.cpuUsage().user + process.cpuUsage().system) / 1000;
    assert.ok(use.cpuMs.other >= (spent.user + spent.system) / 1000 - 50, `CPU seen ${use.cpuMs.other} ms, spent at least ${(spent.user + spent.system) / 1000} ms`);
    assert.ok(use.cpuMs.other <= totalMs + 50, `CPU seen ${use.cpuMs.other} ms, more than the process's ${totalMs} ms`);
  });

  it("computes the ratios against the targets and the memory a host adds", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    const rows = [
      row(50, [6000, 6200, 5900], [3400, 3300, 3500], 232, 179, [5000, 4800, 5200], 200),
      row(200, [11000], [5500], 333, 217, [10000], 260),
      row(800, [16000], [11000], 738, 302, [12800], 500),
    ];
    assert.equal(ratio(rows[1]), 2);
    assert.equal(ratio(rows[1], "pairs"), 1.1);
    assert.equal(ratio(rows[2], "pairs"), 1.25);
    assert.ok(Math.abs(mbPerHost(rows, "fleet")! - (738 - 232) / 750) < 1e-9);
    assert.ok(Math.abs(mbPerHost(rows, "baseline")! - (302 - 179) / 750) < 1e-9);
    assert.equal(mbPerHost(rows.slice(0, 1), "fleet"), undefined);
    const lines = scaleLines(rows);
    assert.ok(lines.includes("| 50 hosts | 6.0 s, 232 MB | 3.4 s, 179 MB | 1.76 |  | 5.0 s, 200 MB | 1.20 |"), lines.join("\n"));
    assert.ok(lines.includes("| 200 hosts | 11.0 s, 333 MB | 5.5 s, 217 MB | 2.00 | ≤ 1.3 NOT met | 10.0 s, 260 MB | 1.10 |"), lines.join("\n"));
    assert.ok(lines.includes("| 800 hosts | 16.0 s, 738 MB | 11.0 s, 302 MB | 1.45 | ≤ 1.5 met | 12.8 s, 500 MB | 1.25 |"), lines.join("\n"));
    assert.ok(Math.abs(mbPerHost(rows, "oneBuild")! - ((302 + 0.45 * 800) - (179 + 0.45 * 50)) / 750) < 1e-9);
    assert.ok(
      lines.includes("memory per host in the program: 0.67 MB (baseline 0.16 MB per resource; pairs 0.40 MB per pair; one build for the fleet 0.61 MB per host, the shape of nixos-fleet's resources)"),
      lines.join("\n"),
    );
    assert.ok(
      lines.includes(
        "200 hosts: dynamic provider 90 MB (baseline 70 MB, one build for the fleet 72 MB), CLI 80 MB (baseline 60 MB, one build for the fleet 64 MB); " +
          "runs 11.0 s vs 5.5 s vs pairs 10.0 s; 6000 bytes rendered per host",
      ),
      lines.join("\n"),
    );
    const shapes = shapeLines(rows);
    assert.ok(shapes.includes("| 200 hosts | 5.5 s | 10.0 s (1.82) | 6.1 s (1.10) |"), shapes.join("\n"));
    assert.ok(shapes.includes("| 800 hosts | 11.0 s | 12.8 s (1.16) | 12.1 s (1.10) |"), shapes.join("\n"));
    assert.ok(
      lines.includes(
        "200 hosts, CPU time: program 4.0 s, dynamic provider 1.5 s, CLI 2.5 s, other 0.1 s (baseline: program 2.0 s, dynamic provider 1.0 s, CLI 1.2 s, other 0.1 s; " +
          "pairs: program 3.0 s, dynamic provider 1.4 s, CLI 2.0 s, other 0.1 s)",
      ),
      lines.join("\n"),
    );
  });

  it("splits a checkpoint into what each host's resources hold", () => {
    const host = (name: string) => ({
      urn: `urn:pulumi:s::p::pulumi-nodejs:dynamic:Resource$pulumi-nodejs:dynamic/nixos-fleet:NixosHost::${name}`,
      type: "pulumi-nodejs:dynamic/nixos-fleet:NixosHost",
      inputs: { __provider: "P".repeat(100), name },
      outputs: { __provider: "P".repeat(100), name, systemPath: "/nix/store/x" },
    });
    const exported = JSON.stringify({ version: 3, deployment: { resources: [{ type: "pulumi:pulumi:Stack" }, host("a"), host("b")] } });
    const f = checkpointFigures(exported, 2);
    assert.equal(f.totalBytes, Buffer.byteLength(exported));
    assert.equal(f.perHost, Math.round(Buffer.byteLength(exported) / 2));
    assert.deepEqual(f.types[0], { type: "FleetBuild", resources: 0, perResource: 0, inputs: 0, outputs: 0, provider: 0 });
    const h = f.types[1];
    assert.equal(h.resources, 2);
    assert.equal(h.provider, 102);
    assert.equal(h.inputs, Buffer.byteLength(JSON.stringify(host("a").inputs)));
    assert.equal(h.outputs, Buffer.byteLength(JSON.stringify(host("a").outputs)));
    assert.equal(h.perResource, Buffer.byteLength(JSON.stringify(host("a"))));
    assert.match(checkpointLines(f)[2], /^ {2}NixosHost \(2\): \d+ bytes each: inputs \d+, outputs \d+ \(of which the provider text 102\)$/);
  });
});
