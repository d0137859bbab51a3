import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnvFile, readEnvFile } from '../../../src/config/index.js';
import { PodnetError } from '../../../src/lib/index.js';

test('env files: KEY=VALUE, # comments, blank lines, export prefix, surrounding quotes stripped', () => {
  const text = [
    '# aws-node settings',
    '',
    'WARM_IP_TARGET=5',
    'export ENABLE_PREFIX_DELEGATION=true',
    'ADDITIONAL_ENI_TAGS=\'{"team":"net"}\'',
    'CLUSTER_NAME="prod east"',
    'AWS_VPC_K8S_CNI_VETHPREFIX=',
    '  MAX_ENI = 3  ',
  ].join('\n');
  assert.deepEqual(parseEnvFile(text, 'aws-node.env'), {
    WARM_IP_TARGET: '5',
    ENABLE_PREFIX_DELEGATION: 'true',
    ADDITIONAL_ENI_TAGS: '{"team":"net"}',
    CLUSTER_NAME: 'prod east',
    AWS_VPC_K8S_CNI_VETHPREFIX: '',
    MAX_ENI: '3',
  });
});

test('a line that is not KEY=VALUE is a usage error naming the line', () => {
  const err = (() => { try { parseEnvFile('WARM_IP_TARGET=1\njust words\n', 'a.env'); } catch (e) { return e; } })();
  assert.ok(err instanceof PodnetError);
  assert.equal(err.code, 'USAGE');
  assert.match(err.message, /a\.env line 2 is not KEY=VALUE/);
});

test('an unreadable env file is FILE_UNREADABLE (exit 2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-config-'));
  try {
    writeFileSync(join(dir, 'ok.env'), 'WARM_ENI_TARGET=2\n');
    assert.deepEqual(readEnvFile(join(dir, 'ok.env')), { env: { WARM_ENI_TARGET: '2' }, unresolved: [], format: 'env' });
    const err = (() => { try { readEnvFile(join(dir, 'missing.env')); } catch (e) { return e; } })();
    assert.ok(err instanceof PodnetError);
    assert.equal(err.code, 'FILE_UNREADABLE');
    assert.equal(err.exitStatus, 2);
    assert.match(err.message, /does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
