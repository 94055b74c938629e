/**
 * The command lines of the control plane's processes, from its layout, ports and options.
 * Pure, so what each component is told can be checked without starting it.
 */
import type { Layout, Ports } from "./layout";
import { loopbackUrl } from "./layout";
import { type Component, CONTROL_PLANE_DEFAULTS, type NodeLifecycle } from "./options";

/** Everything the command lines depend on. */
export interface ArgsInput {
  readonly layout: Layout;
  readonly ports: Ports;
  readonly nodeLifecycle: NodeLifecycle;
  /** Address every component binds to. */
  readonly listenAddress: string;
  /** When set, kube-apiserver writes audit events of the policy at `policyFile` to `logFile`. */
  readonly audit?: { readonly policyFile: string; readonly logFile: string };
}

const ETCD_MEMBER = "fleet-etcd";

/** The service-account token issuer, the name in-cluster clients know the API server by. */
export const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

function peerUrl(i: ArgsInput): string {
  // Plain HTTP: a single member has no peers to talk to.
  return `http://${i.listenAddress}:${i.ports.etcdPeer}`;
}

/** etcd: one member, TLS with client certificates on the client port. */
export function etcdArgs(i: ArgsInput): string[] {
  const c = i.layout.certs;
  const client = loopbackUrl(i.listenAddress, i.ports.etcdClient);
  return [
    `--name=${ETCD_MEMBER}`,
    `--data-dir=${i.layout.etcdDataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peerUrl(i)}`,
    `--initial-advertise-peer-urls=${peerUrl(i)}`,
    `--initial-cluster=${ETCD_MEMBER}=${peerUrl(i)}`,
    `--cert-file=${c.cert("loopback-serving")}`,
    `--key-file=${c.key("loopback-serving")}`,
    "--client-cert-auth=true",
    `--trusted-ca-file=${c.caCert}`,
    "--log-level=warn",
  ];
}

/**
 * kube-apiserver: client-certificate authentication, Node and RBAC authorization, signed
 * service-account tokens. The endpoint reconciler is off: it refuses a loopback advertise
 * address for the `kubernetes` Service's endpoints, and nothing here runs pods that would use it.
 */
export function apiserverArgs(i: ArgsInput): string[] {
  const c = i.layout.certs;
  return [
    `--advertise-address=${i.listenAddress}`,
    `--bind-address=${i.listenAddress}`,
    `--secure-port=${i.ports.apiserver}`,
    `--etcd-servers=${loopbackUrl(i.listenAddress, i.ports.etcdClient)}`,
    `--etcd-cafile=${c.caCert}`,
    `--etcd-certfile=${c.cert("apiserver-etcd-client")}`,
    `--etcd-keyfile=${c.key("apiserver-etcd-client")}`,
    `--client-ca-file=${c.caCert}`,
    `--tls-cert-file=${c.cert("apiserver")}`,
    `--tls-private-key-file=${c.key("apiserver")}`,
    "--authorization-mode=Node,RBAC",
    "--enable-admission-plugins=NodeRestriction",
    "--allow-privileged=true",
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${c.saPub}`,
    `--service-account-signing-key-file=${c.saKey}`,
    `--service-cluster-ip-range=${CONTROL_PLANE_DEFAULTS.serviceClusterIpRange}`,
    "--endpoint-reconciler-type=none",
    // Towards the kubelets (exec): its own client certificate, and the Nodes' InternalIP first, as k3s sets it.
    `--kubelet-client-certificate=${c.cert("apiserver-kubelet-client")}`,
    `--kubelet-client-key=${c.key("apiserver-kubelet-client")}`,
    "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
    "--profiling=false",
    ...auditArgs(i),
  ];
}

/**
 * The audit log: one JSON event per line, written before the response in blocking mode, never
 * rotated (a fleet's log stays small: the policy logs only what a drain or an operator does).
 */
function auditArgs(i: ArgsInput): string[] {
  if (i.audit === undefined) return [];
  return [
    `--audit-policy-file=${i.audit.policyFile}`,
    `--audit-log-path=${i.audit.logFile}`,
    "--audit-log-format=json",
    "--audit-log-mode=blocking",
    "--audit-log-maxsize=0",
    "--audit-log-maxbackup=0",
  ];
}

/**
 * kube-controller-manager: every default controller, each with its own service account, the
 * node lifecycle timings of the options, and no HTTPS port (nothing reads its health; the
 * default ServiceAccount it creates shows that it works). One instance: no leader election.
 */
export function controllerManagerArgs(i: ArgsInput): string[] {
  const c = i.layout.certs;
  return [
    `--kubeconfig=${i.layout.controllerManagerKubeconfig}`,
    `--bind-address=${i.listenAddress}`,
    "--secure-port=0",
    "--leader-elect=false",
    "--use-service-account-credentials=true",
    `--service-account-private-key-file=${c.saKey}`,
    `--root-ca-file=${c.caCert}`,
    `--cluster-signing-cert-file=${c.caCert}`,
    `--cluster-signing-key-file=${c.caKey}`,
    `--cluster-name=${CONTROL_PLANE_DEFAULTS.clusterName}`,
    `--node-monitor-grace-period=${i.nodeLifecycle.gracePeriodSeconds}s`,
    `--node-monitor-period=${i.nodeLifecycle.periodSeconds}s`,
    "--profiling=false",
  ];
}

/** kube-scheduler: its own identity, /readyz on a loopback port with our serving certificate. */
export function schedulerArgs(i: ArgsInput): string[] {
  const c = i.layout.certs;
  return [
    `--kubeconfig=${i.layout.schedulerKubeconfig}`,
    `--authentication-kubeconfig=${i.layout.schedulerKubeconfig}`,
    `--authorization-kubeconfig=${i.layout.schedulerKubeconfig}`,
    `--bind-address=${i.listenAddress}`,
    `--secure-port=${i.ports.scheduler}`,
    `--tls-cert-file=${c.cert("loopback-serving")}`,
    `--tls-private-key-file=${c.key("loopback-serving")}`,
    "--leader-elect=false",
    "--profiling=false",
  ];
}

/** The arguments of one component. */
export function argsOf(component: Component, i: ArgsInput): string[] {
  switch (component) {
    case "etcd":
      return etcdArgs(i);
    case "kube-apiserver":
      return apiserverArgs(i);
    case "kube-controller-manager":
      return controllerManagerArgs(i);
    case "kube-scheduler":
      return schedulerArgs(i);
  }
}
