/**
 * The generated SSH host key: OpenSSH reads it (ssh-keygen derives the same public key from it,
 * ssh2 parses it), each call makes a new one, and GeneratedHostKey keeps it: only another host
 * replaces it, and a refresh changes nothing.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { utils } from "ssh2";
import { generateEd25519KeyPair } from "../../lib/host/generateKey";
import { create, diff, read, type HostKeyProps } from "../../providers/hostKeyImpl";

describe("generated SSH host keys", () => {
  it("are Ed25519 keys in OpenSSH's format, whose public half is the line returned", function () {
    const pair = generateEd25519KeyPair("root@srv4");
    assert.match(pair.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n$/);
    assert.match(pair.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+={0,2}$/);
    const parsed = utils.parseKey(pair.privateKey);
    assert.ok(!(parsed instanceof Error), String(parsed));
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    assert.equal(key.type, "ssh-ed25519");
    assert.equal(key.comment, "root@srv4");
    assert.equal(`ssh-ed25519 ${key.getPublicSSH().toString("base64")}`, pair.publicKey);
    // A signature made with it verifies with the public half: the two halves belong together.
    const data = Buffer.from("nixos-fleet");
    const sig = key.sign(data);
    assert.ok(!(sig instanceof Error));
    assert.equal(key.verify(data, sig as Buffer), true);
  });

  it("are read by OpenSSH's own ssh-keygen", function () {
    if (spawnSync("ssh-keygen", ["-?"]).error) this.skip();
    const pair = generateEd25519KeyPair("root@srv4");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostkey-"));
    try {
      const file = path.join(dir, "ssh_host_ed25519_key");
      fs.writeFileSync(file, pair.privateKey, { mode: 0o600 });
      const r = spawnSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), `${pair.publicKey} root@srv4`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("differ from call to call", () => {
    assert.notEqual(generateEd25519KeyPair().publicKey, generateEd25519KeyPair().publicKey);
  });
});

describe("GeneratedHostKey's provider", () => {
  it("makes the key on create and keeps it through refreshes and unchanged runs; another host replaces it", async () => {
    const made = await create({ host: "srv4" });
    const outs = made.outs as HostKeyProps;
    assert.equal(outs.host, "srv4");
    assert.match(outs.publicKey, /^ssh-ed25519 /);
    assert.match(outs.privateKey, /BEGIN OPENSSH PRIVATE KEY/);
    assert.deepEqual(await read(made.id, outs), { id: made.id, props: outs });
    assert.deepEqual(await diff(made.id, outs, { host: "srv4" }), { changes: false, replaces: [], deleteBeforeReplace: false });
    assert.deepEqual(await diff(made.id, outs, { host: "srv5" }), { changes: true, replaces: ["host"], deleteBeforeReplace: false });
  });
});
