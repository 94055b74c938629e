/**
 * The server side of a WebSocket (RFC 6455), as far as a kubelet's exec stream needs it: the
 * handshake answer and unmasked frames from the server; the client's frames are read only to
 * see its close. Pure helpers; the exec server (server.ts) does the I/O.
 */
import { createHash } from "node:crypto";

/** The GUID RFC 6455 appends to the client's key. */
const HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Frame opcodes used here. */
export const OPCODE = { binary: 0x2, close: 0x8 } as const;

/** Sec-WebSocket-Accept for the client's Sec-WebSocket-Key. */
export function acceptKey(clientKey: string): string {
  return createHash("sha1").update(clientKey + HANDSHAKE_GUID).digest("base64");
}

/** The 101 answer that accepts the upgrade with `protocol`. */
export function handshakeResponse(clientKey: string, protocol: string): string {
  return [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${acceptKey(clientKey)}`,
    `Sec-WebSocket-Protocol: ${protocol}`,
    "",
    "",
  ].join("\r\n");
}

/** One final, unmasked frame (servers never mask). */
export function frame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (n >= 126 && n < 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else if (n >= 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/** A close frame with a status code (1000: normal closure). */
export function closeFrame(code = 1000): Buffer {
  const body = Buffer.alloc(2);
  body.writeUInt16BE(code, 0);
  return frame(OPCODE.close, body);
}

/** The opcode of the first complete frame in `data`, or undefined when none is complete yet. */
export function firstOpcode(data: Buffer): number | undefined {
  if (data.length < 2) return undefined;
  return data[0] & 0x0f;
}
