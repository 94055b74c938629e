/**
 * The control protocol between programs running on a simulated host (nixos-rebuild, systemctl,
 * reboot...) and the fleet process that plays the hardware, the hypervisor and the network.
 * HTTP/1.1 with JSON bodies over the Unix socket named in fleet.json (controlSocket) and in
 * each SSH session's environment (ENV.control). A Unix socket in the filesystem is reachable
 * from every network namespace, which is why the hosts use it.
 *
 *   POST /hosts/{name}/events   body: { kind: TimelineKind, detail?: object }  → 204
 *        appends one event to the timeline (the fleet stamps the time).
 *   POST /hosts/{name}/reboot   body: {}  → 202
 *        the host's power button: the fleet answers first, then within ~200 ms drops every
 *        SSH session of the host, takes it down, and boots it into the boot default.
 *   POST /hosts/{name}/drop-sessions  body: {}  → 204
 *        kills every SSH session of the host (sshd keeps listening): a network blip.
 *   POST /hosts/{name}/services  body: { system: string }  → 204
 *        switch-to-configuration activated `system`, or systemctl started or stopped one of its
 *        units by hand (/run/nixos-sim/stopped-units/); answers once the daemons the fleet runs
 *        for the host (sshd) follow its configuration and those units (systemd restarting,
 *        stopping or starting sshd.service).
 *   GET  /hosts/{name}/faults   → 200 { faults: FaultName[] }
 *   PUT  /hosts/{name}/faults   body: { fault: FaultName, on: boolean } → 200 { faults: FaultName[] }
 *   GET  /fleet                 → 200 FleetJson
 *   GET  /timeline              → 200 { events: TimelineEvent[] }
 *   POST /down                  → 202, then the fleet stops everything and cleans up.
 * Errors: 4xx/5xx with { error: string }.
 */
import type { FaultName, TimelineKind } from "./types";

export interface EventBody {
  readonly kind: TimelineKind;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface FaultBody {
  readonly fault: FaultName;
  readonly on: boolean;
}

/**
 * The boot loader of a simulated host follows systemd-boot's layout under /boot:
 *   /boot/loader/loader.conf           "default nixos-generation-<N>.conf"
 *   /boot/loader/entries/nixos-generation-<N>.conf with lines
 *       title NixOS
 *       version Generation <N> ...
 *       linux <kernel store path>
 *       initrd <initrd store path>
 *       options init=<system store path>/init <kernel params>
 * At boot the fleet reads the default entry and boots the system named by init=.
 */
export const LOADER_CONF = "loader/loader.conf";
export const LOADER_ENTRIES = "loader/entries";
