/**
 * Scenario keys for TLS (`tls:`) and the password command's `refresh:`: parser, schema, redaction, and
 * how planRun combines them with --ssl-mode, --ssl-ca and --password-refresh.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { planRun } from '../src/run/plan.js';
import { ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import { parseScenarioText, ScenarioError } from '../src/scenario/parse.js';
import { redactScenario } from '../src/scenario/redact.js';
import { scenarioSchema } from '../src/scenario/schema.js';
import { validate, type Schema } from './helpers/json-schema.js';

const dir = mkdtempSync(join(tmpdir(), 'downtime-scenario-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem'].concat([
    '-days',
    '1',
    '-subj',
    '/CN=t',
  ]),
  { cwd: dir, stdio: 'pipe' },
);

const HEAD = 'name: t\nduration: 10s\ntarget: mysql://app@db.example:3306/probe\n';

function problems(text: string): string[] {
  try {
    parseScenarioText(text, 's.yaml');
  } catch (err) {
    if (err instanceof ScenarioError) return [...err.problems];
    throw err;
  }
  return [];
}

function schemaProblems(text: string): string[] {
  return validate(scenarioSchema as unknown as Schema, parseYaml(text));
}

test('tls: mode and ca parse, and are kept (redacted scenario) as written', () => {
  const text = HEAD + 'tls: { mode: verify-identity, ca: ~/rds/global-bundle.pem }\n';
  const s = parseScenarioText(text, 's.yaml');
  assert.deepEqual(s.db.kind === 'target' ? s.db.tls : null, {
    mode: 'verify-identity',
    ca: '~/rds/global-bundle.pem',
  });
  const r = redactScenario(s);
  assert.deepEqual(r.db.kind === 'target' ? r.db.tls : null, {
    mode: 'verify-identity',
    ca: '~/rds/global-bundle.pem',
  });
  assert.deepEqual(schemaProblems(text), []);
});

test('bad tls: and password.refresh are refused by the parser and by the schema', () => {
  const bad: [string, RegExp][] = [
    [
      HEAD + 'tls: { mode: on }\n',
      /^tls\.mode: must be one of disabled, preferred, required, verify-ca, verify-identity/,
    ],
    [HEAD + 'tls: { mode: required, ca: ca.pem }\n', /^tls\.ca: is only used to verify the server/],
    [HEAD + 'tls: { cert: x.pem }\n', /^tls: unknown key "cert"/],
    [HEAD + 'tls: required\n', /^tls: must be a mapping/],
    ['name: t\nduration: 10s\nsandbox: single\ntls: { mode: required }\n', /^tls: only applies to target:/],
    [HEAD + 'password: { file: pw, refresh: 1m }\n', /^password\.refresh: only applies to password\.command/],
    [HEAD + 'password: { command: "echo x", refresh: 60 }\n', /^password\.refresh: "60" has no unit/],
    [HEAD + 'password: { command: "echo x", refresh: 10ms }\n', /^password\.refresh: must be at least 1s/],
  ];
  for (const [text, message] of bad) {
    const found = problems(text);
    assert.ok(
      found.some((p) => message.test(p)),
      `${text}: ${JSON.stringify(found)}`,
    );
  }
  // The schema says what it can: an unknown mode, an unknown key, tls with the sandbox, a refresh without a command.
  for (const i of [0, 2, 3, 4, 5, 6]) assert.notDeepEqual(schemaProblems(bad[i]?.[0] ?? ''), [], bad[i]?.[0]);
});

test('planRun: the scenario tls and password refresh apply; flags replace them key by key', async () => {
  const file = join(dir, 's.yaml');
  writeFileSync(
    file,
    HEAD + `tls: { mode: verify-identity, ca: ca.pem }\npassword: { command: "printf 'tok-%s' 123", refresh: 5m }\n`,
  );
  const io = bufferIo({});
  io.cwd = dir;
  const plan = await planRun({ scenario: file }, io);
  assert.deepEqual(
    { mode: plan.options.tls?.mode, encrypt: plan.options.tls?.encrypt, caFile: plan.options.tls?.caFile },
    { mode: 'verify-identity', encrypt: true, caFile: join(dir, 'ca.pem') },
  );
  assert.equal(plan.db.kind === 'target' ? plan.db.password : null, 'tok-123');
  assert.equal(plan.options.passwordRefresh?.everyMs, 300_000);
  assert.equal(await plan.options.passwordRefresh?.fetch(), 'tok-123');
  assert.ok(!JSON.stringify(plan.options.scenario).includes('tok-123'));

  const over = await planRun({ scenario: file, sslMode: 'verify-ca', passwordRefresh: '30s' }, io);
  assert.equal(over.options.tls?.mode, 'verify-ca');
  assert.equal(over.options.passwordRefresh?.everyMs, 30_000);
  assert.deepEqual((over.options.scenario as { overriddenBy?: string[] }).overriddenBy, [
    '--password-refresh',
    '--ssl-mode',
  ]);

  // --ssl-mode required with the scenario's CA: a CA that would go unused is refused.
  await assert.rejects(planRun({ scenario: file, sslMode: 'required' }, io), (e: unknown) => {
    return (
      (e as { exitCode?: number }).exitCode === ExitCode.Usage && /--ssl-ca is only used to verify/.test(String(e))
    );
  });
});
