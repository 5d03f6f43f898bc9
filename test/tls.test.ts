/** TLS settings and the clear-text password plugin, without a server (the live cases are in tls.live.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError } from '../src/load/classify.js';
import { DowntimeError, ExitCode } from '../src/errors.js';
import { clearPasswordPlugin, mysql2Ssl, tlsConfig } from '../src/load/tls.js';

test('each --ssl-mode maps to the mysql2 ssl option it means', () => {
  assert.equal(mysql2Ssl(tlsConfig({ mode: 'disabled' })), undefined);
  assert.deepEqual(mysql2Ssl(tlsConfig({})), { rejectUnauthorized: false, verifyIdentity: false });
  assert.deepEqual(mysql2Ssl(tlsConfig({ mode: 'required' })), { rejectUnauthorized: false, verifyIdentity: false });
  assert.deepEqual(mysql2Ssl(tlsConfig({ mode: 'verify-ca' })), { rejectUnauthorized: true, verifyIdentity: false });
  assert.deepEqual(mysql2Ssl(tlsConfig({ mode: 'verify-identity' })), {
    rejectUnauthorized: true,
    verifyIdentity: true,
  });
  assert.equal(tlsConfig({}).mode, 'preferred');
  assert.throws(
    () => tlsConfig({ mode: 'on' }),
    (e: unknown) =>
      e instanceof DowntimeError && e.exitCode === ExitCode.Usage && /one of disabled, preferred/.test(e.message),
  );
});

test('mysql_clear_password sends the newest password, and only over TLS', () => {
  let pw = 'first';
  const plugin = clearPasswordPlugin(() => pw).mysql_clear_password;
  pw = 'second';
  assert.equal(plugin({ connection: { config: { ssl: { rejectUnauthorized: true } } } })().toString(), 'second\0');
  assert.throws(
    () => plugin({ connection: { config: {} } })(),
    (e: unknown) =>
      (e as { code?: string }).code === 'CLEAR_PASSWORD_WITHOUT_TLS' && /--ssl-mode required/.test(String(e)),
  );
});

test('TLS failures are classed tls', () => {
  assert.equal(classifyError({ code: 'HANDSHAKE_NO_SSL_SUPPORT' }), 'tls');
  assert.equal(
    classifyError({ code: 'HANDSHAKE_SSL_ERROR', message: 'self-signed certificate in certificate chain' }),
    'tls',
  );
  assert.equal(classifyError({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), 'tls');
  assert.equal(classifyError({ code: 'CLEAR_PASSWORD_WITHOUT_TLS' }), 'tls');
  assert.equal(classifyError({ library: 'SSL routines', code: 'ERR_SSL_SOMETHING' }), 'tls');
  assert.equal(classifyError({ code: 'ECONNREFUSED' }), 'refused');
});
