/** kubectl's output shapes: JSONPath templates and label selectors. */
import t from 'tap';
import { jsonPathTemplate, kubeList, matchesSelector, parseSelector } from '../../src/cli/kube-output';

const pods = kubeList([
  { metadata: { name: 'web', labels: { app: 'web', tier: 'front' } }, status: { phase: 'Running', podIP: '10.0.0.2' } },
  { metadata: { name: 'db', labels: { app: 'db' } }, status: { phase: 'Pending' } },
]);

t.test('templates: paths, several results, literals, range … end', async (t) => {
  t.equal(jsonPathTemplate('{.items[0].status.phase}', pods), 'Running');
  t.equal(jsonPathTemplate('{.items[*].metadata.name}', pods), 'web db', 'several results: space-separated');
  t.equal(jsonPathTemplate('{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}', pods), 'web\tRunning\ndb\tPending\n');
  t.equal(jsonPathTemplate('ip={.items[0].status.podIP} none={.items[1].status.podIP}.', pods), 'ip=10.0.0.2 none=.', 'text around; a missing field prints nothing');
  t.equal(jsonPathTemplate('{.items[0].metadata.labels}', pods), '{"app":"web","tier":"front"}', 'objects as JSON');
  t.equal(jsonPathTemplate('{"{braces}"}', pods), '{braces}');
  t.throws(() => jsonPathTemplate('{.items', pods), /unclosed/);
  t.throws(() => jsonPathTemplate('{range .items[*]}{.metadata.name}', pods), /without \{end\}/);
});

t.test('selectors: equality, inequality, existence, sets', async (t) => {
  const l = { app: 'web', tier: 'front' };
  const m = (s: string): boolean => matchesSelector(l, parseSelector(s));
  t.ok(m('app=web'));
  t.ok(m('app==web,tier=front'));
  t.notOk(m('app=web,tier=back'));
  t.ok(m('app!=db'));
  t.ok(m('env!=prod'), 'a missing label is not equal');
  t.ok(m('tier'));
  t.notOk(m('!tier'));
  t.ok(m('app in (db, web)'));
  t.notOk(m('app notin (db,web)'));
  t.ok(m('app in (web),tier'));
  t.throws(() => parseSelector('app=(x'), /--selector app=\(x: cannot read/);
});
