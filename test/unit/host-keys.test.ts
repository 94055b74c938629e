import * as assert from "node:assert/strict";
import { blobType, fingerprint, hostKeyAlgorithms, parsePublicKeyLine, publicKeyLine } from "../../lib/host/keys";

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
});
