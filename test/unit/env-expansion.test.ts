/** $(VAR) expansion as kubelet does it (the cases of its expansion package's tests, restated). */
import t from 'tap';
import { expandEnv, expandReferences } from '../../src/pod/env-expansion';

const vars: Record<string, string> = { VAR_A: 'A', VAR_B: 'B', VAR_EMPTY: '' };
const expand = (s: string): string => expandReferences(s, (n) => vars[n]);

t.test('references, escapes, and what stays as written', async (t) => {
  const cases: Array<[string, string]> = [
    ['$(VAR_A)', 'A'],
    ['___$(VAR_B)___', '___B___'],
    ['$(VAR_A)-$(VAR_A)', 'A-A'],
    ['$(VAR_A)$(VAR_B)', 'AB'],
    ['$(VAR_EMPTY)x', 'x'],
    ['$$(VAR_A)', '$(VAR_A)'],
    ['$$$(VAR_A)', '$A'],
    ['$$$$', '$$'],
    ['$(VAR_DNE)', '$(VAR_DNE)'],
    ['$(VAR_A', '$(VAR_A'],
    ['x$(', 'x$('],
    ['$VAR_A', '$VAR_A'],
    ['$', '$'],
    ['foo$', 'foo$'],
    ['$()', '$()'],
    ['no refs', 'no refs'],
    ['$(VAR_A)$(', 'A$('],
  ];
  for (const [input, want] of cases) t.equal(expand(input), want, JSON.stringify(input));
});

t.test('env: each literal value against the variables before it; values from elsewhere as they are', async (t) => {
  t.same(expandEnv([
    { name: 'A', value: '1', literal: true },
    { name: 'B', value: '$(A)-x', literal: true },
    { name: 'C', value: '$(D)', literal: true },
    { name: 'D', value: 'd', literal: true },
    { name: 'E', value: '$(A)', literal: false },
    { name: 'A', value: '2', literal: true },
    { name: 'F', value: '$(A)', literal: true },
  ]), [
    { name: 'A', value: '1' },
    { name: 'B', value: '1-x' },
    { name: 'C', value: '$(D)' },
    { name: 'D', value: 'd' },
    { name: 'E', value: '$(A)' },
    { name: 'A', value: '2' },
    { name: 'F', value: '2' },
  ]);
});
