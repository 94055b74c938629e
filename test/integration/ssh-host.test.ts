/**
 * lib/host/ssh.ts against the machine's real OpenSSH sshd, running in a network namespace of
 * its own (needs root, sshd, ip, nsenter, unshare).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HostConnectionError, HostKeyMismatchError, type Host } from "../../lib/host/host";
import { fingerprint, parsePublicKeyLine } from "../../lib/host/keys";
import { sshConnector, type SshConnectorOptions } from "../../lib/host/ssh";
import { CommandTimeoutError } from "../../lib/host/ssh-exec";
import { utils } from "ssh2";
import { setHostLink } from "../../sim/netns";
import { startBareSshd, type BareSshd } from "./helpers/bare-sshd";

/** Active handles of a kind (sockets, timers), to notice leaks. */
function handles(kind: string): number {
  return process.getActiveResourcesInfo().filter((r) => r === kind).length;
}

describe("SSH host (lib/host/ssh.ts) against a real sshd", function () {
  let dir: string;
  let sshd: BareSshd;
  const open: Host[] = [];

  const options = (over: Partial<SshConnectorOptions> = {}): SshConnectorOptions => ({
    name: "bare",
    address: sshd.address,
    port: sshd.port,
    user: "root",
    privateKey: sshd.clientKey,
    hostKey: sshd.hostKey,
    trustOnFirstUse: false,
    ...over,
  });
  const connect = async (over: Partial<SshConnectorOptions> = {}, timeoutMs = 5000): Promise<Host> => {
    const h = await sshConnector(options(over)).connect(timeoutMs);
    open.push(h);
    return h;
  };

  before(async function () {
    assert.equal(process.getuid?.(), 0, "this test needs root (network namespaces and sshd)");
    assert.ok(fs.existsSync("/usr/sbin/sshd"), "this test needs OpenSSH's sshd at /usr/sbin/sshd");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-ssh-"));
    sshd = await startBareSshd(dir);
  });

  afterEach(async function () {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });

  after(async function () {
    try {
      if (sshd) await sshd.stop();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs commands: stdout, stderr, exit codes, signals, stdin and streamed output", async function () {
    const h = await connect();
    const r = await h.exec("echo out; echo err >&2; exit 3");
    assert.deepEqual(r, { code: 3, stdout: "out\n", stderr: "err\n" });
    assert.equal((await h.exec("true")).code, 0);
    const killed = await h.exec("kill -TERM $$");
    assert.equal(killed.code, null);
    assert.match(killed.signal ?? "", /TERM/);
    const input = Buffer.from([0, 1, 2, 255, 10]);
    const echoed = await h.exec("od -An -tu1", { stdin: input });
    assert.equal(echoed.stdout.trim().split(/\s+/).join(" "), "0 1 2 255 10");
    assert.equal((await h.exec("cat", { stdin: "héllo\n" })).stdout, "héllo\n");
    assert.equal((await h.exec("cat")).stdout, "", "without stdin the command reads end-of-file at once");
    const chunks: string[] = [];
    await h.exec("for i in 1 2 3; do echo line$i; sleep 0.05; done; echo e >&2", { onOutput: (c) => chunks.push(c) });
    assert.equal(chunks.join("").replace(/\n/g, " ").trim().split(" ").sort().join(" "), "e line1 line2 line3");
    assert.ok(chunks.length >= 2, "output arrives in several chunks as it is printed");
  });

  it("runs several commands at once on one session", async function () {
    const h = await connect();
    const results = await Promise.all([1, 2, 3, 4].map((i) => h.exec(`sleep 0.2; echo ${i}`)));
    assert.deepEqual(results.map((r) => r.stdout.trim()), ["1", "2", "3", "4"]);
  });

  it("gives up on a command at its deadline, names it, and keeps the session usable", async function () {
    const h = await connect();
    const t0 = Date.now();
    await assert.rejects(h.exec("sleep 30; echo late", { timeoutMs: 400 }), (e: unknown) => {
      assert.ok(e instanceof CommandTimeoutError, String(e));
      assert.match(e.message, /sleep 30; echo late/);
      assert.match(e.message, /400 ms/);
      return true;
    });
    const took = Date.now() - t0;
    assert.ok(took >= 390 && took < 3000, `rejected after ${took} ms`);
    assert.equal((await h.exec("echo still here")).stdout, "still here\n");
  });

  it("accepts the pinned host key and exposes it", async function () {
    const connector = sshConnector(options());
    const h = await connector.connect(5000);
    open.push(h);
    assert.equal(connector.presentedHostKey, sshd.hostKey.split(" ").slice(0, 2).join(" "));
  });

  it("refuses a host presenting another key with HostKeyMismatchError naming both fingerprints, and does not retry", async function () {
    const before = sshd.log().filter((l) => l.startsWith("Connection from")).length;
    const wrong = sshd.otherHostKey;
    await assert.rejects(connect({ hostKey: wrong }), (e: unknown) => {
      assert.ok(e instanceof HostKeyMismatchError, String(e));
      assert.ok(e.message.includes(fingerprint(parsePublicKeyLine(wrong).blob)), e.message);
      assert.ok(e.message.includes(fingerprint(parsePublicKeyLine(sshd.hostKey).blob)), e.message);
      assert.match(e.message, new RegExp(sshd.address.replace(/\./g, "\\.")));
      return true;
    });
    await new Promise((r) => setTimeout(r, 300));
    const after = sshd.log().filter((l) => l.startsWith("Connection from")).length;
    assert.equal(after - before, 1, "exactly one connection attempt reached sshd");
    assert.ok(!sshd.log().slice(-5).some((l) => l.startsWith("Accepted publickey")), "no login happened with the wrong key");
  });

  it("trusts on first use when no key is pinned and exposes the presented key", async function () {
    const connector = sshConnector(options({ hostKey: "", trustOnFirstUse: true }));
    const h = await connector.connect(5000);
    open.push(h);
    assert.equal(connector.presentedHostKey, sshd.hostKey.split(" ").slice(0, 2).join(" "));
    assert.equal((await h.exec("echo ok")).stdout, "ok\n");
  });

  it("pins the key trusted on first use, refuses another one trusted earlier, and lets the inventory's key win", async function () {
    const presented = sshd.hostKey.split(" ").slice(0, 2).join(" ");
    const connector = sshConnector(options({ hostKey: "", trustOnFirstUse: true }));
    assert.equal(connector.pinnedHostKey, "");
    open.push(await connector.connect(5000));
    assert.equal(connector.pinnedHostKey, presented);
    open.push(await connector.connect(5000));
    // A key trusted in an earlier run that this host no longer presents: refused like a pinned one.
    await assert.rejects(connect({ hostKey: "", trustOnFirstUse: true, trustedHostKey: sshd.otherHostKey }), (e: unknown) => {
      assert.ok(e instanceof HostKeyMismatchError, String(e));
      assert.ok(e.message.includes(fingerprint(parsePublicKeyLine(sshd.otherHostKey).blob)), e.message);
      return true;
    });
    const winning = sshConnector(options({ trustOnFirstUse: true, trustedHostKey: sshd.otherHostKey }));
    open.push(await winning.connect(5000));
    assert.equal(winning.pinnedHostKey, presented);
  });

  it("logs in with the previous private key when the host refuses the new one, and says so once", async function () {
    const fresh = utils.generateKeyPairSync("ed25519").private;
    await assert.rejects(connect({ privateKey: fresh }), /authentication as root failed: the host does not accept the configured private key/);
    const notices: string[] = [];
    const connector = sshConnector(options({ privateKey: fresh, previousPrivateKey: sshd.clientKey, notice: (l) => notices.push(l) }));
    open.push(await connector.connect(5000));
    assert.equal(connector.usedPreviousKey, true);
    assert.equal(connector.movedToNewKey, false, "still on the previous key");
    open.push(await connector.connect(5000));
    assert.deepEqual(notices, ["bare: the host does not accept the new SSH private key yet; logged in with the previous one until the new configuration authorizes the new key"]);
    const current = sshConnector(options({ previousPrivateKey: fresh }));
    open.push(await current.connect(5000));
    assert.equal(current.usedPreviousKey, false);
    assert.equal(current.movedToNewKey, false, "it never needed the previous key");
  });

  it("rejects before connecting when no key is pinned and trust on first use is off, or a key is garbage", function () {
    assert.throws(() => sshConnector(options({ hostKey: "" })), /no SSH host key is pinned/);
    assert.throws(() => sshConnector(options({ hostKey: "ssh-ed25519 not-base64!" })), /bare: hostKey/);
    assert.throws(() => sshConnector(options({ hostKey: "ssh-rsa " + parsePublicKeyLine(sshd.hostKey).blob.toString("base64") })), /says ssh-rsa but the key data is ssh-ed25519/);
    assert.throws(() => sshConnector(options({ privateKey: "not a key" })), /bare: the SSH private key cannot be used/);
  });

  it("reports a refused port as a HostConnectionError naming the address and the cause", async function () {
    await assert.rejects(connect({ port: 2222 }, 3000), (e: unknown) => {
      assert.ok(e instanceof HostConnectionError, String(e));
      assert.match(e.message, new RegExp(`${sshd.address.replace(/\./g, "\\.")}:2222`));
      assert.match(e.message, /refused/);
      return true;
    });
  });

  it("reports an unreachable host within the connect deadline", async function () {
    await setHostLink(sshd.net, false);
    try {
      const t0 = Date.now();
      await assert.rejects(connect({}, 1500), (e: unknown) => {
        assert.ok(e instanceof HostConnectionError, String(e));
        assert.match(e.message, /timed out|unreachable/);
        return true;
      });
      assert.ok(Date.now() - t0 < 4000, `gave up after ${Date.now() - t0} ms`);
    } finally {
      await setHostLink(sshd.net, true);
    }
  });

  it("turns a connection dropped mid-command into HostConnectionError", async function () {
    const h = await connect();
    let rejectedAt = 0;
    const dropped = assert.rejects(h.exec("echo started; sleep 20"), (e: unknown) => {
      rejectedAt = Date.now();
      assert.ok(e instanceof HostConnectionError, String(e));
      assert.match(e.message, /sleep 20/);
      return true;
    });
    await new Promise((r) => setTimeout(r, 400));
    const t0 = Date.now();
    assert.ok((await sshd.dropSessions()) >= 1, "sshd had session processes to kill");
    await dropped;
    assert.ok(rejectedAt - t0 < 3000, `rejected ${rejectedAt - t0} ms after the drop`);
    await assert.rejects(h.exec("true"), HostConnectionError);
  });

  it("closes idempotently without leaking sockets or timers", async function () {
    // Measured after a turn of the event loop, once the test runner has armed its own timer.
    await new Promise((r) => setTimeout(r, 10));
    const sockets = handles("TCPSocketWrap");
    const timers = handles("Timeout");
    const h = await sshConnector(options()).connect(5000);
    await h.exec("true");
    await h.close();
    await h.close();
    await assert.rejects(h.exec("true"), /session was closed/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(handles("TCPSocketWrap"), sockets, "no socket left open");
    assert.equal(handles("Timeout"), timers, "no timer left running");
  });

  it("fails a connect cleanly (no leaked socket) when the key does not match", async function () {
    const sockets = handles("TCPSocketWrap");
    await assert.rejects(sshConnector(options({ hostKey: sshd.otherHostKey })).connect(5000), HostKeyMismatchError);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(handles("TCPSocketWrap"), sockets);
  });
});
