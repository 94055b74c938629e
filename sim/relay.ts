/**
 * A TCP relay: each connection accepted on one address is joined to a new connection to
 * another. The fleet uses two per control-plane host so that, inside the host, the Kubernetes
 * API answers on https://127.0.0.1:6443 as on a real k3s server, while the real API server
 * listens on the machine's loopback only: one relay inside the host (its loopback → the root
 * side of its veth), one in the fleet (the root side of the veth → the API server); likewise
 * the kubelet's port on the host's address. TLS passes through untouched. Run as a program
 * inside the host, with one or more forwards:
 *
 *   node relay.js 127.0.0.1:6443=10.x.y.1:6443 10.x.y.2:10250=10.x.y.1:10250
 *
 * It prints "listening" once it accepts connections.
 */
import * as net from "node:net";

/** One end of a relay. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** Listens on `from` and joins every connection to a new one to `to`; resolves once it listens. */
export function relay(from: Endpoint, to: Endpoint): Promise<net.Server> {
  const server = net.createServer((inbound) => {
    const outbound = net.connect(to.port, to.host);
    // Either side closing or failing ends both: the client sees the refusal as a reset.
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", end).on("close", end);
    outbound.on("error", end).on("close", end);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(from.port, from.host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

/** "HOST:PORT=HOST:PORT" → the pair it names; throws on anything else. */
export function forwardOf(arg: string): { from: Endpoint; to: Endpoint } {
  const m = /^([^:=]+):(\d+)=([^:=]+):(\d+)$/.exec(arg);
  const port = (p: string) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new Error(`relay: ${arg}: ${p} is not a port`);
    return n;
  };
  if (m === null) throw new Error(`relay: ${JSON.stringify(arg)} is not LISTEN_HOST:PORT=TARGET_HOST:PORT`);
  return { from: { host: m[1], port: port(m[2]) }, to: { host: m[3], port: port(m[4]) } };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  try {
    if (args.length === 0) throw new Error("usage: relay.js LISTEN_HOST:PORT=TARGET_HOST:PORT...");
    const forwards = args.map(forwardOf);
    Promise.all(forwards.map((f) => relay(f.from, f.to).catch((e: unknown) => Promise.reject(new Error(`cannot listen on ${f.from.host}:${f.from.port}: ${(e as Error).message}`))))).then(
      () => process.stdout.write("listening\n"),
      (e: unknown) => {
        process.stderr.write(`relay: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
}
