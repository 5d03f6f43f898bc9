import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError } from '../src/load/classify.js';

test('errors are classified by cause with stable names', () => {
  const rows: [err: unknown, expected: string][] = [
    [
      {
        code: 'ER_OPTION_PREVENTS_STATEMENT',
        errno: 1290,
        message: 'The MariaDB server is running with the --read-only option',
      },
      'read-only',
    ],
    [{ errno: 1290, message: 'x' }, 'read-only'], // errno alone is enough
    [{ code: 'ECONNREFUSED', errno: -111 }, 'refused'],
    [{ code: 'ECONNRESET' }, 'reset'],
    [{ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }, 'lost-connection'],
    [{ code: 'EPIPE' }, 'lost-connection'],
    [{ code: 'ETIMEDOUT', message: 'connect ETIMEDOUT' }, 'timeout'],
    [{ code: 'ER_CON_COUNT_ERROR', errno: 1040 }, 'too-many-connections'],
    [{ code: 'ENOTFOUND' }, 'dns'],
    [{ code: 'EAI_AGAIN' }, 'dns'],
    [{ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 }, 'access-denied'],
    [{ code: 'ER_DBACCESS_DENIED_ERROR', errno: 1044 }, 'access-denied'],
    [{ code: 'ER_SERVER_SHUTDOWN', errno: 1053 }, 'server-shutdown'],
    [{ errno: 1927, message: 'Connection was killed' }, 'connection-killed'], // MariaDB, no mysql2 code name
    [{ code: 'EHOSTUNREACH' }, 'unreachable'],
    [{ code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 }, 'ER_LOCK_WAIT_TIMEOUT'], // else: the MySQL code name
    [{ errno: 4999, message: 'new server error' }, 'ER_4999'], // unknown to mysql2: by number
    [{ code: 'EMFILE' }, 'emfile'], // a system error of the client itself
    [new Error('Connection lost: The server closed the connection.'), 'lost-connection'],
    ['a string', 'error'],
    [null, 'error'],
  ];
  for (const [err, expected] of rows) assert.equal(classifyError(err), expected, JSON.stringify(err));
});
