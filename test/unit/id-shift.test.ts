/** File capabilities rooted in a user namespace's range (what a shifted copy of a layer keeps). Pure. */
import t from 'tap';
import { capsRootedAt } from '../../src/image/id-shift';

t.test('a revision 2 capability xattr becomes revision 3 rooted at the range; revision 3 gets the new root; others stay', async (t) => {
  // cap_net_raw+ep as setcap writes it: revision 2, effective, permitted bit 13
  const v2 = Buffer.alloc(20);
  v2.writeUInt32LE(0x02000001, 0);
  v2.writeUInt32LE(1 << 13, 4);
  const v3 = capsRootedAt(v2, 0x80000000);
  t.equal(v3.length, 24);
  t.equal(v3.readUInt32LE(0), 0x03000001, 'revision 3, the effective flag kept');
  t.equal(v3.readUInt32LE(4), 1 << 13, 'the same capabilities');
  t.equal(v3.readUInt32LE(20), 0x80000000, 'rooted at the range\'s first id');
  t.equal(capsRootedAt(v3, 7).readUInt32LE(20), 7, 'revision 3: its root replaced');
  const v1 = Buffer.alloc(12);
  v1.writeUInt32LE(0x01000000, 0);
  t.equal(capsRootedAt(v1, 7), v1, 'revision 1 (too short to root) as it is');
  const odd = Buffer.alloc(20);
  odd.writeUInt32LE(0x09000000, 0);
  t.equal(capsRootedAt(odd, 7), odd, 'an unknown revision as it is');
});
