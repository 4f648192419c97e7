// Browser test of the xctl dashboard, against a running xctl-gateway (and xctld behind it).
//
//   XCTL_GATEWAY_URL=http://127.0.0.1:8080 XCTL_TEST_STRATEGY=tv-demo \
//     node tests/browser/dashboard.test.mjs
//
// Env:
//   XCTL_GATEWAY_URL     base URL of the gateway (required); the dashboard is its "/" page
//   XCTL_TEST_STRATEGY   a running paper strategy allowed to trade BTC-USDT that does not trade by
//                        itself (a signal-driven one: default tv-demo, from server/config/demo.yaml);
//                        an open BTC-USDT position it already has is closed first (reduce-only)
//   XCTL_SCREENSHOT      where to save the screenshot (default /tmp/xctl-dashboard.png)
//   XCTL_CHROMIUM        the browser (default /usr/bin/chromium, Debian's; nothing is downloaded)
//
// Steps (at most 20 s each):
//   1. the page shows a BTC-USDT price, and the shown price changes within 10 s;
//   2. the connection indicator says the streams are live;
//   3. an order placed through the REST API (POST /v1/orders, buy 1 BTC-USDT) shows up as a new
//      open position row of the strategy, without reloading the page;
//   4. the page loaded nothing from any other origin and threw no error;
//   5. a full-page screenshot is saved (also when an earlier step failed).
// Exits 0 when every step passed, 1 otherwise (2 for a usage error), printing
// "N passed, M failed" last.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const STEP_MS = 20000;
const PRICE_CHANGE_MS = 10000;
const PAIR = 'BTC-USDT';

const baseUrl = (process.env.XCTL_GATEWAY_URL || '').replace(/\/+$/, '');
const strategy = process.env.XCTL_TEST_STRATEGY || 'tv-demo';
const screenshotPath = process.env.XCTL_SCREENSHOT || '/tmp/xctl-dashboard.png';
const chromiumPath = process.env.XCTL_CHROMIUM || '/usr/bin/chromium';

if (!baseUrl) {
  console.error('XCTL_GATEWAY_URL is not set: give the base URL of a running xctl-gateway, ' +
    'for example XCTL_GATEWAY_URL=http://127.0.0.1:8080');
  process.exit(2);
}
if (!fs.existsSync(chromiumPath)) {
  console.error(`${chromiumPath} not found: install Debian's Chromium (apt-get install -y chromium) ` +
    'or point XCTL_CHROMIUM at a Chromium binary');
  process.exit(2);
}
const origin = new URL(baseUrl).origin;

// ---------------------------------------------------------------------------------------------

class StepError extends Error {}

// A failure as one readable message: ours as is, a Playwright or Node error without its stack.
function describe(err) {
  if (err instanceof StepError) return err.message;
  // eslint-disable-next-line no-control-regex
  const text = String((err && err.message) || err).replace(/\x1b\[[0-9;]*m/g, '');
  return text.split('\n').filter((l) => l.trim()).slice(0, 4).join(' | ');
}

function fail(message) {
  throw new StepError(message);
}

async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new StepError(`timed out after ${ms / 1000} s: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const results = [];

async function step(name, fn, { ms = STEP_MS, skipIf } = {}) {
  const n = results.length + 1;
  if (skipIf) {
    results.push({ name, ok: false, skipped: true });
    console.log(`not ok ${n} - ${name}: skipped (${skipIf})`);
    return false;
  }
  const started = Date.now();
  try {
    const detail = await withTimeout(fn(), ms, name);
    results.push({ name, ok: true });
    console.log(`ok ${n} - ${name} (${Date.now() - started} ms)${detail ? `: ${detail}` : ''}`);
    return true;
  } catch (err) {
    const msg = describe(err);
    results.push({ name, ok: false });
    console.log(`not ok ${n} - ${name}: ${msg}`);
    return false;
  }
}

async function api(method, pathAndQuery, body) {
  const res = await fetch(`${baseUrl}${pathAndQuery}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(STEP_MS),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* reported below */ }
  if (!res.ok) {
    fail(`${method} ${pathAndQuery} -> HTTP ${res.status}: ${json && json.message ? json.message : text.slice(0, 300)}`);
  }
  if (json === null) fail(`${method} ${pathAndQuery} -> not JSON: ${text.slice(0, 300)}`);
  return json;
}

// Ids of the strategy's open position rows on the page.
async function openRowIds(page) {
  return page.$$eval(`#open-positions tbody tr[data-position-id][data-strategy="${strategy}"]`,
    (rows) => rows.map((r) => r.getAttribute('data-position-id')));
}

// ---------------------------------------------------------------------------------------------

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xctl-chromium-'));
let context;
const foreignRequests = [];
const pageErrors = [];
const consoleErrors = [];

async function run() {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1440, height: 1000 },
    timeout: STEP_MS,
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith('data:') || url.startsWith('blob:')) return;
    try {
      if (new URL(url).origin !== origin) foreignRequests.push(url);
    } catch {
      foreignRequests.push(url);
    }
  });
  page.on('pageerror', (err) => pageErrors.push(String(err && err.message ? err.message : err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });

  const priceCell = `#prices tr[data-pair="${PAIR}"] [data-testid="price-${PAIR}"]`;

  const priceOk = await step(`dashboard shows a ${PAIR} price that changes within ${PRICE_CHANGE_MS / 1000} s`, async () => {
    const res = await page.goto(`${baseUrl}/`, { waitUntil: 'domcontentloaded' });
    if (!res || !res.ok()) fail(`GET ${baseUrl}/ -> HTTP ${res ? res.status() : 'no response'}`);
    await page.waitForFunction((sel) => {
      const cell = document.querySelector(sel);
      return cell && /\d/.test(cell.textContent);
    }, priceCell, { timeout: STEP_MS - PRICE_CHANGE_MS }).catch(() => {
      fail(`no ${PAIR} price shown in ${priceCell} within ${(STEP_MS - PRICE_CHANGE_MS) / 1000} s`);
    });
    const first = (await page.textContent(priceCell)).trim();
    const changed = await page.waitForFunction(([sel, was]) => {
      const cell = document.querySelector(sel);
      const now = cell ? cell.textContent.trim() : '';
      return /\d/.test(now) && now !== was ? now : false;
    }, [priceCell, first], { timeout: PRICE_CHANGE_MS }).catch(() => null);
    if (!changed) fail(`the shown ${PAIR} price stayed at ${first} for ${PRICE_CHANGE_MS / 1000} s`);
    const pairs = await page.$$eval('#prices tbody tr[data-pair]', (rows) => rows.map((r) => r.dataset.pair));
    return `${first} -> ${await changed.jsonValue()} (pairs shown: ${pairs.join(', ')})`;
  });

  await step('connection indicator says live', async () => {
    const ok = await page.waitForFunction(() => document.querySelector('#status')?.dataset.state === 'live',
      null, { timeout: STEP_MS - 1000 }).catch(() => null);
    if (!ok) {
      const s = await page.$eval('#status', (e) => `${e.dataset.state}: ${e.textContent.trim()} [${e.title}]`);
      fail(`#status is ${s}`);
    }
    return (await page.textContent('#status .status-label')).trim();
  }, { skipIf: priceOk ? undefined : 'the page did not load' });

  await step(`an order for ${strategy} appears as a new open ${PAIR} position without reload`, async () => {
    // Wait for the positions stream's snapshot so the rows present before the order are known.
    await page.waitForFunction(() =>
      document.querySelector('#status .stream-pill[data-stream="positions"]')?.classList.contains('stream-live'),
    null, { timeout: 5000 }).catch(() => fail('the positions stream never became live'));

    // One position per strategy and symbol (net mode): buying onto an open BTC-USDT position
    // would add to that row instead of opening one. Close it first with a reduce-only order.
    const q = new URLSearchParams({ status: 'open', strategy_id: strategy, page_size: '50' });
    const existing = ((await api('GET', `/v1/positions?${q}`)).positions || [])
      .filter((p) => p.symbol === PAIR && p.strategy_id === strategy);
    for (const p of existing) {
      console.log(`# closing ${strategy}'s open ${PAIR} position ${p.id} (${p.side} ${p.quantity}) first`);
      await api('POST', '/v1/orders', {
        strategy_id: strategy, symbol: PAIR, type: 'ORDER_TYPE_MARKET', reduce_only: true,
        side: p.side === 'POSITION_SIDE_SHORT' ? 'SIDE_BUY' : 'SIDE_SELL', quantity: p.quantity,
      });
      await page.waitForSelector(`#open-positions tbody tr[data-position-id="${p.id}"]`,
        { state: 'detached', timeout: 5000 }).catch(() => fail(`closed position ${p.id} still shown as open`));
    }

    const before = new Set(await openRowIds(page));
    const url = page.url();
    const placed = await api('POST', '/v1/orders', {
      strategy_id: strategy, symbol: PAIR, side: 'buy', type: 'market', quantity: '1',
    });
    const order = placed.order || {};
    if (order.status === 'ORDER_STATUS_REJECTED') fail(`order rejected: ${order.reject_reason || '(no reason)'}`);

    const rowSel = `#open-positions tbody tr[data-position-id][data-strategy="${strategy}"][data-symbol="${PAIR}"]`;
    const id = await page.waitForFunction(([sel, known]) => {
      for (const row of document.querySelectorAll(sel)) {
        const id = row.getAttribute('data-position-id');
        if (!known.includes(id)) return id;
      }
      return false;
    }, [rowSel, [...before]], { timeout: 10000 }).then((h) => h.jsonValue()).catch(() => null);
    if (!id) {
      const shown = await openRowIds(page);
      fail(`no new open ${PAIR} row for ${strategy} within 10 s of order ${order.id || '?'} ` +
        `(${order.status || 'no status'}); rows of ${strategy} before: [${[...before].join(', ')}], ` +
        `now: [${shown.join(', ')}]`);
    }
    if (page.url() !== url) fail(`the page navigated (${url} -> ${page.url()})`);
    const row = await page.$eval(`#open-positions tbody tr[data-position-id="${id}"]`, (r) =>
      Object.fromEntries([...r.cells].map((c) => [c.dataset.col, c.textContent.trim()])));
    if (row.side !== 'LONG') fail(`new row ${id} shows side ${row.side}, expected LONG`);
    if (!/\d/.test(row.upnl || '')) fail(`new row ${id} shows no unrealized PnL (${row.upnl})`);
    return `order ${order.id || '?'} ${order.status || ''} -> row ${id}: ${row.side} ${row.qty} @ ${row.open}, ` +
      `mark ${row.mark}, unrealized ${row.upnl}`;
  }, { skipIf: priceOk ? undefined : 'the page did not load' });

  await step('the page loaded nothing from other origins and threw no error', async () => {
    const problems = [];
    if (foreignRequests.length) problems.push(`requests to other origins: ${foreignRequests.join(', ')}`);
    if (pageErrors.length) problems.push(`page errors: ${pageErrors.join(' | ')}`);
    const csp = consoleErrors.filter((m) => /Content Security Policy/i.test(m));
    if (csp.length) problems.push(`CSP violations: ${csp.join(' | ')}`);
    if (problems.length) fail(problems.join('; '));
  });

  await step(`screenshot saved to ${screenshotPath}`, async () => {
    fs.mkdirSync(path.dirname(path.resolve(screenshotPath)), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true, timeout: STEP_MS });
    return `${fs.statSync(screenshotPath).size} bytes`;
  });
}

let exitCode = 1;
try {
  await withTimeout(run(), 150000, 'the whole test');
} catch (err) {
  console.log(`not ok - ${describe(err)}`);
  if (/Executable doesn't exist|Failed to launch/i.test(String(err))) {
    console.log(`# could not start ${chromiumPath}`);
  }
  results.push({ name: 'run', ok: false });
} finally {
  if (consoleErrors.length) {
    console.log(`# browser console errors (${consoleErrors.length}):`);
    for (const m of consoleErrors.slice(0, 20)) console.log(`#   ${m}`);
  }
  if (context) await withTimeout(context.close(), 10000, 'closing the browser').catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  exitCode = failed === 0 && passed > 0 ? 0 : 1;
  if (failed) console.log(`FAILED: ${results.filter((r) => !r.ok).map((r) => r.name).join('; ')}`);
  console.log(`${passed} passed, ${failed} failed`);
}
process.exit(exitCode);
