/**
 * The simulated API server's credentials: a CA and a serving certificate made with the openssl
 * CLI, a bearer token, and the kubeconfig that ties them to the server's URL. The CA and token
 * are kept across restarts so kubeconfigs handed out earlier stay valid.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import * as path from "node:path";
import { stringify } from "yaml";

/** Paths under stateDir/kube/. */
export function kubePaths(stateDir: string) {
  const dir = path.join(stateDir, "kube");
  return {
    dir,
    caKey: path.join(dir, "ca.key"),
    caCert: path.join(dir, "ca.crt"),
    serverKey: path.join(dir, "server.key"),
    serverCsr: path.join(dir, "server.csr"),
    serverExt: path.join(dir, "server.ext"),
    serverCert: path.join(dir, "server.crt"),
    token: path.join(dir, "token"),
    kubeconfig: path.join(stateDir, "kubeconfig"),
  };
}

/** PEM texts and the token the server and the kubeconfig share. */
export interface ServingCredentials {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly token: string;
}

function openssl(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      const code = (err as NodeJS.ErrnoException).code;
      const tail = String(stderr).trim().split("\n").slice(-5).join("\n");
      reject(
        new Error(
          `simulated Kubernetes: generating TLS material failed: openssl ${args.join(" ")} ` +
            `(exit ${String(code ?? "unknown")}): ${tail || err.message}. Is the openssl CLI installed and on PATH?`,
        ),
      );
    });
  });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Creates (or reuses) the CA and token, and issues a fresh serving certificate for `host`. */
export async function ensureCredentials(stateDir: string, host: string): Promise<ServingCredentials> {
  const p = kubePaths(stateDir);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  if (!existsSync(p.caKey) || !existsSync(p.caCert)) {
    await openssl(["req", "-x509", "-new", ...EC_KEY, "-keyout", p.caKey, "-out", p.caCert, "-days", "3650",
      "-subj", "/CN=nixos-fleet-sim-ca", "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  }
  if (!existsSync(p.token)) await writeFile(p.token, randomBytes(24).toString("hex") + "\n", { mode: 0o600 });
  const sans = new Set(["IP:127.0.0.1", "DNS:localhost", isIP(host) ? `IP:${host}` : `DNS:${host}`]);
  await writeFile(
    p.serverExt,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=${[...sans].join(",")}`,
      "",
    ].join("\n"),
  );
  await openssl(["req", "-new", ...EC_KEY, "-keyout", p.serverKey, "-out", p.serverCsr, "-subj", "/CN=kube-apiserver"]);
  await openssl(["x509", "-req", "-in", p.serverCsr, "-CA", p.caCert, "-CAkey", p.caKey,
    "-set_serial", `0x${randomBytes(16).toString("hex").replace(/^[89a-f]/, "1")}`,
    "-days", "825", "-out", p.serverCert, "-extfile", p.serverExt]);
  await rm(p.serverCsr, { force: true });
  await chmod(p.caKey, 0o600);
  await chmod(p.serverKey, 0o600);
  const [caPem, certPem, keyPem, token] = await Promise.all(
    [p.caCert, p.serverCert, p.serverKey, p.token].map((f) => readFile(f, "utf8")),
  );
  return { caPem, certPem, keyPem, token: token.trim() };
}

/** Writes stateDir/kubeconfig (mode 0600) for `url` and returns its path. */
export async function writeKubeconfig(stateDir: string, url: string, creds: ServingCredentials): Promise<string> {
  const file = kubePaths(stateDir).kubeconfig;
  const name = "nixos-fleet-sim";
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server: url, "certificate-authority-data": Buffer.from(creds.caPem).toString("base64") } }],
    users: [{ name: "fleet-admin", user: { token: creds.token } }],
    contexts: [{ name, context: { cluster: name, user: "fleet-admin" } }],
    "current-context": name,
    preferences: {},
  };
  await writeFile(file, stringify(config), { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}
