/**
 * The sandbox, as the rest of downtime uses it: local servers (a provider per kind), the endpoint proxy and
 * DNS, the blue/green topology and its timed steps, and the background sandbox of `downtime sandbox up`.
 */
export { startServer } from './servers/local-process.js';
export { freePort } from './servers/net.js';
export type { MysqlServer, ServerOptions } from './servers/types.js';
export { startProxy } from './endpoint/proxy.js';
export type { FaultSpec } from './endpoint/proxy.js';
export { startSandbox } from './topology/start.js';
export { DNS_ENDPOINT_NAME, GREEN_DNS_HOST } from './topology/dns-endpoint.js';
export type {
  Sandbox,
  SandboxEvent,
  SandboxSteps,
  StartSandboxOptions,
  SwitchoverOptions,
  UpgradeOptions,
  Topology,
} from './topology/types.js';
export { connectSandbox } from './background/connect.js';
export { sandboxDown, sandboxStatus, sandboxUp } from './background/lifecycle.js';
export { DEFAULT_STATE_DIR, readState } from './background/state.js';
export type { SandboxState } from './background/state.js';
