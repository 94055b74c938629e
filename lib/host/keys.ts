/**
 * OpenSSH public key lines ("ssh-ed25519 AAAA... comment"): parsing, comparison by key blob and
 * fingerprints printed the way OpenSSH prints them (SHA256:<unpadded base64>).
 */
import { createHash } from "node:crypto";
import { keyShapeProblem, keyTypesFor } from "./keyShape";

/** A public key: its algorithm name and the wire-format blob the server sends. */
export interface PublicKey {
  readonly type: string;
  readonly blob: Buffer;
  readonly comment?: string;
}

/** What a key is for: a host key (what sshd presents) or a user key (authorized to log in). */
export type KeyUse = "host" | "user";

/**
 * Parses one OpenSSH public key line. Throws an Error naming `what` (e.g. "hosts[0].hostKey")
 * when the line is not a key, its type word does not match the type inside the blob, or the
 * blob is not a whole key of that type (see keyBlobProblem).
 */
export function parsePublicKeyLine(line: string, what = "public key", use: KeyUse = "user"): PublicKey {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2 || parts[0] === "") {
    throw new Error(`${what} is not an OpenSSH public key line ("<type> <base64> [comment]"): ${JSON.stringify(line.slice(0, 80))}`);
  }
  const [type, b64, ...comment] = parts;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 === 1) throw new Error(`${what}: the key data of ${type} is not base64`);
  const blob = Buffer.from(b64, "base64");
  const problem = keyBlobProblem(type, blob, use);
  if (problem !== undefined) throw new Error(`${what}: ${problem}`);
  return comment.length > 0 ? { type, blob, comment: comment.join(" ") } : { type, blob };
}

/** The algorithm name at the start of an SSH key blob, or undefined when the blob is malformed. */
export function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || blob.length < 4 + len) return undefined;
  const name = blob.subarray(4, 4 + len).toString("latin1");
  return /^[A-Za-z0-9@.-]+$/.test(name) ? name : undefined;
}

/**
 * Why `blob` is not a whole public key of the type `type` names, for `use`, or undefined: the
 * type must be one accepted for the use, match the name inside the blob, and the blob must
 * hold every field of that type at its right size (an Ed25519 key is 32 bytes, an ECDSA point
 * fits its curve, an RSA modulus has 1024 to 16384 bits), with nothing after it.
 */
export function keyBlobProblem(type: string, blob: Buffer, use: KeyUse): string | undefined {
  const accepted = keyTypesFor(use);
  if (!accepted.includes(type)) {
    return `${JSON.stringify(type)} is not a ${use} key type the rollout accepts (${accepted.join(", ")})`;
  }
  const inner = blobType(blob);
  if (inner === undefined) return `the key data after ${type} is not a valid SSH key blob (cut short when copied?)`;
  if (inner !== type) return `the line says ${type} but the key data is ${inner}`;
  return keyShapeProblem(type, blob);
}

/** SHA256 fingerprint of a key blob as OpenSSH prints it: "SHA256:" + unpadded base64. */
export function fingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** The OpenSSH line of a key blob (what a known_hosts file or an inventory pins). */
export function publicKeyLine(blob: Buffer, comment?: string): string {
  const type = blobType(blob) ?? "unknown";
  return comment ? `${type} ${blob.toString("base64")} ${comment}` : `${type} ${blob.toString("base64")}`;
}

/** True when two keys are the same key (comments do not matter). */
export function sameKey(a: PublicKey, b: Buffer): boolean {
  return a.blob.equals(b);
}

/**
 * Host key algorithms to offer so a server with several host keys presents the pinned kind.
 * RSA keys are used with the SHA-2 signature algorithms first.
 */
export function hostKeyAlgorithms(type: string): string[] {
  if (type === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  return [type];
}
