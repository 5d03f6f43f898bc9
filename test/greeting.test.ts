import { test } from 'node:test';
import assert from 'node:assert/strict';
import { looksLikeMysqlGreeting } from '../src/load/setup.js';

test('the first bytes of a MySQL server are told from another protocol', () => {
  const packet = (payload: Buffer): Buffer =>
    Buffer.concat([
      Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, payload.length >> 16, 0]),
      payload,
    ]);
  // A handshake v10 (MariaDB's starts "\n5.5.5-10.11…") and an error packet (1040 too many connections).
  assert.equal(looksLikeMysqlGreeting(packet(Buffer.from('\n5.5.5-10.11.6-MariaDB\0rest', 'latin1'))), true);
  assert.equal(
    looksLikeMysqlGreeting(packet(Buffer.from([0xff, 0x10, 0x04, ...Buffer.from('Too many connections')]))),
    true,
  );
  assert.equal(looksLikeMysqlGreeting(Buffer.from('\n5.')), true, 'too short to judge');
  for (const other of [
    'SSH-2.0-OpenSSH_9.6\r\n',
    '220 mail.example ESMTP\r\n',
    'HTTP/1.1 400 Bad Request\r\n\r\n',
    '+OK redis\r\n',
  ]) {
    assert.equal(looksLikeMysqlGreeting(Buffer.from(other)), false, other);
  }
  // A TLS alert record, and a handshake packet with a sequence number other than 0.
  assert.equal(looksLikeMysqlGreeting(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])), false);
  const seq1 = packet(Buffer.from('\n8.0.36\0', 'latin1'));
  seq1[3] = 1;
  assert.equal(looksLikeMysqlGreeting(seq1), false);
});
