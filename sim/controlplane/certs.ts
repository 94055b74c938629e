/**
 * The control plane's certificates, made with the openssl CLI: one CA, serving certificates for
 * kube-apiserver, the loopback-only components and the simulated kubelets, client certificates
 * for each identity (the admin in group system:masters, the controller manager, the scheduler,
 * the API server towards etcd and towards the kubelets) and the service-account signing key pair. Which certificates exist and what
 * they say is decided by the pure certificatePlan(); ensureCertificates() only carries it out.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import * as path from "node:path";
import { CONTROL_PLANE_DEFAULTS } from "./options";

/** The leaf certificates of a control plane. */
export const CERT_NAMES = [
  "apiserver",
  "loopback-serving",
  "kubelet-serving",
  "apiserver-etcd-client",
  "apiserver-kubelet-client",
  "admin",
  "controller-manager",
  "scheduler",
] as const;

/** One leaf certificate's name. */
export type CertName = (typeof CERT_NAMES)[number];

/** Whether a certificate proves a server's name or a client's identity. */
export type CertUsage = "server" | "client";

/** What one leaf certificate says. */
export interface CertSpec {
  readonly name: CertName;
  readonly usage: CertUsage;
  /** The user name Kubernetes (and etcd) see. */
  readonly commonName: string;
  /** Groups (O=) of a client certificate. */
  readonly organizations: readonly string[];
  /** subjectAltName entries of a server certificate ("IP:127.0.0.1", "DNS:localhost"). */
  readonly sans: readonly string[];
}

/** Files of the certificates under a folder. */
export interface CertPaths {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  /** Service-account token signing key (private) and its public half. */
  readonly saKey: string;
  readonly saPub: string;
  cert(name: CertName): string;
  key(name: CertName): string;
}

/** Where the certificates live inside `dir`. */
export function certPaths(dir: string): CertPaths {
  return {
    dir,
    caCert: path.join(dir, "ca.crt"),
    caKey: path.join(dir, "ca.key"),
    saKey: path.join(dir, "sa.key"),
    saPub: path.join(dir, "sa.pub"),
    cert: (name) => path.join(dir, `${name}.crt`),
    key: (name) => path.join(dir, `${name}.key`),
  };
}

/** "IP:addr" for an IP address, "DNS:name" for a host name; throws on anything else. */
export function sanEntry(address: string): string {
  const a = address.trim();
  if (isIP(a) !== 0) return `IP:${a}`;
  if (/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(a)) return `DNS:${a}`;
  throw new Error(`control plane option extraSans: ${JSON.stringify(address)} is neither an IP address nor a DNS name`);
}

const LOOPBACK_SANS = ["IP:127.0.0.1", "DNS:localhost"];

/** The names in-cluster clients use for the API server, as kubeadm puts them in its certificate. */
const KUBERNETES_SERVICE_NAMES = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"];

/** Every leaf certificate of a control plane whose API server is also reached at `extraSans`. */
export function certificatePlan(extraSans: readonly string[] = []): CertSpec[] {
  const apiserverSans = [
    ...LOOPBACK_SANS,
    `IP:${CONTROL_PLANE_DEFAULTS.kubernetesServiceIp}`,
    ...KUBERNETES_SERVICE_NAMES.map((n) => `DNS:${n}`),
    ...extraSans.map(sanEntry),
  ];
  const client = (name: CertName, commonName: string, organizations: readonly string[] = []): CertSpec => ({
    name,
    usage: "client",
    commonName,
    organizations,
    sans: [],
  });
  return [
    { name: "apiserver", usage: "server", commonName: "kube-apiserver", organizations: [], sans: [...new Set(apiserverSans)] },
    // etcd and the scheduler listen on loopback only; one certificate serves both.
    { name: "loopback-serving", usage: "server", commonName: "nixos-fleet-sim-loopback", organizations: [], sans: LOOPBACK_SANS },
    // The simulated kubelets' API (exec); kube-apiserver does not check it without --kubelet-certificate-authority, as in k3s.
    { name: "kubelet-serving", usage: "server", commonName: "nixos-fleet-sim-kubelet", organizations: [], sans: LOOPBACK_SANS },
    client("apiserver-etcd-client", "kube-apiserver-etcd-client"),
    // What kube-apiserver shows the kubelets when it proxies exec to them.
    client("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ["system:masters"]),
    client("admin", CONTROL_PLANE_DEFAULTS.adminUser, ["system:masters"]),
    // The user names the RBAC bootstrap policy binds its system:kube-* roles to.
    client("controller-manager", "system:kube-controller-manager"),
    client("scheduler", "system:kube-scheduler"),
  ];
}

/** The openssl -subj argument of a certificate. */
export function subjectOf(spec: CertSpec): string {
  const escape = (v: string) => v.replace(/([/\\=+,])/g, "\\$1");
  return [...spec.organizations.map((o) => `/O=${escape(o)}`), `/CN=${escape(spec.commonName)}`].join("");
}

/** The openssl extension file (x509 -extfile) of a certificate. */
export function extensionsOf(spec: CertSpec): string {
  const lines = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${spec.usage === "server" ? "serverAuth" : "clientAuth"}`,
  ];
  if (spec.sans.length > 0) lines.push(`subjectAltName=${spec.sans.join(",")}`);
  return lines.join("\n") + "\n";
}

/** Runs openssl; rejects naming the command, its exit code and its output tail. */
function openssl(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      const code = (err as NodeJS.ErrnoException).code;
      const tail = String(stderr).trim().split("\n").slice(-5).join("\n");
      reject(
        new Error(
          `control plane certificates: \`openssl ${args.join(" ")}\` failed (exit ${String(code ?? "unknown")}): ` +
            `${tail || err.message}. Is the openssl CLI installed (scripts/setup.sh installs it)?`,
        ),
      );
    });
  });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A positive 128-bit serial, so reissued certificates never repeat one. */
function serial(): string {
  return `0x${randomBytes(16).toString("hex").replace(/^[89a-f]/, "1")}`;
}

async function issue(p: CertPaths, spec: CertSpec): Promise<void> {
  const csr = `${p.cert(spec.name)}.csr`;
  const ext = `${p.cert(spec.name)}.ext`;
  try {
    await writeFile(ext, extensionsOf(spec));
    await openssl(["req", "-new", ...EC_KEY, "-keyout", p.key(spec.name), "-out", csr, "-subj", subjectOf(spec)]);
    await openssl(["x509", "-req", "-in", csr, "-CA", p.caCert, "-CAkey", p.caKey, "-set_serial", serial(),
      "-days", "825", "-out", p.cert(spec.name), "-extfile", ext]);
    await chmod(p.key(spec.name), 0o600);
  } finally {
    await rm(csr, { force: true });
    await rm(ext, { force: true });
  }
}

/**
 * Makes the certificates in `dir`. The CA and the service-account key pair are kept when they
 * exist, so kubeconfigs and tokens handed out by an earlier start of the same data stay valid;
 * every leaf certificate is issued anew, since the addresses it names may have changed.
 */
export async function ensureCertificates(dir: string, plan: readonly CertSpec[]): Promise<CertPaths> {
  const p = certPaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(p.caKey) || !existsSync(p.caCert)) {
    await openssl(["req", "-x509", "-new", ...EC_KEY, "-keyout", p.caKey, "-out", p.caCert, "-days", "3650",
      "-subj", "/CN=nixos-fleet-sim-ca", "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"]);
    await chmod(p.caKey, 0o600);
  }
  if (!existsSync(p.saKey) || !existsSync(p.saPub)) {
    await openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p.saKey]);
    await openssl(["pkey", "-in", p.saKey, "-pubout", "-out", p.saPub]);
    await chmod(p.saKey, 0o600);
  }
  await Promise.all(plan.map((spec) => issue(p, spec)));
  return p;
}
