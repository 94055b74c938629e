/**
 * A TCP relay: each connection accepted on one address is joined to a new connection to
 * another. The fleet uses two per control-plane host so that, inside the host, the Kubernetes
 * API answers on https://127.0.0.1:6443 as on a real k3s server, while the real API server
 * listens on the machine's loopback only: one relay inside the host (its loopback → the root
 * side of its veth), one in the fleet (the root side of the veth → the API server). TLS passes
 * through untouched. Run as a program inside the host:
 *
 *   node relay.js LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT
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

function endpointOf(host: string | undefined, port: string | undefined): Endpoint {
  const n = Number(port);
  if (host === undefined || host === "" || !Number.isInteger(n) || n <= 0 || n > 65535) {
    throw new Error("usage: relay.js LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT");
  }
  return { host, port: n };
}

if (require.main === module) {
  const [lh, lp, th, tp] = process.argv.slice(2);
  try {
    const from = endpointOf(lh, lp);
    const to = endpointOf(th, tp);
    relay(from, to).then(
      () => process.stdout.write("listening\n"),
      (e: unknown) => {
        process.stderr.write(`relay: cannot listen on ${from.host}:${from.port}: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
}
