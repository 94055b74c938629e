/**
 * The baselines the scale benchmark compares with: a Pulumi TypeScript program (compiled ahead,
 * as this project is) of trivial dynamic resources whose provider echoes its inputs. Its shape
 * (BASELINE_SHAPE) is one of:
 * - "chain": N resources, chained one after the other as the hosts are, each with one input as
 *   large as one host's rendered files. The targets are set against it.
 * - "pairs": per host a build and a host, wired as this project wired its NixosBuilds and
 *   NixosHosts before 0.3.0: the builds depend on nothing and carry the rendered files' size, the first host
 *   depends on every build, each later host on the one before, and each host takes an output of
 *   its build. It shows Pulumi's own cost of declaring a fleet as two resources per host.
 * - "fleet-build": one build for the whole fleet, carrying every host's rendered files' size,
 *   and a host per host wired as in "pairs", each taking the build's output: Pulumi's own cost
 *   of a fleet that keeps every build ahead of every activation with one resource per host, the
 *   shape of this project's FleetBuild and NixosHosts since 0.3.0.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const PROGRAM = `"use strict";
const pulumi = require("@pulumi/pulumi");
const count = Number(process.env.BASELINE_RESOURCES);
const payloadBytes = Number(process.env.BASELINE_PAYLOAD_BYTES);
// Changing it changes every resource's input: an update of each, as a quiet change of every host.
const epoch = process.env.BASELINE_EPOCH || "0";
const shape = process.env.BASELINE_SHAPE || "chain";
const provider = {
  // A build's output, which its host takes as a NixosHost takes the system built for it.
  create: async (inputs) => ({ id: inputs.name, outs: inputs.role === "build" ? { ...inputs, done: true } : inputs }),
  diff: async (_id, olds, news) => ({ changes: olds.payload !== news.payload || olds.name !== news.name || olds.built !== news.built || JSON.stringify(olds.hosts) !== JSON.stringify(news.hosts) }),
  update: async (_id, _olds, news) => ({ outs: news }),
};
class Trivial extends pulumi.dynamic.Resource {
  constructor(name, args, opts) {
    super(provider, name, args, opts, "baseline", "Trivial");
  }
}
const names = Array.from({ length: count }, (_, i) => "r" + String(i + 1).padStart(4, "0"));
const payloadOf = (name) => (name + ":" + epoch + ":").padEnd(payloadBytes, "x");
if (shape === "pairs") {
  const builds = names.map((name) => new Trivial(name + "-build", { name, role: "build", payload: payloadOf(name), done: undefined }));
  let before = builds;
  names.forEach((name, i) => {
    before = [new Trivial(name, { name, built: builds[i].done }, { dependsOn: before })];
  });
} else if (shape === "fleet-build") {
  const build = new Trivial("fleet-build", { name: "fleet-build", role: "build", hosts: Object.fromEntries(names.map((name) => [name, payloadOf(name)])), done: undefined });
  let before = [build];
  for (const name of names) before = [new Trivial(name, { name, built: build.done }, { dependsOn: before })];
} else {
  let previous;
  for (const name of names) previous = new Trivial(name, { name, payload: payloadOf(name) }, previous ? { dependsOn: [previous] } : {});
}
exports.count = count;
`;

/** Writes the baseline program into `dir`, its node_modules linked to the project's. */
export function writeBaselineProgram(projectDir: string, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: bench-baseline\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
  fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify({ name: "bench-baseline", private: true, main: "index.js" }, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, "index.js"), PROGRAM);
  fs.symlinkSync(path.join(projectDir, "node_modules"), path.join(dir, "node_modules"));
}
