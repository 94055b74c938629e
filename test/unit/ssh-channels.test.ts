/**
 * How a session uses its channels: never more than MAX_CHANNELS at once (sshd's MaxSessions
 * refuses the rest), and a channel refused by policy is asked for again. The ssh2 client is a
 * stand-in that opens channels as sshd would, counting them.
 */
import * as assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Client, ClientChannel } from "ssh2";
import { MAX_CHANNELS, SshSession } from "../../lib/host/ssh-session";

/** A channel that prints the command's name and exits 0 after `ms`. */
function fakeChannel(command: string, ms: number, closed: () => void): ClientChannel {
  const ch = new EventEmitter() as EventEmitter & { stderr: EventEmitter; end(): void; close(): void; signal(): void };
  ch.stderr = new EventEmitter();
  ch.end = () => undefined;
  ch.signal = () => undefined;
  ch.close = () => undefined;
  setTimeout(() => {
    ch.emit("data", Buffer.from(`${command}\n`));
    ch.emit("exit", 0);
    closed();
    ch.emit("close");
  }, ms);
  return ch as unknown as ClientChannel;
}

/** An ssh2 Client stand-in whose server allows `maxSessions` open channels and refuses more by policy. */
function fakeClient(maxSessions: number, refuseFirst = 0) {
  const stats = { open: 0, peak: 0, refused: 0 };
  let toRefuse = refuseFirst;
  const client = new EventEmitter() as EventEmitter & { exec: (command: string, cb: (err: Error | undefined, ch: ClientChannel) => void) => void };
  client.exec = (command, cb) => {
    setImmediate(() => {
      if (stats.open >= maxSessions || toRefuse > 0) {
        toRefuse = Math.max(0, toRefuse - 1);
        stats.refused++;
        cb(Object.assign(new Error("(SSH) Channel open failure: open failed"), { reason: 1 }), undefined as unknown as ClientChannel);
        return;
      }
      stats.open++;
      stats.peak = Math.max(stats.peak, stats.open);
      cb(undefined, fakeChannel(command, 20, () => stats.open--));
    });
  };
  return { client: client as unknown as Client, stats };
}

describe("an SSH session's channels", () => {
  it("opens at most MAX_CHANNELS at once, whatever its callers ask, and runs every command", async () => {
    // OpenSSH servers hardened to two sessions per connection.
    const { client, stats } = fakeClient(2);
    const session = new SshSession("srv2", "10.0.0.2:22", client, "");
    const results = await Promise.all(["a", "b", "c", "d", "e", "f"].map((c) => session.exec(c)));
    assert.deepEqual(results.map((r) => r.stdout.trim()), ["a", "b", "c", "d", "e", "f"]);
    assert.ok(stats.peak <= MAX_CHANNELS && MAX_CHANNELS <= 2, `peak ${stats.peak} of ${MAX_CHANNELS}`);
    assert.equal(stats.refused, 0);
  });

  it("asks again for a channel sshd refused by policy, which it frees a moment after a close", async () => {
    const { client, stats } = fakeClient(MAX_CHANNELS, 3);
    const session = new SshSession("srv2", "10.0.0.2:22", client, "");
    const r = await session.exec("uptime");
    assert.equal(r.stdout.trim(), "uptime");
    assert.equal(stats.refused, 3);
  });

  it("gives up with the refusal when sshd keeps refusing", async () => {
    const { client } = fakeClient(0);
    const session = new SshSession("srv2", "10.0.0.2:22", client, "");
    await assert.rejects(session.exec("uptime"), /srv2: could not start `uptime` on 10\.0\.0\.2:22: \(SSH\) Channel open failure: open failed/);
  });
});
