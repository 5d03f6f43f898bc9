/**
 * targets: several endpoints watched in one run, each with its own rates (the command line's repeated
 * `--target NAME=…`). With target: they are URLs read with its credentials; with sandbox: they name its servers.
 */
import { checkRate, describeValue } from '../rules.js';
import { ENDPOINT_NAME_PATTERN, SANDBOX_SERVER_NAMES, TARGETS_ITEM_KEYS } from '../shape.js';
import { checkTargetUrlKey } from '../target-url.js';
import type { ScenarioTarget } from '../types.js';
import { close, has, open, readEnum, readString, readWith, type Problems } from './read.js';

export function parseTargets(
  p: Problems,
  v: unknown,
  db: 'target' | 'sandbox' | undefined,
): ScenarioTarget[] | undefined {
  if (!Array.isArray(v) || v.length === 0) {
    p.add(
      'targets',
      `must be a list of endpoints, e.g. [{name: writer, url: mysql://…}, {name: reader, url: mysql://…, writes: 0}] (got ${describeValue(v)})`,
    );
    return undefined;
  }
  const before = p.list.length;
  const seen = new Set<string>();
  const list: ScenarioTarget[] = [];
  v.forEach((item, i) => {
    const path = `targets[${i}]`;
    const o = open(p, item, path, TARGETS_ITEM_KEYS, 'a mapping with name: and url: (or sandbox:), reads:, writes:');
    if (o === undefined) return;
    const name = readString(p, o, 'name', {
      required: 'add e.g. name: reader (how files and reports name the endpoint)',
      pattern: ENDPOINT_NAME_PATTERN,
      patternText: 'a letter, then letters, digits, _ or -, at most 32 characters',
    });
    let url: string | undefined;
    if (has(o, 'url')) {
      const r = checkTargetUrlKey(o.value.url, `${path}.url`);
      if (r.ok) url = r.value;
      else for (const problem of r.problems) p.add('', problem);
    }
    const sandbox = readEnum(p, o, 'sandbox', SANDBOX_SERVER_NAMES);
    const reads = readWith(p, o, 'reads', checkRate);
    const writes = readWith(p, o, 'writes', checkRate);
    close(p, o);
    if (has(o, 'url') === has(o, 'sandbox')) {
      p.add(
        path,
        'needs one of url: (an existing server) or sandbox: endpoint, blue or green (a server of the sandbox)',
      );
    } else if (db === 'sandbox' && has(o, 'url')) {
      p.add(`${path}.url`, 'a sandbox run watches its own servers: write sandbox: endpoint, blue or green');
    } else if (db === 'target' && has(o, 'sandbox')) {
      p.add(`${path}.sandbox`, 'only applies with sandbox:; with target: give url:');
    }
    if (reads === 0 && writes === 0) p.add(path, 'reads and writes are both 0: nothing to measure there');
    if (name !== undefined) {
      if (seen.has(name)) p.add(`${path}.name`, `${name} is used twice; give each endpoint its own name`);
      seen.add(name);
    }
    if (name === undefined || (url === undefined && sandbox === undefined)) return;
    list.push({
      name,
      ...(url !== undefined ? { url } : {}),
      ...(sandbox !== undefined ? { sandbox } : {}),
      ...(reads !== undefined ? { readsPerSec: reads } : {}),
      ...(writes !== undefined ? { writesPerSec: writes } : {}),
    });
  });
  return p.list.length > before ? undefined : list;
}
