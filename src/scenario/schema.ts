/**
 * The JSON Schema (draft 2020-12) of scenario files, for editors (YAML language server, VS Code) and
 * other tools. The parser (./parse.ts) is the authority: it also checks what a schema cannot say
 * (an action's `at` before the end of `duration`, minimum durations, URL details). The schema shares its
 * patterns, key lists and defaults with the parser, and test/scenario-schema.test.ts checks they agree;
 * docs/scenarios.md embeds JSON.stringify(scenarioSchema, null, 2), also checked by a test.
 */
import { durationText } from './rules.js';
import {
  ACTION_KEYS,
  DNS_SERVER_PATTERN,
  DURATION_PATTERN,
  ENDPOINT_NAME_PATTERN,
  ENV_NAME_PATTERN,
  IDENTIFIER_PATTERN,
  LOAD_KEYS,
  NAME_PATTERN,
  REPORT_KEYS,
  SANDBOX_SERVER_NAMES,
  STEP_OPTION_KEYS,
  THRESHOLD_PATTERN,
  TOP_KEYS,
} from './shape.js';
import {
  CONNECTION_CHOICES,
  FAULT_STEP_KINDS,
  HALF_OPEN_DROPS,
  SANDBOX_KINDS,
  SSL_MODE_VALUES,
  SCENARIO_DEFAULTS as D,
  SCENARIO_LIMITS as L,
  STEPS_NEEDING_REPLICA,
  STEP_NAMES,
  type StepName,
} from './types.js';

/** A URL with a user, a host, a plain database name, and neither a password nor ?options. */
const TARGET_PATTERN = `^\\s*(mysql|mariadb)://[^:@/?#\\s]+@[^/?#@\\s]+/${IDENTIFIER_PATTERN.slice(1, -1)}\\s*$`;
const NOT_BLANK = '\\S';

const duration = (description: string, defaultMs?: number): Record<string, unknown> => ({
  $ref: '#/$defs/duration',
  description,
  ...(defaultMs === undefined ? {} : { default: durationText(defaultMs) }),
});

const text = (description: string): Record<string, unknown> => ({ type: 'string', pattern: NOT_BLANK, description });

const STEP_OPTIONS_SCHEMA: Record<StepName, Record<string, unknown>> = {
  'in-place-upgrade': {
    offline: duration(
      'How long the server stays down, as the offline part of an upgrade would',
      D.inPlaceUpgradeOfflineMs,
    ),
  },
  switchover: {
    maxLag: duration('Switch only once replica lag is at most this', D.switchoverMaxLagMs),
    timeout: duration('Give up (and stay on blue) if the lag does not get there in this time', D.switchoverTimeoutMs),
    blockWrites: duration(
      'Extra time writes stay blocked on blue before connections are dropped (stands for the switchover work RDS does)',
      0,
    ),
    rename: duration(
      'At least this long the endpoint refuses connections (stands for RDS renaming instances and endpoints)',
      0,
    ),
  },
  restart: {},
  kill: {},
  failover: {},
  fault: {
    kind: {
      enum: [...FAULT_STEP_KINDS],
      description:
        'The fault at the endpoint proxy: refuse (port closed), reset (RST), blackhole (bytes swallowed), latency, bandwidth, halfOpen (one direction swallowed)',
    },
    duration: duration('How long the fault lasts'),
    latency: duration('latency only: added to each chunk, both directions'),
    jitter: duration('latency only: ± uniform spread, at most latency', 0),
    bytesPerSec: { type: 'number', minimum: 1, description: 'bandwidth only: bytes per second each way' },
    drop: {
      enum: [...HALF_OPEN_DROPS],
      default: HALF_OPEN_DROPS[0],
      description: 'halfOpen only: the direction whose bytes are swallowed',
    },
  },
};

function keysOf(properties: Record<string, unknown>, expected: readonly string[], where: string): void {
  // The parser's key lists are the truth; a schema property the parser does not know would be a lie.
  const got = Object.keys(properties).join(',');
  if (got !== expected.join(',')) throw new Error(`scenario schema ${where} keys ${got} differ from parser's`);
}

const topProperties = {
  name: {
    type: 'string',
    pattern: NAME_PATTERN,
    description: 'Run label: letters, digits, ".", "_", "-"; used in default output paths',
  },
  description: text('Free text for people'),
  sandbox: {
    description:
      'Start local servers: blue-green (source, replica, endpoint proxy) or single; or {topology, from, to} to rehearse an upgrade from one server version to another. Exclusive with target',
    oneOf: [
      { enum: [...SANDBOX_KINDS] },
      {
        type: 'object',
        additionalProperties: false,
        required: ['topology'],
        properties: {
          topology: { enum: [...SANDBOX_KINDS], description: 'blue-green or single' },
          from: text(
            'The server running now: an image (mariadb:10.11, mysql:8.0), a server directory (/opt/mysql-8.0.40), or path (the binaries on PATH, the default)',
          ),
          to: text(
            'The server to upgrade to (in place, or green of blue/green), the same kinds as from; default: the same as from',
          ),
        },
      },
    ],
  },
  target: {
    type: 'string',
    pattern: TARGET_PATTERN,
    description: 'mysql://USER@HOST:PORT/DATABASE of an existing server, without a password. Exclusive with sandbox',
  },
  greenTarget: {
    type: 'string',
    pattern: TARGET_PATTERN,
    description:
      "mysql://USER@HOST:PORT/DATABASE of green (target's replica), without a password, read with target's credentials: replication lag is measured. Only with target",
  },
  targets: {
    type: 'array',
    minItems: 1,
    description:
      'Several endpoints watched in one run (writer, reader, a proxy; a sandbox: its endpoint, blue, green), each with its own rates; one results file and report each, and a comparison',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: ENDPOINT_NAME_PATTERN, description: 'How files and reports name it' },
        url: {
          type: 'string',
          pattern: TARGET_PATTERN,
          description: "mysql://USER@HOST:PORT/DATABASE without a password, read with target's credentials",
        },
        sandbox: { enum: [...SANDBOX_SERVER_NAMES], description: "A server of the run's sandbox" },
        reads: { type: 'number', minimum: 0, maximum: L.maxRatePerSec, description: 'Its read probes per second' },
        writes: { type: 'number', minimum: 0, maximum: L.maxRatePerSec, description: 'Its write probes per second' },
      },
      oneOf: [{ required: ['url'] }, { required: ['sandbox'] }],
    },
  },
  password: { $ref: '#/$defs/password' },
  tls: {
    type: 'object',
    additionalProperties: false,
    description: "TLS to target: mode as the MySQL client's --ssl-mode (default preferred), ca a PEM CA bundle",
    properties: {
      mode: {
        enum: [...SSL_MODE_VALUES],
        description:
          'disabled | preferred | required (encrypt, no check) | verify-ca | verify-identity (CA and host name)',
      },
      ca: text('PEM CA bundle to verify the server with (e.g. the RDS global-bundle.pem); implies verify-ca'),
    },
  },
  duration: duration(`Length of the run (${durationText(L.minDurationMs)} to ${durationText(L.maxDurationMs)})`),
  load: { $ref: '#/$defs/load' },
  actions: {
    type: 'array',
    items: { $ref: '#/$defs/action' },
    description: 'Timed actions: a shell command (run) or a sandbox step (step)',
  },
  thresholds: {
    type: 'array',
    items: {
      type: 'string',
      pattern: THRESHOLD_PATTERN,
      description: '<metric><op><value>, op one of < <= > >= == !=, e.g. write_downtime<60s',
    },
    description: 'Pass/fail conditions checked after the run; a failed one makes the exit code 99',
  },
  report: { $ref: '#/$defs/report' },
  out: text(`Results file (NDJSON); default: ${D.outDir}/<name>-<UTC time>.ndjson`),
};
keysOf(topProperties, TOP_KEYS, 'top-level');

const loadProperties = {
  reads: {
    type: 'number',
    minimum: 0,
    maximum: L.maxRatePerSec,
    default: D.readsPerSec,
    description: 'Read probes per second (0: none)',
  },
  writes: {
    type: 'number',
    minimum: 0,
    maximum: L.maxRatePerSec,
    default: D.writesPerSec,
    description: 'Write probes per second (0: none)',
  },
  workers: {
    type: 'integer',
    minimum: 1,
    maximum: L.maxWorkers,
    description:
      'Worker threads (default: one per 8,000 pooled probes/s, at most the CPU count, half of it for a database on this machine; per-probe: the CPU count)',
  },
  connection: {
    enum: [...CONNECTION_CHOICES],
    default: D.connection,
    description:
      'pool: reuse connections; per-probe: connect for every probe; pool,per-probe: both side by side, one results file each',
  },
  timeout: duration(
    `A probe slower than this has failed (${durationText(L.minTimeoutMs)} to ${durationText(L.maxTimeoutMs)})`,
    D.timeoutMs,
  ),
  connectTimeout: duration('Timeout for opening a connection (default: load.timeout)'),
  slow: duration(
    'Latency SLO: an answer slower than this (from its intended time; below load.timeout) is degraded service, reported apart from downtime (default: none)',
  ),
  dnsServer: {
    type: 'string',
    pattern: DNS_SERVER_PATTERN,
    description:
      "Resolve the target's host through this DNS server (IPv4[:port], A records, answers cached for their TTL) for every new connection; default: the system resolver",
  },
  maxInFlight: {
    type: 'integer',
    minimum: 1,
    maximum: L.maxInFlight,
    default: D.maxInFlight,
    description: 'Probes in flight per op; a due probe beyond this is recorded as dropped',
  },
  table: {
    type: 'string',
    pattern: IDENTIFIER_PATTERN,
    default: D.table,
    description: "The harness's table: letters, digits and _",
  },
  readSql: text('Overrides the read probe statement'),
  writeSql: text('Overrides the write probe statement'),
};
keysOf(loadProperties, LOAD_KEYS, 'load');

const actionProperties = {
  at: duration('Offset from the run start; before the end of the run'),
  name: text('Label for charts and events (default: the step name, or "action N")'),
  run: text('Shell command'),
  timeout: duration('Kill the command after this (it is killed at the end of the run in any case)'),
  step: { enum: [...STEP_NAMES], description: 'Sandbox step' },
  with: { type: 'object', description: 'Step options' },
};
keysOf(actionProperties, ACTION_KEYS, 'action');

const reportProperties = {
  out: text('Directory for the rendered report; default: the results file path without its extension'),
  enabled: { type: 'boolean', default: D.reportEnabled, description: 'Render the report when the run ends' },
};
keysOf(reportProperties, REPORT_KEYS, 'report');

for (const step of STEP_NAMES) keysOf(STEP_OPTIONS_SCHEMA[step], STEP_OPTION_KEYS[step], `${step} options`);

export const scenarioSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'downtime scenario',
  description: 'A downtime run: what to probe, how hard, for how long, and what to do meanwhile. See docs/scenarios.md',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'duration'],
  properties: topProperties,
  allOf: [
    {
      description: 'Exactly one of sandbox and target',
      oneOf: [{ required: ['sandbox'] }, { required: ['target'] }],
    },
    {
      description: 'password only with target',
      if: { required: ['sandbox'] },
      then: { not: { required: ['password'] } },
    },
    {
      description: 'greenTarget only with target (a blue-green sandbox knows its green)',
      if: { required: ['sandbox'] },
      then: { not: { required: ['greenTarget'] } },
    },
    {
      description: 'tls only with target',
      if: { required: ['sandbox'] },
      then: { not: { required: ['tls'] } },
    },
    {
      description: 'Steps act on the sandbox: none with target',
      if: { required: ['target'] },
      then: { properties: { actions: { items: { not: { required: ['step'] } } } } },
    },
    {
      description: `${STEPS_NEEDING_REPLICA.join(' and ')} need the replica of sandbox: blue-green`,
      if: {
        required: ['sandbox'],
        properties: {
          sandbox: {
            anyOf: [
              { const: 'single' },
              { type: 'object', required: ['topology'], properties: { topology: { const: 'single' } } },
            ],
          },
        },
      },
      then: {
        properties: {
          actions: { items: { properties: { step: { not: { enum: [...STEPS_NEEDING_REPLICA] } } } } },
        },
      },
    },
  ],
  $defs: {
    duration: {
      type: 'string',
      pattern: DURATION_PATTERN,
      description: 'A duration with a unit: 500ms, 30s, 5m, 1h, 1m30s',
    },
    password: {
      description: 'Where the password for target comes from (never the password itself)',
      oneOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['file'],
          properties: { file: text('File holding the password (~/ is the home directory)') },
        },
        {
          type: 'object',
          additionalProperties: false,
          required: ['env'],
          properties: {
            env: { type: 'string', pattern: ENV_NAME_PATTERN, description: 'Environment variable holding it' },
          },
        },
        {
          type: 'object',
          additionalProperties: false,
          required: ['command'],
          properties: {
            command: text('Shell command printing it (e.g. an IAM auth token)'),
            refresh: duration(
              `Re-run the command this often during the run (${durationText(L.minPasswordRefreshMs)} to ${durationText(L.maxPasswordRefreshMs)})`,
              D.passwordRefreshMs,
            ),
          },
        },
      ],
    },
    load: {
      type: 'object',
      additionalProperties: false,
      properties: loadProperties,
      not: {
        description: 'reads and writes both 0',
        required: ['reads', 'writes'],
        properties: { reads: { const: 0 }, writes: { const: 0 } },
      },
    },
    action: {
      type: 'object',
      additionalProperties: false,
      required: ['at'],
      properties: actionProperties,
      oneOf: [
        { required: ['run'], not: { anyOf: [{ required: ['step'] }, { required: ['with'] }] } },
        { required: ['step'], not: { anyOf: [{ required: ['run'] }, { required: ['timeout'] }] } },
      ],
      allOf: STEP_NAMES.map((step) => ({
        if: { required: ['step'], properties: { step: { const: step } } },
        then: {
          properties: {
            with: { type: 'object', additionalProperties: false, properties: STEP_OPTIONS_SCHEMA[step] },
          },
        },
      })),
    },
    report: {
      type: 'object',
      additionalProperties: false,
      properties: reportProperties,
    },
  },
} as const;
