/**
 * Kubeconfigs of the control plane: the admin's (certificates embedded, so the file stands on
 * its own when copied) and those of the controller manager and the scheduler (pointing at
 * files in the data folder). Rendering is pure; writeKubeconfig() writes with mode 0600.
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { stringify } from "yaml";
import { CONTROL_PLANE_DEFAULTS } from "./options";

/** How a client is told to reach and trust the API server and who it is. */
export type KubeconfigCredentials =
  | { readonly kind: "embedded"; readonly caPem: string; readonly certPem: string; readonly keyPem: string }
  | { readonly kind: "files"; readonly caFile: string; readonly certFile: string; readonly keyFile: string };

/** The YAML of a kubeconfig with one cluster, one user and one current context. */
export function renderKubeconfig(server: string, user: string, creds: KubeconfigCredentials): string {
  const cluster = CONTROL_PLANE_DEFAULTS.clusterName;
  const b64 = (pem: string) => Buffer.from(pem).toString("base64");
  const clusterEntry =
    creds.kind === "embedded"
      ? { server, "certificate-authority-data": b64(creds.caPem) }
      : { server, "certificate-authority": creds.caFile };
  const userEntry =
    creds.kind === "embedded"
      ? { "client-certificate-data": b64(creds.certPem), "client-key-data": b64(creds.keyPem) }
      : { "client-certificate": creds.certFile, "client-key": creds.keyFile };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: clusterEntry }],
    users: [{ name: user, user: userEntry }],
    contexts: [{ name: cluster, context: { cluster, user } }],
    "current-context": cluster,
    preferences: {},
  });
}

/** Writes a kubeconfig (creating its folder), readable by its owner only. */
export async function writeKubeconfig(file: string, yaml: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, yaml, { mode: 0o600 });
  await chmod(file, 0o600);
}
