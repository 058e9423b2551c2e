// Browser checks for issue #13's "why this node?" view and the engineer's
// configuration round trip. Each export takes the harness `t` from
// browser.mjs: { page, context, base, check, runFor, artifacts }.
import path from 'node:path';

// The view's values (data-value of each cell) against Sim.why() for the same, paused, state.
function viewAgainstCore() {
  const S = window.edgepick, w = S.sim.why(), el = document.getElementById('why');
  const keys = ['v_net', 'v_fs', 'a', 'd_ms', 'b_r_mbps'];
  let cells = 0, differ = [];
  w.nodes.forEach(n => keys.forEach(k => {
    const td = el.querySelector(`[data-testid="why-${n.name}-${k}"]`);
    if (!td) return;
    cells++;
    const shown = td.dataset.value === '' ? null : Number(td.dataset.value);
    if (shown !== (n[k] ?? null)) differ.push(`${n.name}.${k}: ${td.dataset.value} vs ${n[k]}`);
  }));
  const band = el.querySelector('[data-testid="why-band"]');
  return {
    decided: el.dataset.decided, core: w.decided_by, choice: el.dataset.choice, coreChoice: w.choice_name,
    step: el.querySelector('[data-testid="why-step"]').textContent, cells, differ,
    band: band ? Number(band.dataset.value) : null, coreBand: w.band_from,
    drawn: S.topologyText.picked, coreIndex: w.choice, nodes: w.nodes.length,
  };
}

// Wait for the view to refresh (every 250 ms) after a change.
const settle = page => page.waitForTimeout(400);

/** The view shows the core's decision: values equal Sim.why(), the deciding step named, the pick drawn. */
export async function whyView(t) {
  const { page, check } = t;
  if (await page.evaluate(() => window.edgepick.running)) await page.click('#play');
  await page.selectOption('#preset', 'homogeneous');
  await page.selectOption('#algorithm', 'rfws');
  await page.selectOption('#speed', '4');
  await page.click('#play');
  await t.runFor(3000);
  await page.click('#play'); // pause: the state the view shows is the one asked about
  await settle(page);
  const v = await page.evaluate(viewAgainstCore);
  check('why this node: the view equals the core\'s decision on an RFWS preset',
    v.decided === v.core && v.choice === v.coreChoice && v.cells === 5 * v.nodes && !v.differ.length && v.band === v.coreBand && /step [3-6]/.test(v.step),
    `${v.choice} by ${v.decided} (${v.step}); ${v.cells} cells, differing: ${v.differ.slice(0, 3).join('; ') || 'none'}`);
  check('why this node: the pick is highlighted on the canvas', v.drawn === v.coreIndex && v.drawn !== null, `drawn ${v.drawn}, core ${v.coreIndex}`);

  // Two nodes equal but for the route's delay: step 4 decides, for the nearer one.
  await page.evaluate(() => {
    const S = window.edgepick, s = S.topo.servers[0];
    const node = (name, y, delay) => ({ ...s, name, y, link: { ...s.link, delay_ms: delay } });
    S.topo.servers = [node('near', 120, 5), node('far', 320, 20)];
    S.topo.algorithm = { name: 'rfws' };
  });
  await page.click('#reset');
  await settle(page);
  const tie = await page.evaluate(viewAgainstCore);
  check('why this node: a tie differing only by delay says the delay decided',
    tie.decided === 'delay' && tie.core === 'delay' && tie.choice === 'near' && /smallest delay D/.test(tie.step) && !tie.differ.length,
    `${tie.choice} by ${tie.decided}: ${tie.step}`);

  // Hovering a node on the canvas brings its row forward.
  const box = await page.locator('#topology').boundingBox();
  const [cw, ch, far] = await page.evaluate(() => { const c = document.getElementById('topology'), f = window.edgepick.topo.servers[1]; return [c.width, c.height, f]; });
  await page.mouse.move(box.x + far.x * box.width / cw, box.y + far.y * box.height / ch);
  await settle(page);
  const hovered = await page.locator('[data-testid="why-far"]').getAttribute('class');
  check('why this node: hovering a node on the canvas brings its row forward', /focus/.test(hovered || ''), `row class "${hovered}"`);
  const shot = path.join(t.artifacts, 'web-demo-why.png');
  await page.locator('#why').screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
  await page.mouse.move(box.x + 2, box.y + 2);
}

/** Import keeps every field the simulator can represent and names the others; export keeps them and draws a fresh key. */
export async function roundTrip(t) {
  const { page, check } = t;
  if (await page.evaluate(() => window.edgepick.running)) await page.click('#play');
  await page.selectOption('#preset', 'homogeneous');
  await page.click('#export-btn');
  const doc = JSON.parse(await page.inputValue('#config-text'));
  doc.algorithm = { name: 'rfws', tie_tolerance: 0.125, load_threshold: 0.75 };
  doc.fallbacks = 3;
  doc.backends.forEach((b, i) => Object.assign(b, { capacity: 10 + i, address: `192.0.2.${i + 10}:8080`, url: `https://n${i}.shop.test` }));
  doc.cookie = { name: 'shop_session', keys: ['0123456789abcdef-own-key'], max_age_s: 120 };
  doc.client = { trusted_hops: 2 };
  await page.fill('#config-text', JSON.stringify(doc));
  await page.click('#import-btn');
  const st = await page.textContent('#config-status');
  const notes = await page.locator('#config-notes li').allInnerTexts();
  check('import names the fields the simulator cannot represent',
    /valid — applied/.test(st) && notes.length === 1 && /client\.trusted_hops/.test(notes[0]), `${st} | ${notes.join(' | ')}`);
  await page.click('#export-btn');
  const back = JSON.parse(await page.inputValue('#config-text'));
  // Equal as JSON values, whatever the order of object keys.
  const canon = v => (v && typeof v === 'object' && !Array.isArray(v)) ? Object.keys(v).sort().map(k => [k, canon(v[k])])
    : Array.isArray(v) ? v.map(canon) : v;
  const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
  const lost = ['algorithm', 'fallbacks'].filter(k => !same(back[k], doc[k]));
  doc.backends.forEach((b, i) => ['capacity', 'address', 'url', 'weight', 'link'].forEach(k => { if (!same(back.backends[i][k], b[k])) lost.push(`backends[${i}].${k}`); }));
  ['name', 'keys', 'max_age_s'].forEach(k => { if (!same(back.cookie?.[k], doc.cookie[k])) lost.push(`cookie.${k}`); });
  check('export after import keeps every field (capacity, addresses, URLs, cookie, fallbacks, tie_tolerance, load_threshold)',
    !lost.length, lost.length ? `lost: ${lost.join(', ')}; algorithm ${JSON.stringify(back.algorithm)}` : `capacity ${back.backends.map(b => b.capacity).join(',')}`);

  // A sticky scenario without keys of its own: a fresh key per export; DNS exported for edgepick-dns.
  await page.selectOption('#preset', 'homogeneous');
  await page.selectOption('#method', 'dns');
  await page.evaluate(() => { window.edgepick.topo.sticky = true; });
  const keys = [];
  for (let k = 0; k < 2; k++) {
    await page.click('#export-btn');
    keys.push(JSON.parse(await page.inputValue('#config-text')).cookie.keys[0]);
  }
  const dnsNotes = (await page.locator('#config-notes li').allInnerTexts()).join(' | ');
  const dnsDoc = JSON.parse(await page.inputValue('#config-text'));
  check('each export draws its own cookie key', keys[0] !== keys[1] && keys.every(k => /^[0-9a-f]{32}$/.test(k)), keys.join(' / '));
  check('DNS with a TTL exports as edgepick-dns (its dns section, the TTL in seconds) and says so',
    /edgepick-dns/.test(dnsNotes) && dnsDoc.dns?.ttl_s >= 1 && Array.isArray(dnsDoc.dns?.names), `${dnsNotes} ${JSON.stringify(dnsDoc.dns)}`);
  await page.selectOption('#method', 'proxy');

  // Entered in the editor: exported as written; emptied again: a placeholder, said so.
  await page.selectOption('#pick', 'server:0');
  const edit = async (path, v) => {
    const input = page.locator(`#editor input[data-path="${path}"]`);
    await input.fill(v); await input.dispatchEvent('change');
  };
  await edit('address', '203.0.113.5:8443');
  await edit('capacity', '12');
  await page.click('#export-btn');
  const typed = JSON.parse(await page.inputValue('#config-text')).backends[0];
  await edit('address', '');
  await page.click('#export-btn');
  const emptied = JSON.parse(await page.inputValue('#config-text')).backends[0];
  const placeholderNote = (await page.locator('#config-notes li').allInnerTexts()).some(n => n.includes(`${emptied.address} is a placeholder`));
  check('an address and capacity typed in the editor are exported as written; an empty address is a placeholder, said so',
    typed.address === '203.0.113.5:8443' && typed.capacity === 12 && emptied.address !== typed.address && placeholderNote,
    `typed ${typed.address} / ${typed.capacity}; emptied ${emptied.address}`);
}
