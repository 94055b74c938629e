/**
 * The provider text Pulumi keeps in the state: small, naming no folder of the machine that
 * wrote it, and loading the implementation of the project it is run from.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { projectLoader } from "../../providers/bootstrap";
import { provider as buildProvider } from "../../providers/fleetBuild";
import { provider as hostKeyProvider } from "../../providers/hostKey";
import { provider as hostProvider } from "../../providers/nixosHost";

const PROJECT = path.resolve(__dirname, "../../..");
const VERSION = (require("../../../package.json") as { version: string }).version;
const requireFromString = require("require-from-string") as (code: string, filename?: string) => { handler: () => pulumi.dynamic.ResourceProvider };

/** A project folder whose loader records what it was asked for instead of loading anything. */
function fakeProject(root: string): string {
  const providers = path.join(root, "dist", "providers");
  fs.mkdirSync(providers, { recursive: true });
  fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: nixos-fleet\nruntime: nodejs\n");
  const record = path.join(root, "calls.json");
  fs.writeFileSync(
    path.join(providers, "loader.js"),
    `const fs = require("fs");
const calls = [];
const impl = (kind, writtenBy) => ({
  read: async (id) => { calls.push({ kind, writtenBy, call: "read", id }); fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify(calls)); return { id, props: {} }; },
  remove: async (id) => { calls.push({ kind, writtenBy, call: "remove", id: id ?? null }); fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify(calls)); },
});
exports.hostImplementation = (w) => impl("host", w);
exports.fleetBuildImplementation = (w) => impl("fleetBuild", w);
exports.hostKeyImplementation = (w) => impl("hostKey", w);
`,
  );
  return record;
}

describe("the serialized providers (providers/bootstrap.ts)", function () {
  let tmp: string;
  let cwd: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-provider-text-"));
    cwd = process.cwd();
  });
  afterEach(() => {
    process.chdir(cwd);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Serialized as pulumi.dynamic.Resource does it: a function returning the provider object. */
  const serialize = async (provider: pulumi.dynamic.ResourceProvider) => (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
  const texts = async () => ({ host: await serialize(hostProvider), build: await serialize(buildProvider), hostKey: await serialize(hostKeyProvider) });

  it("are small, record the version that wrote them and name no folder of this machine", async () => {
    for (const [kind, text] of Object.entries(await texts())) {
      // About 2.9 KB now; a module copied whole into the state by mistake would be many times that.
      assert.ok(text.length < 3200, `${kind}: ${text.length} characters`);
      assert.ok(!text.includes(PROJECT), `${kind} names ${PROJECT}:\n${text}`);
      assert.ok(!text.includes(os.homedir()) && !text.includes(os.tmpdir()), `${kind} names a folder of this machine:\n${text}`);
      assert.match(text, new RegExp(`"nixos-fleet@${VERSION.replace(/\./g, "\\.")}"`), `${kind} does not record its version`);
    }
  });

  it("load the implementation of the project they are run from, found from a folder below it", async () => {
    const record = fakeProject(tmp);
    fs.mkdirSync(path.join(tmp, "inventory"));
    process.chdir(path.join(tmp, "inventory"));
    const t = await texts();
    await requireFromString(t.host).handler().read!("srv2", {});
    await requireFromString(t.build).handler().delete!("fleet", {});
    await requireFromString(t.hostKey).handler().read!("srv2-host-key", {});
    assert.deepEqual(JSON.parse(fs.readFileSync(record, "utf8")), [
      { kind: "host", writtenBy: `nixos-fleet@${VERSION}`, call: "read", id: "srv2" },
      { kind: "fleetBuild", writtenBy: `nixos-fleet@${VERSION}`, call: "remove", id: "fleet" },
      { kind: "hostKey", writtenBy: `nixos-fleet@${VERSION}`, call: "read", id: "srv2-host-key" },
    ]);
  });

  it("say to build a project that is not built, and to run from a project outside one", () => {
    fs.writeFileSync(path.join(tmp, "Pulumi.yaml"), "name: nixos-fleet\n");
    assert.throws(() => projectLoader(tmp), (e: Error) => e.message.includes(path.join(tmp, "dist", "providers", "loader.js")) && e.message.includes("npm run build"));
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-no-project-"));
    try {
      assert.throws(() => projectLoader(outside), /no Pulumi\.yaml in .* or above: run pulumi in the project/);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});
