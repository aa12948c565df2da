/**
 * The client subcommands as a user runs them: `node bin/auditlog.js ...` against a real server.
 * Requires a build (`npm test` builds first). One server for the file; invocations that do not
 * depend on each other run concurrently (each is a process that mostly waits on start-up and I/O).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LogClient } from '../../src/client/log-client.js';
import { ReceiptFile, readReceiptFile } from '../../src/client/receipt-file.js';
import { formatVerifierKey, SIG_TYPE_COSIGNATURE_V1 } from '../../src/note/keys.js';
import { ed25519Signer, generateSeed } from '../../src/note/signer.js';
import { BIN, makeToken, startServer, type TestServer, tempDir } from '../helpers/server.js';

let server: TestServer;
let token: string;
const work = tempDir('auditlog-cli-');

function cli(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.stdin.end(opts.stdin ?? '');
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The size of the log's latest checkpoint (its second line). */
async function logSize(): Promise<bigint> {
  const text = await (await fetch(`${server.url}/checkpoint`)).text();
  return BigInt(text.split('\n')[1]!);
}

beforeAll(async () => {
  server = await startServer();
  token = await makeToken(server, 'submitter');
});
afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('auditlog submit / verify', () => {
  test('submit from stdin, save, verify offline and against the log', async () => {
    const out = join(work, 'r1.json');
    const s = await cli(['submit', '--log', server.url, '--vkey', server.vkey, '--out', out, '-'], {
      stdin: 'first entry\n',
      env: { AUDITLOG_TOKEN: token },
    });
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toEqual(JSON.parse(readFileSync(out, 'utf8')));

    const [v, ...more] = await Promise.all([
      cli(['verify', out, '--vkey', server.vkey]),
      ...[0, 1, 2].map((i) =>
        cli(['submit', '--log', server.url, '--token', token, '-'], { stdin: `more ${i}` }),
      ),
    ]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^OK: entry \d+ .* is in log \S+ at tree size \d+/);
    for (const m of more) expect(m.code, m.stderr).toBe(0);
    const upgraded = join(work, 'r1-upgraded.json');
    const v2 = await cli(['verify', out, '--vkey', server.vkey, '--log', server.url, '--out', upgraded]);
    expect(v2.code).toBe(0);
    expect(v2.stdout).toMatch(/consistent with the log's current checkpoint \(tree size \d+\)/);
    const v3 = await cli(['verify', upgraded, '--vkey', server.vkey]);
    expect(v3.code).toBe(0);
    expect(v3.stdout).toMatch(/upgraded to tree size \d+/);
    // Receipt files the CLI writes are its owner's only, as the SDK's are.
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(statSync(upgraded).mode & 0o777).toBe(0o600);

    // Upgrading a file in place replaces it whole (a new file renamed over it): the result is
    // the upgraded receipt, 0600 even where the old file was 0644, and nothing is left beside it.
    const inPlace = join(work, 'in-place.json');
    writeFileSync(inPlace, readFileSync(out));
    chmodSync(inPlace, 0o644);
    const v4 = await cli(['verify', inPlace, '--vkey', server.vkey, '--log', server.url, '--out', inPlace]);
    expect(v4.code, v4.stderr).toBe(0);
    expect(statSync(inPlace).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(inPlace, 'utf8')).upgrade).toBeDefined();
    expect((await cli(['verify', inPlace, '--vkey', server.vkey])).stdout).toMatch(
      /upgraded to tree size \d+/,
    );
    expect(readdirSync(work).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  test('an --out that cannot be written is refused before anything is submitted', async () => {
    const dir = join(work, 'a-directory');
    mkdirSync(dir);
    writeFileSync(join(dir, 'kept'), 'x');
    const before = await logSize();
    const [asDir, noParent] = await Promise.all([
      cli(['submit', '--log', server.url, '--token', token, '--out', dir, '-'], { stdin: 'e' }),
      cli(['submit', '--log', server.url, '--token', token, '--tlog-proof', join(work, 'nope', 'p'), '-'], {
        stdin: 'e',
      }),
    ]);
    expect([asDir.code, noParent.code]).toEqual([1, 1]);
    expect(asDir.stderr).toMatch(/^auditlog submit: BAD_REQUEST: .*a-directory is a directory/);
    expect(noParent.stderr).toMatch(/^auditlog submit: BAD_REQUEST: .*its directory does not exist/);
    expect(await logSize()).toBe(before);
    expect(readdirSync(dir)).toEqual(['kept']);
  });

  test('a save that fails after submitting still prints the receipt, and says so', async () => {
    // /proc is a directory in which no file can be created, even by root.
    const s = await cli(
      ['submit', '--log', server.url, '--token', token, '--out', '/proc/receipt.json', '-'],
      {
        stdin: 'kept on stdout',
      },
    );
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(
      /^auditlog submit: STORAGE: .*submitted, and the receipt is printed above, but saving it failed/,
    );
    const printed = JSON.parse(s.stdout);
    expect(Buffer.from(printed.entry ?? '', 'base64').toString()).toBe('kept on stdout');
    const saved = join(work, 'from-stdout.json');
    writeFileSync(saved, s.stdout);
    const v = await cli(['verify', saved, '--vkey', server.vkey]);
    expect(v.code, v.stderr).toBe(0);
  });

  test('--token-file: read when its owner alone may read it, refused otherwise', async () => {
    const good = join(work, 'token');
    writeFileSync(good, `${token}\n`, { mode: 0o600 });
    const open = join(work, 'token-644');
    writeFileSync(open, `${token}\n`, { mode: 0o644 });
    chmodSync(open, 0o644);
    const empty = join(work, 'token-empty');
    writeFileSync(empty, '\n', { mode: 0o600 });
    const before = await logSize();
    const [refused, blank, both, none] = await Promise.all([
      cli(['submit', '--log', server.url, '--token-file', open, '-'], { stdin: 'x' }),
      cli(['submit', '--log', server.url, '--token-file', empty, '-'], { stdin: 'x' }),
      cli(['submit', '--log', server.url, '--token-file', good, '--token', token, '-'], { stdin: 'x' }),
      cli(['submit', '--log', server.url, '-'], { stdin: 'x', env: { AUDITLOG_TOKEN: '' } }),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^auditlog submit: FORBIDDEN: .*token-644 is readable by group or others; chmod 600 it/,
    );
    expect(blank.code).toBe(1);
    expect(blank.stderr).toMatch(/^auditlog submit: BAD_REQUEST: .*token-empty holds no token/);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--token or --token-file, not both/);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/a token is required/);
    expect(await logSize()).toBe(before);
    const ok = await cli(['submit', '--log', server.url, '--token-file', good, '-'], {
      stdin: 'with a token file',
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).index).toBe(Number(await logSize()) - 1);
  });

  test('submit --record (one, and a batch) prints receipts that verify', async () => {
    const record = {
      tenant_id: 'tnt_acme',
      request_id: 'req_abc123',
      action: 'agent_response_generated',
      actor_id: 'billing-assistant',
      actor_type: 'agent',
      user_id: 'patient-7731',
      output: { final_text: 'Your next bill is $124.50.' },
    };
    const out = join(work, 'rec.json');
    const one = await cli(['submit', '--log', server.url, '--token', token, '--record', '--out', out, '-'], {
      stdin: JSON.stringify(record),
    });
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout).record_id).toBeTypeOf('string');

    const [verified, batch, invalid, notJson] = await Promise.all([
      cli(['verify', out, '--vkey', server.vkey]),
      cli(['submit', '--log', server.url, '--token', token, '--record', '-'], {
        stdin: JSON.stringify({ records: [record, { ...record, request_id: 'req_2' }] }),
      }),
      cli(['submit', '--log', server.url, '--token', token, '--record', '-'], {
        stdin: JSON.stringify({ ...record, surprise: 1 }),
      }),
      cli(['submit', '--log', server.url, '--token', token, '--record', '-'], { stdin: '{' }),
    ]);
    expect(verified.code).toBe(0);
    expect(batch.code, batch.stderr).toBe(0);
    expect(JSON.parse(batch.stdout)).toHaveLength(2);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^auditlog submit: BAD_REQUEST: .*surprise/);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/BAD_REQUEST/);
  });

  test('every kind of failure is one line and exit 1', async () => {
    const file = join(work, 'entry.bin');
    writeFileSync(file, 'the entry');
    const out = join(work, 'r2.json');
    const sub = await cli(['submit', '--log', server.url, '--token', token, '--out', out, file]);
    expect(sub.code, sub.stderr).toBe(0);
    const good = JSON.parse(readFileSync(out, 'utf8'));

    const variants: [string, object, string | undefined, RegExp][] = [
      [
        'tampered proof',
        {
          ...good,
          inclusion_proof: [...good.inclusion_proof]
            .reverse()
            .concat('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='),
        },
        undefined,
        /BAD_PROOF|ROOT_MISMATCH/,
      ],
      [
        'leaf hash mismatch',
        { ...good, entry: Buffer.from('another entry').toString('base64') },
        undefined,
        /LEAF_MISMATCH/,
      ],
      [
        'tampered checkpoint',
        {
          ...good,
          checkpoint: good.checkpoint.replace(/\n(\d+)\n/, (_: string, n: string) => `\n${Number(n) + 1}\n`),
        },
        undefined,
        /BAD_SIGNATURE|BAD_PROOF/,
      ],
      [
        'wrong key',
        good,
        formatVerifierKey(server.origin, ed25519Signer(server.origin, generateSeed()).publicKey),
        /UNKNOWN_KEY/,
      ],
    ];
    // A bad signature on the checkpoint (one signature character changed).
    const sigChanged = {
      ...good,
      checkpoint: good.checkpoint.replace(
        /(— \S+ )(\S)/,
        (_: string, p: string, c: string) => `${p}${c === 'A' ? 'B' : 'A'}`,
      ),
    };
    writeFileSync(join(work, 'sig.json'), JSON.stringify(sigChanged));
    const [results, r, usage1, usage2, usage3, missing] = await Promise.all([
      Promise.all(
        variants.map(([name, receipt, vkey]) => {
          const path = join(work, `${name.replaceAll(' ', '-')}.json`);
          writeFileSync(path, JSON.stringify(receipt));
          return cli(['verify', path, '--vkey', vkey ?? server.vkey]);
        }),
      ),
      cli(['verify', join(work, 'sig.json'), '--vkey', server.vkey]),
      // Usage errors exit 2.
      cli(['verify', out]),
      cli(['verify', '--vkey', server.vkey]),
      cli(['submit', '--log', server.url, '--bogus']),
      cli(['verify', join(work, 'nope.json'), '--vkey', server.vkey]),
    ]);
    variants.forEach(([name, , , want], i) => {
      const v = results[i]!;
      expect(v.code, name).toBe(1);
      expect(v.stdout, name).toBe('');
      expect(v.stderr.trimEnd().split('\n'), name).toHaveLength(1);
      expect(v.stderr, name).toMatch(want);
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^auditlog verify: FAIL: (BAD_SIGNATURE|UNKNOWN_KEY)/);
    expect(usage1.code).toBe(2);
    expect(usage2.code).toBe(2);
    expect(usage3.code).toBe(2);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
  });

  test('tlog-proof export and verify, with a witness policy', async () => {
    const proofPath = join(work, 'e.tlog-proof');
    const s = await cli(['submit', '--log', server.url, '--token', token, '--tlog-proof', proofPath, '-'], {
      stdin: 'spicy',
    });
    expect(s.code, s.stderr).toBe(0);
    expect(readFileSync(proofPath, 'utf8')).toMatch(/^c2sp\.org\/tlog-proof@v1\nextra c3BpY3k=\nindex \d+\n/);

    const policyNone = join(work, 'none.policy');
    writeFileSync(policyNone, `log ${server.vkey}\nquorum none\n`);
    const witness = formatVerifierKey(
      'w.example',
      ed25519Signer('w.example', generateSeed()).publicKey,
      SIG_TYPE_COSIGNATURE_V1,
    );
    const policyW = join(work, 'w.policy');
    writeFileSync(policyW, `log ${server.vkey}\nwitness W ${witness}\nquorum W\n`);
    const [withVkey, viaPolicy, noQuorum] = await Promise.all([
      cli(['verify', proofPath, '--vkey', server.vkey]),
      cli(['verify', proofPath, '--policy', policyNone]),
      cli(['verify', proofPath, '--policy', policyW]),
    ]);
    expect(withVkey.code).toBe(0);
    expect(viaPolicy.stderr).toBe('');
    expect(viaPolicy.code).toBe(0);
    expect(noQuorum.code).toBe(1);
    expect(noQuorum.stderr).toMatch(/QUORUM_NOT_MET/);
  });
});

describe('auditlog verify on a receipt file', () => {
  test('verifies every line, names the bad one, upgrades them all', async () => {
    const path = join(work, 'agent.jsonl');
    const file = await ReceiptFile.open(path);
    const client = new LogClient(server.url, { token, vkey: server.vkey });
    for (let i = 0; i < 4; i++)
      await file.append(await client.submitEntry(new TextEncoder().encode(`line ${i}`)));
    await file.close();
    await client.close();

    const lines = readFileSync(path, 'utf8').split('\n');
    const bad = JSON.parse(lines[2]!);
    bad.entry = Buffer.from('forged').toString('base64');
    lines[2] = JSON.stringify(bad);
    const badPath = join(work, 'bad.jsonl');
    writeFileSync(badPath, lines.join('\n'));
    writeFileSync(join(work, 'torn.jsonl'), readFileSync(path, 'utf8').slice(0, -10));
    const up = join(work, 'upgraded.jsonl');

    const [ok, r, [u, upVerified], torn] = await Promise.all([
      cli(['verify', path, '--vkey', server.vkey]),
      cli(['verify', badPath, '--vkey', server.vkey]),
      cli(['verify', path, '--vkey', server.vkey, '--log', server.url, '--out', up]).then(
        async (u) => [u, await cli(['verify', up, '--vkey', server.vkey])] as const,
      ),
      cli(['verify', join(work, 'torn.jsonl'), '--vkey', server.vkey]),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK: 4 receipts are in log /);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^auditlog verify: FAIL: LEAF_MISMATCH: .*receipt 3: /);
    expect(u.code, u.stderr).toBe(0);
    const upgraded = await readReceiptFile(up);
    expect(upgraded).toHaveLength(4);
    for (const x of upgraded) expect(x.upgrade).toBeDefined();
    expect(upVerified.code).toBe(0);
    expect(torn.code).toBe(1);
    expect(torn.stderr).toMatch(/incomplete/);
  });
});

describe('auditlog get on a terminal', () => {
  test('draws a progress bar on stderr when it is a TTY (util-linux script gives it one)', async () => {
    const client = new LogClient(server.url, { token, vkey: server.vkey });
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => client.submitEntry(new TextEncoder().encode(`bulk ${i}`))),
    );
    const size = (await client.checkpoint()).checkpoint.size;
    await client.close();
    const command = `${process.execPath} ${BIN} get --log ${server.url} --range 0: > /dev/null`;
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => {
        out += d;
      });
      p.on('close', (code) => resolve({ code, out }));
    });
    expect(r.code).toBe(0);
    expect(r.out).toContain(`[${'#'.repeat(30)}] ${size}/${size}`);
  });
});

describe('auditlog prove / consistency / get', () => {
  test('prove by index and by hash print verifiable receipts', async () => {
    const path = join(work, 'proved.json');
    const [[byIndex, verified, byHash], smaller, beyond, leadingZero, noTarget] = await Promise.all([
      cli(['prove', '--log', server.url, '--index', '0', '--vkey', server.vkey]).then(async (byIndex) => {
        expect(byIndex.code).toBe(0);
        const r = JSON.parse(byIndex.stdout);
        writeFileSync(path, byIndex.stdout);
        return [
          byIndex,
          ...(await Promise.all([
            cli(['verify', path, '--vkey', server.vkey]),
            cli(['prove', '--log', server.url, '--hash', r.leaf_hash, '--vkey', server.vkey]),
          ])),
        ] as const;
      }),
      cli(['prove', '--log', server.url, '--index', '0', '--size', '2']),
      cli(['prove', '--log', server.url, '--index', '100000']),
      cli(['prove', '--log', server.url, '--index', '01']),
      cli(['prove', '--log', server.url]),
    ]);
    const r = JSON.parse(byIndex.stdout);
    expect(verified.code).toBe(0);
    expect(byHash.code).toBe(0);
    expect(JSON.parse(byHash.stdout).inclusion_proof).toEqual(r.inclusion_proof);

    expect(smaller.code).toBe(0);
    expect(smaller.stderr).toMatch(/not verified/);
    expect(JSON.parse(smaller.stdout).tree_size).toBe(2);

    expect(beyond.code).toBe(1);
    expect(beyond.stderr).toMatch(/OUT_OF_RANGE/);
    expect(leadingZero.stderr).toMatch(/BAD_REQUEST/);
    expect(noTarget.code).toBe(2);
  });

  test('consistency prints and checks a proof', async () => {
    const [c, bad] = await Promise.all([
      cli(['consistency', '--log', server.url, '--from', '1', '--vkey', server.vkey]),
      cli(['consistency', '--log', server.url, '--from', '5', '--to', '2']),
    ]);
    expect(c.code).toBe(0);
    expect(c.stderr).toMatch(/OK: tree \d+ extends tree 1/);
    const j = JSON.parse(c.stdout);
    expect(j.first).toBe(1);
    expect(j.consistency_proof.length).toBeGreaterThan(0);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/OUT_OF_RANGE/);
  });

  test('get streams entries as JSON lines without a progress bar when not a terminal', async () => {
    const ranges = ['3:1', 'a:b', '0:999999', '01:2'];
    const [g, all, ...bads] = await Promise.all([
      cli(['get', '--log', server.url, '--range', '0:3', '--vkey', server.vkey]),
      cli(['get', '--log', server.url, '--range', '0:']),
      ...ranges.map((range) => cli(['get', '--log', server.url, '--range', range])),
    ]);
    expect(g.code).toBe(0);
    expect(g.stderr).toBe('');
    const lines = g.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.index)).toEqual([0, 1, 2]);
    expect(Buffer.from(lines[0].entry, 'base64').toString()).toBe('first entry\n');
    expect(all.code).toBe(0);
    expect(all.stdout.trimEnd().split('\n').length).toBeGreaterThanOrEqual(6);
    ranges.forEach((range, i) => {
      const bad = bads[i]!;
      expect(bad.code, range).toBe(1);
      expect(bad.stderr.trimEnd().split('\n'), range).toHaveLength(1);
    });
  });
});

describe('a log run with --private-reads', () => {
  test('every client command reads it with a token (flag, file or environment), and fails clearly without one', async () => {
    const priv = await startServer({ args: ['--private-reads'] });
    try {
      const t = await makeToken(priv, 'submitter');
      const tokenFile = join(work, 'private-token');
      writeFileSync(tokenFile, `${t}\n`, { mode: 0o600 });
      const receiptPath = join(work, 'private-receipt.json');
      const sub = await cli(
        [
          'submit',
          '--log',
          priv.url,
          '--vkey',
          priv.vkey,
          '--token-file',
          tokenFile,
          '--out',
          receiptPath,
          '-',
        ],
        { stdin: 'private entry' },
      );
      expect(sub.code, sub.stderr).toBe(0);
      await cli(['submit', '--log', priv.url, '--token-file', tokenFile, '-'], { stdin: 'second' });
      const noToken = { AUDITLOG_TOKEN: '' };
      const reads: [string, string[]][] = [
        ['get', ['get', '--log', priv.url, '--vkey', priv.vkey, '--range', '0:']],
        ['prove', ['prove', '--log', priv.url, '--vkey', priv.vkey, '--index', '0']],
        ['consistency', ['consistency', '--log', priv.url, '--vkey', priv.vkey, '--from', '1']],
        ['verify', ['verify', receiptPath, '--vkey', priv.vkey, '--log', priv.url]],
      ];
      const [without, withFile, withEnv, withFlag] = await Promise.all([
        Promise.all(reads.map(([, a]) => cli(a, { env: noToken }))),
        Promise.all(reads.map(([, a]) => cli([...a, '--token-file', tokenFile], { env: noToken }))),
        Promise.all(reads.map(([, a]) => cli(a, { env: { AUDITLOG_TOKEN: t } }))),
        Promise.all(reads.map(([, a]) => cli([...a, '--token', t], { env: noToken }))),
      ]);
      for (const [i, [name]] of reads.entries()) {
        expect(without[i]!.code, name).toBe(1);
        expect(without[i]!.stderr, name).toMatch(new RegExp(`^auditlog ${name}: (FAIL: )?UNAUTHORIZED`));
        for (const r of [withFile[i]!, withEnv[i]!, withFlag[i]!])
          expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      }
      expect(withFile[0]!.stdout.trim().split('\n')).toHaveLength(2);
      // The SDK: a client given a token sends it with its reads too.
      const sdk = new LogClient(priv.url, { vkey: priv.vkey, token: t });
      const anon = new LogClient(priv.url, { vkey: priv.vkey });
      try {
        expect((await sdk.checkpoint()).checkpoint.size).toBe(2n);
        expect((await sdk.inclusionProof(0n, 2n)).length).toBe(1);
        await expect(anon.checkpoint()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      } finally {
        await Promise.all([sdk.close(), anon.close()]);
      }
    } finally {
      await priv.stop();
    }
  });
});
