/**
 * A new Ed25519 SSH key pair in OpenSSH's own formats: the private key as
 * `-----BEGIN OPENSSH PRIVATE KEY-----` (unencrypted, as `ssh-keygen -N ""` writes it; the
 * layout is OpenSSH's PROTOCOL.key) and the public key as one line. sshd reads the private key
 * as a host key, so a machine can be installed with a key made before it exists.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { publicKeyLine } from "./keys";

/** A generated key pair. */
export interface GeneratedKeyPair {
  /** The private key, OpenSSH format (secret). */
  readonly privateKey: string;
  /** `ssh-ed25519 AAAA…`, without comment: what the inventory pins. */
  readonly publicKey: string;
}

const TYPE = "ssh-ed25519";

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** An SSH wire string: length, then bytes. */
function str(data: Buffer | string): Buffer {
  const b = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  return Buffer.concat([u32(b.length), b]);
}

/** The public key blob of an Ed25519 key. */
function ed25519Blob(pub: Buffer): Buffer {
  return Buffer.concat([str(TYPE), str(pub)]);
}

/** Generates an Ed25519 key pair; `comment` goes into the private key, as ssh-keygen's -C. */
export function generateEd25519KeyPair(comment = ""): GeneratedKeyPair {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  if (jwk.d === undefined || jwk.x === undefined) throw new Error("node:crypto exported an Ed25519 key without its seed or public half");
  const seed = Buffer.from(jwk.d, "base64url");
  const pub = Buffer.from(jwk.x, "base64url");
  const blob = ed25519Blob(pub);
  // Two equal random words: a decrypting reader checks them to tell a wrong passphrase.
  const check = randomBytes(4);
  let secret = Buffer.concat([check, check, str(TYPE), str(pub), str(Buffer.concat([seed, pub])), str(comment)]);
  // Padded to the cipher's block size ("none": 8) with the bytes 1, 2, 3, …
  const pad = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([Buffer.from("openssh-key-v1\0", "latin1"), str("none"), str("none"), str(""), u32(1), str(blob), str(secret)]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  return {
    privateKey: ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n"),
    publicKey: publicKeyLine(blob),
  };
}
