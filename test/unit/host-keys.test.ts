import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { blobType, fingerprint, hostKeyAlgorithms, keyBlobProblem, parsePublicKeyLine, publicKeyLine } from "../../lib/host/keys";

/** Keys made with ssh-keygen; fingerprints as `ssh-keygen -lf` printed them. */
const KEYS = [
  {
    line: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMpueYdyfItluUzJ5d0D0XrLgjH8s8YX83azg720Phqd fixture",
    type: "ssh-ed25519",
    fp: "SHA256:Zc411Dxu+lfXRWQrm8nmucIsNjkAJeDGJ/pCKx+3qOc",
  },
  {
    line: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQD2/yHi0Ms4p417sxOIJcBoDgBFEMDbXxlBIdBbCnAVWGW6kVOvJAjEvJn1sP+1nHAOIGINkWcK5UAWGIY2J4tYK7b+WEsnYR5Jxa9FQAZRdfJ2ovS4emW6G61Tu1KM1ruBsGFjUB47BG4Ex2602WRUE5Sp2nyI+sXNpnx1MOUtTQ== rsa",
    type: "ssh-rsa",
    fp: "SHA256:p+tHaOy8Fl0fS1sMHSpkZuKFLBbySXorYRG+Gt603WA",
  },
  {
    line: "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBF6yWrAJV01r3VKnRaTIZrSS201jGL/Youdvbs/wTD23rwwhUCn9JLEalZogj0EGpb0UXLS8pwh1qH/zbcOQGt8= ec",
    type: "ecdsa-sha2-nistp256",
    fp: "SHA256:TQugb7SzAuEXtgBS9xG2MFeqS8SubV7fA2YxwEKhj+4",
  },
];

describe("host keys (lib/host/keys.ts)", function () {
  for (const k of KEYS) {
    it(`parses ${k.type} and prints the fingerprint ssh-keygen prints`, function () {
      const key = parsePublicKeyLine(k.line);
      assert.equal(key.type, k.type);
      assert.equal(blobType(key.blob), k.type);
      assert.equal(fingerprint(key.blob), k.fp);
      assert.equal(publicKeyLine(key.blob), k.line.split(" ").slice(0, 2).join(" "));
    });
  }

  it("ignores comments and surrounding blanks when comparing keys", function () {
    const a = parsePublicKeyLine(KEYS[0].line);
    const b = parsePublicKeyLine(`  ${KEYS[0].line.split(" ").slice(0, 2).join("  ")}  \n`);
    assert.ok(a.blob.equals(b.blob));
    assert.equal(a.comment, "fixture");
    assert.equal(b.comment, undefined);
  });

  const bad: Array<[string, RegExp]> = [
    ["", /not an OpenSSH public key line/],
    ["ssh-ed25519", /not an OpenSSH public key line/],
    ["ssh-ed25519 !!!!", /not base64/],
    [`ssh-rsa ${KEYS[0].line.split(" ")[1]}`, /says ssh-rsa but the key data is ssh-ed25519/],
    ["ssh-ed25519 AAAA", /not a valid SSH key blob/],
  ];
  for (const [line, re] of bad) {
    it(`rejects ${JSON.stringify(line)} naming the field`, function () {
      assert.throws(() => parsePublicKeyLine(line, "hosts[1].hostKey"), (e: unknown) => e instanceof Error && re.test(e.message) && e.message.startsWith("hosts[1].hostKey"));
    });
  }

  it("offers the SHA-2 signatures first for RSA and the key's own type otherwise", function () {
    assert.deepEqual(hostKeyAlgorithms("ssh-rsa"), ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    assert.deepEqual(hostKeyAlgorithms("ssh-ed25519"), ["ssh-ed25519"]);
  });

  describe("the key data itself (a line cut short keeps its type word)", () => {
    /** SSH wire format: each field a uint32 length and its bytes. */
    const wire = (...fields: (string | Buffer)[]) =>
      Buffer.concat(fields.map((f) => {
        const b = typeof f === "string" ? Buffer.from(f, "latin1") : f;
        const len = Buffer.alloc(4);
        len.writeUInt32BE(b.length);
        return Buffer.concat([len, b]);
      }));
    const line = (type: string, blob: Buffer) => `${type} ${blob.toString("base64")}`;
    const ecPoint = (curve: "P-256" | "P-384") => {
      const jwk = generateKeyPairSync("ec", { namedCurve: curve }).publicKey.export({ format: "jwk" });
      return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x as string, "base64url"), Buffer.from(jwk.y as string, "base64url")]);
    };
    const rsaParts = (bits: number) => {
      const jwk = generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
      const mpint = (b64: string) => {
        const b = Buffer.from(b64, "base64url");
        return b[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
      };
      return { e: mpint(jwk.e as string), n: mpint(jwk.n as string) };
    };
    const ed = Buffer.from(KEYS[0].line.split(" ")[1], "base64");
    const p256 = ecPoint("P-256");
    const rsa512 = rsaParts(512);
    const rsa2048 = rsaParts(2048);
    const offCurve = Buffer.from(p256);
    offCurve[64] ^= 1;

    const bad: [string, string, "host" | "user", RegExp][] = [
      ["an ed25519 line cut short", `ssh-ed25519 ${KEYS[0].line.split(" ")[1].slice(0, 40)}`, "host", /^the ssh-ed25519 key data is cut short: its public key is missing or incomplete \(only 30 bytes/],
      ["an ed25519 key of 16 bytes", line("ssh-ed25519", wire("ssh-ed25519", Buffer.alloc(16, 7))), "host", /^its key is 16 bytes; an Ed25519 public key is 32 bytes$/],
      ["bytes after the key", line("ssh-ed25519", Buffer.concat([ed, wire("x")])), "host", /^the ssh-ed25519 key data has 5 unexpected bytes after the key$/],
      ["an ECDSA key of another curve", line("ecdsa-sha2-nistp256", wire("ecdsa-sha2-nistp256", "nistp384", p256)), "host", /curve inside the key data is "nistp384", not nistp256/],
      ["an ECDSA point cut short", line("ecdsa-sha2-nistp256", wire("ecdsa-sha2-nistp256", "nistp256", p256.subarray(0, 33))), "host", /curve point is 33 bytes; an uncompressed nistp256 point is 65 bytes/],
      ["an ECDSA point off the curve", line("ecdsa-sha2-nistp256", wire("ecdsa-sha2-nistp256", "nistp256", offCurve)), "host", /not on the nistp256 curve/],
      ["an ECDSA key without its point", line("ecdsa-sha2-nistp256", wire("ecdsa-sha2-nistp256", "nistp256")), "host", /cut short: its curve point is missing/],
      ["an RSA key of 512 bits", line("ssh-rsa", wire("ssh-rsa", rsa512.e, rsa512.n)), "host", /modulus is 512 bits; OpenSSH takes RSA keys of 1024 to 16384 bits/],
      ["an RSA key with an even exponent", line("ssh-rsa", wire("ssh-rsa", Buffer.from([2]), rsa2048.n)), "host", /public exponent is not an odd number/],
      ["an RSA key with a negative modulus", line("ssh-rsa", wire("ssh-rsa", rsa2048.e, rsa2048.n.subarray(1))), "host", /modulus is not a positive integer/],
      ["an RSA key without its modulus", line("ssh-rsa", wire("ssh-rsa", rsa2048.e)), "host", /cut short: its modulus is missing/],
      ["a DSA key", line("ssh-dss", wire("ssh-dss", "p", "q", "g", "y")), "user", /"ssh-dss" is not a user key type the rollout accepts \(ssh-ed25519, /],
      ["a security key as host key", line("sk-ssh-ed25519@openssh.com", wire("sk-ssh-ed25519@openssh.com", ed.subarray(19), "ssh:")), "host", /not a host key type/],
    ];
    for (const [what, text, use, re] of bad) {
      it(`rejects ${what}`, () => {
        assert.throws(
          () => parsePublicKeyLine(text, "hosts[2].hostKey", use),
          (e: unknown) => e instanceof Error && e.message.startsWith("hosts[2].hostKey: ") && re.test(e.message.slice("hosts[2].hostKey: ".length)),
        );
      });
    }

    it("accepts whole keys of every supported shape, security keys for users only", () => {
      const p384 = ecPoint("P-384");
      const ok: [string, Buffer, "host" | "user"][] = [
        ["ecdsa-sha2-nistp384", wire("ecdsa-sha2-nistp384", "nistp384", p384), "host"],
        ["ssh-rsa", wire("ssh-rsa", rsa2048.e, rsa2048.n), "host"],
        ["sk-ssh-ed25519@openssh.com", wire("sk-ssh-ed25519@openssh.com", ed.subarray(19), "ssh:"), "user"],
        ["sk-ecdsa-sha2-nistp256@openssh.com", wire("sk-ecdsa-sha2-nistp256@openssh.com", "nistp256", p256, "ssh:"), "user"],
      ];
      for (const [type, blob, use] of ok) assert.equal(keyBlobProblem(type, blob, use), undefined, type);
    });

    describe("against keys made by ssh-keygen", () => {
      let dir = "";
      const lines: string[] = [];
      before(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "keys-"));
        for (const [t, bits] of [["ed25519", ""], ["ecdsa", "256"], ["ecdsa", "384"], ["ecdsa", "521"], ["rsa", "3072"]]) {
          const file = path.join(dir, `${t}${bits}`);
          execFileSync("ssh-keygen", ["-q", "-t", t, ...(bits ? ["-b", bits] : []), "-N", "", "-C", "c", "-f", file]);
          lines.push(fs.readFileSync(`${file}.pub`, "utf8").trim());
        }
      });
      after(() => fs.rmSync(dir, { recursive: true, force: true }));

      it("accepts each as a host key", () => {
        for (const l of lines) assert.equal(parsePublicKeyLine(l, "k", "host").type, l.split(" ")[0]);
      });

      it("rejects every cut of the base64 that ssh-keygen rejects too", () => {
        fc.assert(
          fc.property(fc.nat({ max: lines.length - 1 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (k, frac) => {
            const [type, b64] = lines[k].split(" ");
            const cut = `${type} ${b64.slice(0, Math.floor((b64.length * frac) / 4) * 4)}`;
            assert.throws(() => parsePublicKeyLine(cut, "hosts[0].hostKey", "host"), /^Error: hosts\[0\]\.hostKey[: ]/);
            const file = path.join(dir, "cut.pub");
            fs.writeFileSync(file, `${cut}\n`);
            assert.notEqual(spawnSync("ssh-keygen", ["-l", "-f", file]).status, 0, `ssh-keygen accepted ${cut}`);
          }),
          { numRuns: 40 },
        );
      });
    });
  });
});
