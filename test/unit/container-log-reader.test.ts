/** Reading a rotated CRI log by logical offsets (src/pod/logs.ts,
 * src/oci/lifecycle/container-log.ts), on files laid out as podrun-monitor
 * lays them out: LOG.<offset> for rotated files, LOG the newest. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { checkLogRotation, snapshotLogFiles } from '../../src/oci/lifecycle/container-log';
import { streamLog } from '../../src/pod/logs';

const entry = (text: string, tag = 'F') => `2026-12-06T10:00:00.000000000Z stdout ${tag} ${text}\n`;

/** Write entries into LOG and rotated files, rotating after every `perFile` entries; returns the logical offset after each entry. */
function layOut(dir: string, entries: string[], perFile: number, keep: number): number[] {
  const log = path.join(dir, 'c.log');
  let base = 0;
  let cur = '';
  const ends: number[] = [];
  const rotated: number[] = [];
  entries.forEach((e, i) => {
    cur += e;
    ends.push(base + Buffer.byteLength(cur));
    if ((i + 1) % perFile === 0 && i + 1 < entries.length) {
      fs.writeFileSync(`${log}.${base}`, cur);
      rotated.push(base);
      base += Buffer.byteLength(cur);
      cur = '';
    }
  });
  fs.writeFileSync(log, cur);
  for (const b of rotated.slice(0, Math.max(0, rotated.length - (keep - 1)))) fs.rmSync(`${log}.${b}`);
  return ends;
}

async function read(file: string, o: { from?: number; to?: number; timestamps?: boolean } = {}): Promise<string> {
  let out = '';
  await streamLog(file, (s) => { out += s; }, o);
  return out;
}

t.test('logical offsets run across the rotated files, oldest first', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-log-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true }));
  const lines = Array.from({ length: 10 }, (_, i) => `line ${i}`);
  const ends = layOut(dir, lines.map((l) => entry(l)), 3, 10);
  const files = snapshotLogFiles(path.join(dir, 'c.log'));
  t.same(files.map((f) => f.base), [0, ends[2], ends[5], ends[8]]);
  t.ok(files[3].fd !== undefined && files.slice(0, 3).every((f) => f.fd === undefined), 'only LOG held open');
  fs.closeSync(files[3].fd!);
  t.equal(await read(path.join(dir, 'c.log')), lines.map((l) => `${l}\n`).join(''), 'all of it, in order');
  t.equal(await read(path.join(dir, 'c.log'), { from: ends[3], to: ends[7] }), 'line 4\nline 5\nline 6\nline 7\n', 'a run that spans three files');
  t.equal(await read(path.join(dir, 'c.log'), { from: ends[9] }), '', 'nothing after the end');
});

t.test('what rotation removed is skipped; P entries join across files', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-log-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true }));
  const ends = layOut(dir, [entry('a'), entry('b'), entry('half ', 'P'), entry('whole'), entry('é'.repeat(40000)), entry('z')], 2, 2);
  t.equal(fs.readdirSync(dir).length, 2, 'LOG and one rotated');
  t.equal(await read(path.join(dir, 'c.log'), { from: 0 }), `half whole\n${'é'.repeat(40000)}\nz\n`, 'from before the oldest kept: from the oldest kept');
  t.equal(await read(path.join(dir, 'c.log'), { from: ends[3] }), `${'é'.repeat(40000)}\nz\n`, 'multi-byte text split across read chunks stays whole');
});

t.test('no log yet: nothing, and no error', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-log-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true }));
  t.same(snapshotLogFiles(path.join(dir, 'c.log')), []);
  t.equal(await read(path.join(dir, 'c.log')), '');
  fs.writeFileSync(path.join(dir, 'c.log.txt'), 'not ours');
  fs.writeFileSync(path.join(dir, 'other.log.0'), 'not ours');
  t.same(snapshotLogFiles(path.join(dir, 'c.log')), [], 'other names are not rotated files of c.log');
});

t.test('following sees a rotation that happens while it reads', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-log-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true }));
  const log = path.join(dir, 'c.log');
  fs.writeFileSync(log, entry('one'));
  let out = '';
  let finished = false;
  const following = streamLog(log, (s) => { out += s; }, { follow: true, done: () => finished });
  await new Promise((r) => setTimeout(r, 150));
  // rotate twice between two polls: nothing may be lost
  fs.appendFileSync(log, entry('two'));
  const size1 = fs.statSync(log).size;
  fs.renameSync(log, `${log}.0`);
  fs.writeFileSync(log, entry('three'));
  const size2 = fs.statSync(log).size;
  fs.renameSync(log, `${log}.${size1}`);
  fs.writeFileSync(log, entry('four'));
  t.ok(size2 > 0);
  await new Promise((r) => setTimeout(r, 250));
  finished = true;
  await following;
  t.equal(out, 'one\ntwo\nthree\nfour\n');
});

t.test('rotation settings', async (t) => {
  const names = { maxSize: 'size', maxFiles: 'files' };
  t.same(checkLogRotation({ maxSize: 10 * 1048576, maxFiles: 5 }, names), { maxSize: 10 * 1048576, maxFiles: 5 });
  t.throws(() => checkLogRotation({ maxSize: 1000, maxFiles: 5 }, names), /^size: 1000 bytes is below the smallest rotation size/);
  t.throws(() => checkLogRotation({ maxSize: 1e6, maxFiles: 1 }, names), /files: must be at least 2/);
  t.throws(() => checkLogRotation({ maxSize: 1e6 + 0.5, maxFiles: 2 }, names), /size/);
});
