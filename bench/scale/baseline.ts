/**
 * The baseline the scale benchmark compares with: a Pulumi TypeScript program (compiled ahead,
 * as this project is) of N trivial dynamic resources, chained one after the other as the hosts
 * are, each with one input as large as one host's rendered files. Its provider echoes its inputs.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const PROGRAM = `"use strict";
const pulumi = require("@pulumi/pulumi");
const count = Number(process.env.BASELINE_RESOURCES);
const payloadBytes = Number(process.env.BASELINE_PAYLOAD_BYTES);
// Changing it changes every resource's input: an update of each, as a quiet change of every host.
const epoch = process.env.BASELINE_EPOCH || "0";
const provider = {
  create: async (inputs) => ({ id: inputs.name, outs: inputs }),
  diff: async (_id, olds, news) => ({ changes: olds.payload !== news.payload || olds.name !== news.name }),
  update: async (_id, _olds, news) => ({ outs: news }),
};
class Trivial extends pulumi.dynamic.Resource {
  constructor(name, args, opts) {
    super(provider, name, args, opts, "baseline", "Trivial");
  }
}
let previous;
for (let i = 1; i <= count; i++) {
  const name = "r" + String(i).padStart(4, "0");
  const payload = (name + ":" + epoch + ":").padEnd(payloadBytes, "x");
  previous = new Trivial(name, { name, payload }, previous ? { dependsOn: [previous] } : {});
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
