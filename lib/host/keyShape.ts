/**
 * The wire structure of SSH public key blobs (RFC 4253 §6.6, RFC 5656 §3.1, OpenSSH's
 * PROTOCOL.u2f): which length-prefixed fields each key type has and what their sizes must be.
 * A line cut short when copied still starts with the right type name; only this structure
 * shows that the key itself is missing.
 */
import { createPublicKey } from "node:crypto";

/** Key types a host may present: what sshd on NixOS generates and the SSH client accepts. */
export const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"] as const;

/** Key types a user may log in with: the host key types plus FIDO security keys. */
export const USER_KEY_TYPES = [...HOST_KEY_TYPES, "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"] as const;

/** OpenSSH refuses RSA keys below 1024 bits and OpenSSL above 16384. */
const RSA_MIN_BITS = 1024;
const RSA_MAX_BITS = 16384;

interface Shape {
  /** Names of the length-prefixed fields after the type name, for "cut short" messages. */
  readonly fields: readonly string[];
  /** Why the field values are wrong for this type, or undefined. */
  check(values: readonly Buffer[]): string | undefined;
}

function ed25519(fields: readonly string[]): Shape {
  return {
    fields,
    check: ([key]) => (key.length === 32 ? undefined : `its key is ${key.length} bytes; an Ed25519 public key is 32 bytes`),
  };
}

/** An ECDSA key: curve name, then the curve point, uncompressed (0x04 ‖ x ‖ y) as OpenSSH writes it. */
function ecdsa(curve: string, jwkCurve: string, coordBytes: number, fields: readonly string[]): Shape {
  return {
    fields,
    check: ([name, point]) => {
      const inner = name.toString("latin1");
      if (inner !== curve) return `the curve inside the key data is ${JSON.stringify(inner)}, not ${curve}`;
      const want = 1 + 2 * coordBytes;
      if (point.length !== want || point[0] !== 0x04) return `its curve point is ${point.length} bytes; an uncompressed ${curve} point is ${want} bytes starting with 0x04`;
      const coord = (from: number) => point.subarray(from, from + coordBytes).toString("base64url");
      try {
        createPublicKey({ key: { kty: "EC", crv: jwkCurve, x: coord(1), y: coord(1 + coordBytes) }, format: "jwk" });
      } catch {
        return `its point is not on the ${curve} curve (the key data was changed)`;
      }
      return undefined;
    },
  };
}

/** Bits of an SSH mpint (two's complement, big-endian), or a reason it is no positive minimal integer. */
function mpintBits(b: Buffer, what: string): number | string {
  if (b.length === 0 || b[0] >= 0x80) return `its ${what} is not a positive integer`;
  if (b[0] === 0 && (b.length === 1 || b[1] < 0x80)) return `its ${what} has a needless leading zero byte`;
  const first = b[0] === 0 ? 1 : 0;
  return (b.length - first) * 8 - Math.clz32(b[first]) + 24;
}

const rsa: Shape = {
  fields: ["public exponent", "modulus"],
  check: ([e, n]) => {
    const eBits = mpintBits(e, "public exponent");
    if (typeof eBits === "string") return eBits;
    if (eBits < 2 || eBits > 64 || (e[e.length - 1] & 1) === 0) return "its public exponent is not an odd number from 3 to 2^64";
    const nBits = mpintBits(n, "modulus");
    if (typeof nBits === "string") return nBits;
    if ((n[n.length - 1] & 1) === 0) return "its modulus is even, which no RSA modulus is";
    if (nBits < RSA_MIN_BITS || nBits > RSA_MAX_BITS) return `its modulus is ${nBits} bits; OpenSSH takes RSA keys of ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`;
    return undefined;
  },
};

const SHAPES: Readonly<Record<string, Shape>> = {
  "ssh-ed25519": ed25519(["public key"]),
  "ecdsa-sha2-nistp256": ecdsa("nistp256", "P-256", 32, ["curve name", "curve point"]),
  "ecdsa-sha2-nistp384": ecdsa("nistp384", "P-384", 48, ["curve name", "curve point"]),
  "ecdsa-sha2-nistp521": ecdsa("nistp521", "P-521", 66, ["curve name", "curve point"]),
  "ssh-rsa": rsa,
  // Security keys add the FIDO application ("ssh:") after the key.
  "sk-ssh-ed25519@openssh.com": ed25519(["public key", "application"]),
  "sk-ecdsa-sha2-nistp256@openssh.com": ecdsa("nistp256", "P-256", 32, ["curve name", "curve point", "application"]),
};

/** The key types accepted for a use, as a closed list. */
export function keyTypesFor(use: "host" | "user"): readonly string[] {
  return use === "host" ? HOST_KEY_TYPES : USER_KEY_TYPES;
}

/**
 * Why `blob` (which starts with the name `type`, already checked) is not a whole public key of
 * that type, or undefined when it is: every field present, sizes right, nothing left over.
 */
export function keyShapeProblem(type: string, blob: Buffer): string | undefined {
  const shape = SHAPES[type];
  if (shape === undefined) return `${type} keys are not supported`;
  const values: Buffer[] = [];
  let at = 4 + blob.readUInt32BE(0);
  for (const field of shape.fields) {
    if (at + 4 > blob.length || at + 4 + blob.readUInt32BE(at) > blob.length) {
      return `the ${type} key data is cut short: its ${field} is missing or incomplete (only ${blob.length} bytes of key data; the line was probably not copied whole)`;
    }
    const len = blob.readUInt32BE(at);
    values.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  if (at !== blob.length) return `the ${type} key data has ${blob.length - at} unexpected bytes after the key`;
  return shape.check(values);
}
