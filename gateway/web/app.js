// xctl dashboard: live prices, strategies with their KPIs, equity curves, open and recent closed
// positions. Reads the gateway's REST API and three SSE streams on the page's own origin.

import {
  DASH, compareDecimal, decimalString, enumLabel, fmtClock, fmtDateTime, fmtDecimal,
  fmtDuration, fmtInt, fmtMoney, fmtPercent, signOf, timeMs, toChartNumber,
} from './format.js';
import { EquityChart, Sparkline } from './charts.js';
import { State, Stream } from './streams.js';

const API = '/v1';
const CLOSED_PER_STRATEGY = 20;
const STRATEGY_REFRESH_MS = 20000;
const NOTICE_TTL_MS = 15000;
const ALL = '__all__';

// ---------------------------------------------------------------------------------------------
// State

const state = {
  pairs: new Map(),        // pair -> {tick, row, sparkline}
  strategies: new Map(),   // id -> Strategy (REST)
  kpis: new Map(),         // strategy id -> Kpis
  totalKpis: null,         // scope "all"
  open: new Map(),         // position id -> Position (open)
  closed: new Map(),       // position id -> Position (closed)
  equity: new Map(),       // strategy id or ALL -> {card, chart, ...}
  filter: '',
  closedSeeded: new Set(), // strategy ids whose closed history was fetched
  lastMessageAt: 0,
};

// ---------------------------------------------------------------------------------------------
// DOM helpers (text only: no data ever goes through innerHTML)

const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c);
  return node;
}

// Sets a cell's text (and tooltip / classes) only when it changed; flashes it up or down.
function setCell(td, text, { title, cls, flash } = {}) {
  if (td.textContent !== text) td.textContent = text;
  if (title !== undefined && td.title !== title) td.title = title;
  if (cls !== undefined) {
    const want = cls.split(' ');
    for (const c of ['pos', 'neg', 'flat']) td.classList.toggle(c, want.includes(c));
  }
  if (flash) {
    td.classList.remove('flash-up', 'flash-down');
    void td.offsetWidth; // restart the animation
    td.classList.add(flash > 0 ? 'flash-up' : 'flash-down');
  }
}

function pnlClass(d) {
  const s = signOf(d);
  return s > 0 ? 'pos' : s < 0 ? 'neg' : 'flat';
}

function exact(d) {
  const s = decimalString(d);
  return s === undefined ? '' : s;
}

function modeBadge(mode) {
  const label = enumLabel(mode, 'TRADING_MODE_');
  const kind = label === 'LIVE' ? 'live' : label === 'PAPER' ? 'paper' : 'unknown';
  return el('span', { class: `badge mode-${kind}`, 'data-mode': label, text: label,
    title: kind === 'live' ? 'Live: orders go to the exchange with real money' : 'Paper: simulated' });
}

function setBadge(td, badge) {
  const old = td.firstElementChild;
  if (old && old.textContent === badge.textContent && old.className === badge.className &&
      old.title === badge.title) return;
  td.replaceChildren(badge);
}

function statusBadge(status, message) {
  const label = enumLabel(status, 'STRATEGY_STATUS_');
  const kind = /^[A-Z_]+$/.test(label) ? label.toLowerCase() : 'unknown';
  return el('span', { class: `badge status-${kind}`, text: label, title: message || label });
}

function sideBadge(side) {
  const label = enumLabel(side, 'POSITION_SIDE_');
  return el('span', { class: `side side-${label.toLowerCase()}`, text: label });
}

function updateEmpty(tableId, count) {
  const p = document.querySelector(`[data-empty-for="${tableId}"]`);
  if (p) p.hidden = count > 0;
}

// Keeps tbody's rows equal to `keys` in that order, creating missing rows and removing others.
function syncRows(tbody, keys, rowOf, create) {
  const want = new Set(keys);
  for (const row of [...tbody.rows]) if (!want.has(row.dataset.key)) row.remove();
  let prev = null;
  for (const key of keys) {
    let row = rowOf(key);
    if (!row) row = create(key);
    const expected = prev ? prev.nextElementSibling : tbody.firstElementChild;
    if (row !== expected) tbody.insertBefore(row, expected);
    prev = row;
  }
}

// ---------------------------------------------------------------------------------------------
// Notices and connection status

const notices = new Map(); // key -> {node, timer}

function notice(key, text, level = 'info', ttl = NOTICE_TTL_MS) {
  let n = notices.get(key);
  if (!n) {
    const node = el('div', { class: `notice notice-${level}`, role: level === 'error' ? 'alert' : undefined });
    const close = el('button', { type: 'button', class: 'notice-close', 'aria-label': 'Dismiss', text: '×' });
    close.addEventListener('click', () => clearNotice(key));
    node.append(el('span', { class: 'notice-text' }), close);
    $('#notices').append(node);
    n = { node, timer: null };
    notices.set(key, n);
  }
  n.node.className = `notice notice-${level}`;
  n.node.firstChild.textContent = `${fmtClock(Date.now())}  ${text}`;
  clearTimeout(n.timer);
  if (ttl > 0) n.timer = setTimeout(() => clearNotice(key), ttl);
}

function clearNotice(key) {
  const n = notices.get(key);
  if (!n) return;
  clearTimeout(n.timer);
  n.node.remove();
  notices.delete(key);
}

const streams = [];

function renderStatus() {
  const box = $('#status');
  const states = streams.map((s) => s.state);
  let overall;
  let label;
  if (states.every((s) => s === State.LIVE)) {
    overall = 'live';
    label = 'Live';
  } else if (states.every((s) => s === State.CONNECTING)) {
    overall = 'connecting';
    label = 'Connecting…';
  } else if (states.every((s) => s === State.RETRYING || s === State.CLOSED)) {
    overall = 'offline';
    label = 'Offline, reconnecting…';
  } else {
    overall = 'degraded';
    const down = streams.filter((s) => s.state !== State.LIVE).map((s) => s.name);
    label = `Reconnecting ${down.join(', ')}…`;
  }
  box.dataset.state = overall;
  document.body.dataset.connection = overall;
  $('.status-label', box).textContent = label;
  const parts = streams.map((s) => `${s.name}: ${s.state}${s.detail ? ` (${s.detail})` : ''}`);
  box.title = parts.join('\n') +
    (state.lastMessageAt ? `\nlast message ${fmtClock(state.lastMessageAt)}` : '');
  const list = $('.status-streams', box);
  list.replaceChildren(...streams.map((s) =>
    el('span', { class: `stream-pill stream-${s.state}`, 'data-stream': s.name, text: s.name })));
}

// ---------------------------------------------------------------------------------------------
// REST

async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : {}; } catch { /* not JSON */ }
  if (!res.ok) {
    const msg = body && body.message ? body.message : (text || res.statusText).slice(0, 200);
    throw new Error(`${res.status}: ${msg}`);
  }
  if (body === null) throw new Error('response is not JSON');
  return body;
}

let strategyRefresh = null;

async function loadStrategies() {
  try {
    const body = await getJson(`${API}/strategies`);
    const seen = new Set();
    for (const s of body.strategies || []) {
      state.strategies.set(s.id, s);
      seen.add(s.id);
    }
    for (const id of [...state.strategies.keys()]) if (!seen.has(id)) state.strategies.delete(id);
    clearNotice('strategies');
    renderStrategies();
    renderFilterOptions();
    renderSummary();
    for (const id of seen) seedClosed(id);
  } catch (err) {
    notice('strategies', `Could not load strategies: ${err.message}`, 'error', 0);
  }
}

// A strategy seen in a stream but not in the list (created since): reload the list soon.
function strategiesChanged() {
  if (strategyRefresh) return;
  strategyRefresh = setTimeout(() => {
    strategyRefresh = null;
    loadStrategies();
  }, 1000);
}

// The positions stream's snapshot holds open positions only: fetch each strategy's recent
// closed ones once; later closes arrive on the stream (include_closed).
async function seedClosed(id) {
  if (state.closedSeeded.has(id) || state.closedSeeded.size >= 100) return;
  state.closedSeeded.add(id);
  const q = new URLSearchParams({ status: 'POSITION_STATUS_CLOSED', page_size: String(CLOSED_PER_STRATEGY),
    strategy_id: id });
  try {
    const body = await getJson(`${API}/positions?${q}`);
    for (const p of body.positions || []) if (!state.closed.has(p.id)) addClosed(p);
    renderClosed();
  } catch (err) {
    state.closedSeeded.delete(id);
    notice(`closed-${id}`, `Could not load closed positions of ${id}: ${err.message}`, 'warn');
  }
}

// ---------------------------------------------------------------------------------------------
// Prices

function onPriceMessage(msg) {
  if (msg.snapshot) {
    for (const t of msg.snapshot.ticks || []) applyTick(t);
  } else if (msg.update) {
    for (const t of msg.update.ticks || []) applyTick(t);
  } else if (msg.status) {
    const { code, message, keys = [] } = msg.status;
    if (code === 'STALE' || code === 'RECOVERED') {
      for (const pair of keys) {
        const p = state.pairs.get(pair);
        if (p) {
          p.tick = { ...p.tick, stale: code === 'STALE' };
          renderTick(p);
        }
      }
    }
    notice(`price-status-${code}`, `Prices: ${message || code}${keys.length ? ` (${keys.join(', ')})` : ''}`,
      code === 'RECOVERED' ? 'info' : 'warn');
  }
}

function applyTick(tick) {
  if (!tick || !tick.pair) return;
  let p = state.pairs.get(tick.pair);
  if (!p) {
    p = createPriceRow(tick.pair);
    state.pairs.set(tick.pair, p);
    updateEmpty('prices', state.pairs.size);
  }
  const prev = p.tick;
  p.tick = tick;
  renderTick(p, prev);
  const ms = timeMs(tick.exchange_time) || timeMs(tick.receive_time) || Date.now();
  p.sparkline.add(ms, toChartNumber(tick.last));
}

function createPriceRow(pair) {
  const row = el('tr', { 'data-pair': pair, dataset: { key: pair } });
  const cells = {
    pair: el('th', { scope: 'row', class: 'pair', text: pair }),
    bid: el('td', { class: 'num', 'data-testid': `bid-${pair}` }),
    ask: el('td', { class: 'num', 'data-testid': `ask-${pair}` }),
    last: el('td', { class: 'num price', 'data-testid': `price-${pair}` }),
    chart: el('td', { class: 'chart-col' }),
    time: el('td', { class: 'num time' }),
  };
  const box = el('div', { class: 'sparkline', 'data-testid': `chart-${pair}` });
  cells.chart.append(box);
  row.append(...Object.values(cells));
  const tbody = $('#prices tbody');
  tbody.append(row);
  return { tick: null, row, cells, sparkline: new Sparkline(box) };
}

function renderTick(p, prev) {
  const t = p.tick;
  const dir = prev ? compareDecimal(t.last, prev.last) : 0;
  setCell(p.cells.bid, fmtDecimal(t.bid), { title: exact(t.bid) });
  setCell(p.cells.ask, fmtDecimal(t.ask), { title: exact(t.ask) });
  setCell(p.cells.last, fmtDecimal(t.last), { title: exact(t.last), flash: dir || undefined });
  p.cells.last.dataset.value = exact(t.last);
  const when = t.exchange_time || t.receive_time;
  setCell(p.cells.time, t.stale ? `STALE ${fmtClock(when)}` : fmtClock(when),
    { title: `exchange ${t.exchange_time || DASH}\nreceived ${t.receive_time || DASH}\nsequence ${t.sequence ?? DASH}` });
  p.row.classList.toggle('stale', Boolean(t.stale));
}

// ---------------------------------------------------------------------------------------------
// KPIs and strategies

function onKpiMessage(msg) {
  const list = msg.snapshot ? msg.snapshot.kpis : msg.update ? msg.update.kpis : null;
  if (!list) return;
  let unknown = false;
  for (const k of list) {
    const scope = k.scope || {};
    if (scope.strategy_id) {
      state.kpis.set(scope.strategy_id, k);
      if (!state.strategies.has(scope.strategy_id)) unknown = true;
      addEquityPoint(scope.strategy_id, k);
    } else if (scope.all) {
      state.totalKpis = k;
      addEquityPoint(ALL, k);
    }
  }
  if (unknown) strategiesChanged();
  renderStrategies();
  renderSummary();
}

function strategyIds() {
  return [...new Set([...state.strategies.keys(), ...state.kpis.keys()])].sort();
}

function renderStrategies() {
  const tbody = $('#strategies tbody');
  const ids = strategyIds();
  syncRows(tbody, ids, (id) => tbody.querySelector(`tr[data-key="${CSS.escape(id)}"]`), createStrategyRow);
  for (const row of tbody.rows) fillStrategyRow(row);
  updateEmpty('strategies', ids.length);
}

const STRATEGY_COLS = ['id', 'type', 'mode', 'status', 'equity', 'pnl', 'ret', 'trades', 'win', 'dd', 'open'];

function createStrategyRow(id) {
  const row = el('tr', { 'data-strategy': id, dataset: { key: id }, tabindex: '0',
    title: 'Show this strategy\'s positions' });
  for (const c of STRATEGY_COLS) {
    const numeric = !['id', 'type', 'mode', 'status'].includes(c);
    const cell = c === 'id' ? el('th', { scope: 'row' }) : el('td', { class: numeric ? 'num' : undefined });
    cell.dataset.col = c;
    row.append(cell);
  }
  const pick = () => setFilter(state.filter === id ? '' : id);
  row.addEventListener('click', pick);
  row.addEventListener('keydown', (e) => { if (e.key === 'Enter') pick(); });
  return row;
}

function fillStrategyRow(row) {
  const id = row.dataset.strategy;
  const s = state.strategies.get(id) || {};
  const k = state.kpis.get(id) || {};
  const c = Object.fromEntries([...row.cells].map((cell) => [cell.dataset.col, cell]));
  if (!c.id.firstChild) {
    c.id.append(el('span', { class: 'sid', text: id }), el('span', { class: 'sname' }));
  }
  c.id.lastChild.textContent = s.name && s.name !== id ? s.name : '';
  setCell(c.type, s.type || DASH);
  setBadge(c.mode, modeBadge(s.mode));
  setBadge(c.status, statusBadge(s.status, s.status_message));
  row.classList.toggle('live', s.mode === 'TRADING_MODE_LIVE');
  row.classList.toggle('selected', state.filter === id);

  const prevEquity = c.equity.dataset.value;
  setCell(c.equity, fmtMoney(k.equity), { title: exact(k.equity),
    flash: prevEquity ? compareDecimal(k.equity, prevEquity) || undefined : undefined });
  c.equity.dataset.value = exact(k.equity);
  setCell(c.pnl, fmtMoney(k.total_pnl, { sign: true }), { cls: pnlClass(k.total_pnl),
    title: `realized ${exact(k.realized_pnl) || DASH}\nunrealized ${exact(k.unrealized_pnl) || DASH}\nfees ${exact(k.fees_paid) || DASH}` +
      `\nfunding ${exact(k.funding) || DASH}\nunexplained ${exact(k.unexplained) || DASH}\nliquidations ${fmtInt(k.liquidations)}` });
  setCell(c.ret, fmtPercent(k.return_fraction, { sign: true }), { cls: pnlClass(k.return_fraction),
    title: exact(k.return_fraction) });
  setCell(c.trades, k.scope ? fmtInt(k.closed_trades) : DASH);
  setCell(c.win, fmtPercent(k.win_rate, { places: 1 }), { title: exact(k.win_rate) });
  const dd = decimalString(k.max_drawdown);
  setCell(c.dd, dd === undefined ? DASH : `${fmtMoney(k.max_drawdown)} (${fmtPercent(k.max_drawdown_fraction)})`,
    { title: `${exact(k.max_drawdown)} = ${exact(k.max_drawdown_fraction)} of the peak` });
  setCell(c.open, k.scope ? fmtInt(k.open_positions) : DASH);
}

function renderSummary() {
  const k = state.totalKpis;
  if (k) {
    setCell($('#summary-equity'), fmtMoney(k.equity), { title: exact(k.equity) });
    setCell($('#summary-pnl'), fmtMoney(k.total_pnl, { sign: true }), { cls: pnlClass(k.total_pnl),
      title: exact(k.total_pnl) });
    setCell($('#summary-return'), fmtPercent(k.return_fraction, { sign: true }), { cls: pnlClass(k.return_fraction) });
    setCell($('#summary-open'), fmtInt(k.open_positions));
  }
  const all = [...state.strategies.values()];
  const live = all.filter((s) => s.mode === 'TRADING_MODE_LIVE').length;
  const dd = $('#summary-modes');
  const parts = [el('span', { text: `${all.length - live} paper` })];
  if (live) parts.push(' · ', el('span', { class: 'badge mode-live', text: `${live} LIVE` }));
  dd.replaceChildren(...parts);
}

function renderFilterOptions() {
  const select = $('#strategy-filter');
  const ids = strategyIds();
  const have = [...select.options].slice(1).map((o) => o.value);
  if (have.join('\n') === ids.join('\n')) return;
  select.replaceChildren(el('option', { value: '', text: 'All strategies' }),
    ...ids.map((id) => el('option', { value: id, text: id })));
  select.value = ids.includes(state.filter) ? state.filter : '';
}

function setFilter(id) {
  state.filter = id;
  $('#strategy-filter').value = id;
  for (const row of $('#strategies tbody').rows) row.classList.toggle('selected', row.dataset.strategy === id);
  applyFilter('#open-positions');
  applyFilter('#closed-positions');
}

function applyFilter(tableSel) {
  let shown = 0;
  for (const row of $(`${tableSel} tbody`).rows) {
    const hide = Boolean(state.filter) && row.dataset.strategy !== state.filter;
    if (row.hidden !== hide) row.hidden = hide;
    if (!hide) shown += 1;
  }
  updateEmpty(tableSel.slice(1), shown);
  if (tableSel === '#open-positions') {
    $('#open-count').textContent = state.open.size ? `(${shown}${state.filter ? ` of ${state.open.size}` : ''})` : '';
  }
}

// ---------------------------------------------------------------------------------------------
// Equity curves

function equityCard(id) {
  let e = state.equity.get(id);
  if (e) return e;
  const title = id === ALL ? 'All strategies' : id;
  const head = el('div', { class: 'equity-head' },
    el('span', { class: 'equity-title', text: title }),
    el('span', { class: 'equity-mode' }),
    el('span', { class: 'equity-value num' }),
    el('span', { class: 'equity-return num' }));
  const box = el('div', { class: 'equity-chart' });
  const card = el('figure', { class: 'equity-card', 'data-equity': id === ALL ? 'all' : id }, head, box);
  const grid = $('#equity-curves');
  // "All strategies" first, then by id.
  const after = [...grid.children].find((c) => c.dataset.equity !== 'all' && id !== ALL &&
    c.dataset.equity > id);
  if (id === ALL) grid.prepend(card);
  else grid.insertBefore(card, after || null);
  e = { card, head, chart: new EquityChart(box) };
  state.equity.set(id, e);
  return e;
}

function addEquityPoint(id, k) {
  if (decimalString(k.equity) === undefined) return;
  const e = equityCard(id);
  e.chart.setBaseline(toChartNumber(k.starting_balance));
  e.chart.add(timeMs(k.update_time) || Date.now(), toChartNumber(k.equity));
  const [, mode, value, ret] = e.head.children;
  if (id !== ALL) {
    const s = state.strategies.get(id);
    if (s && s.mode) setBadge(mode, modeBadge(s.mode));
  }
  setCell(value, fmtMoney(k.equity), { title: exact(k.equity) });
  setCell(ret, fmtPercent(k.return_fraction, { sign: true }), { cls: pnlClass(k.return_fraction) });
}

// ---------------------------------------------------------------------------------------------
// Positions

function isClosed(p) {
  return p.status === 'POSITION_STATUS_CLOSED';
}

function onPositionMessage(msg) {
  if (msg.snapshot) {
    // Resync: the snapshot is the whole set of open positions.
    state.open.clear();
    for (const p of msg.snapshot.positions || []) {
      if (isClosed(p)) addClosed(p);
      else state.open.set(p.id, p);
    }
  } else if (msg.update) {
    for (const p of msg.update.positions || []) {
      if (isClosed(p)) {
        state.open.delete(p.id);
        addClosed(p);
      } else {
        state.open.set(p.id, p);
      }
      if (p.strategy_id && !state.strategies.has(p.strategy_id)) strategiesChanged();
    }
  } else {
    return;
  }
  renderOpen();
  renderClosed();
}

function addClosed(p) {
  state.closed.set(p.id, p);
  // Keep the newest CLOSED_PER_STRATEGY per strategy.
  const mine = [...state.closed.values()].filter((q) => q.strategy_id === p.strategy_id);
  if (mine.length > CLOSED_PER_STRATEGY) {
    mine.sort(byCloseTimeDesc);
    for (const q of mine.slice(CLOSED_PER_STRATEGY)) state.closed.delete(q.id);
  }
}

function byCloseTimeDesc(a, b) {
  return (timeMs(b.close_time) || 0) - (timeMs(a.close_time) || 0) || String(b.id).localeCompare(String(a.id));
}

function positionRow(p) {
  const row = el('tr', { 'data-position-id': p.id, 'data-strategy': p.strategy_id, 'data-symbol': p.symbol,
    dataset: { key: p.id } });
  return row;
}

function cellsOf(row, names) {
  if (!row.cells.length) {
    for (const n of names) {
      const numeric = !['strategy', 'symbol', 'side', 'mode'].includes(n);
      const cell = el('td', { class: numeric ? 'num' : undefined });
      cell.dataset.col = n;
      row.append(cell);
    }
  }
  return Object.fromEntries([...row.cells].map((c) => [c.dataset.col, c]));
}

const OPEN_COLS = ['strategy', 'symbol', 'side', 'qty', 'open', 'mark', 'upnl', 'fees', 'mode', 'opened', 'held'];
const CLOSED_COLS = ['strategy', 'symbol', 'side', 'qty', 'open', 'close', 'pnl', 'fees', 'mode', 'opened', 'closed'];

function renderOpen() {
  const tbody = $('#open-positions tbody');
  const list = [...state.open.values()].sort((a, b) =>
    a.strategy_id.localeCompare(b.strategy_id) || a.symbol.localeCompare(b.symbol) ||
    (timeMs(a.open_time) || 0) - (timeMs(b.open_time) || 0));
  const byId = new Map(list.map((p) => [p.id, p]));
  const rows = new Map([...tbody.rows].map((r) => [r.dataset.key, r]));
  syncRows(tbody, list.map((p) => p.id), (id) => rows.get(id), (id) => positionRow(byId.get(id)));
  for (const row of tbody.rows) {
    const p = byId.get(row.dataset.key);
    const c = cellsOf(row, OPEN_COLS);
    setCell(c.strategy, p.strategy_id);
    setCell(c.symbol, p.symbol);
    setBadge(c.side, sideBadge(p.side));
    setCell(c.qty, fmtDecimal(p.quantity), { title: exact(p.quantity) });
    setCell(c.open, fmtDecimal(p.open_price), { title: exact(p.open_price) });
    const prevMark = c.mark.dataset.value;
    setCell(c.mark, fmtDecimal(p.mark_price), { title: exact(p.mark_price),
      flash: prevMark ? compareDecimal(p.mark_price, prevMark) || undefined : undefined });
    c.mark.dataset.value = exact(p.mark_price);
    setCell(c.upnl, fmtMoney(p.unrealized_pnl, { sign: true }), { cls: pnlClass(p.unrealized_pnl),
      title: exact(p.unrealized_pnl) });
    c.upnl.dataset.value = exact(p.unrealized_pnl);
    setCell(c.fees, fmtMoney(p.fees), { title: exact(p.fees) });
    setBadge(c.mode, modeBadge(p.mode));
    setCell(c.opened, fmtDateTime(p.open_time), { title: p.open_time || '' });
    setCell(c.held, fmtDuration(Date.now() - timeMs(p.open_time)));
    row.classList.toggle('live', p.mode === 'TRADING_MODE_LIVE');
  }
  applyFilter('#open-positions');
}

function renderClosed() {
  const tbody = $('#closed-positions tbody');
  const list = [...state.closed.values()].sort(byCloseTimeDesc);
  const byId = new Map(list.map((p) => [p.id, p]));
  const rows = new Map([...tbody.rows].map((r) => [r.dataset.key, r]));
  syncRows(tbody, list.map((p) => p.id), (id) => rows.get(id), (id) => positionRow(byId.get(id)));
  for (const row of tbody.rows) {
    const p = byId.get(row.dataset.key);
    const c = cellsOf(row, CLOSED_COLS);
    if (c.strategy.textContent) continue; // closed rows do not change
    setCell(c.strategy, p.strategy_id);
    setCell(c.symbol, p.symbol);
    setBadge(c.side, sideBadge(p.side));
    setCell(c.qty, fmtDecimal(p.quantity), { title: exact(p.quantity) });
    setCell(c.open, fmtDecimal(p.open_price), { title: exact(p.open_price) });
    setCell(c.close, fmtDecimal(p.close_price), { title: exact(p.close_price) });
    setCell(c.pnl, fmtMoney(p.pnl, { sign: true }), { cls: pnlClass(p.pnl), title: exact(p.pnl) });
    setCell(c.fees, fmtMoney(p.fees), { title: exact(p.fees) });
    setBadge(c.mode, modeBadge(p.mode));
    setCell(c.opened, fmtDateTime(p.open_time), { title: p.open_time || '' });
    setCell(c.closed, fmtDateTime(p.close_time), { title: p.close_time || '' });
  }
  applyFilter('#closed-positions');
}

// The gateway refused a stream (EventSource cannot read why): ask it whether xctld is reachable.
let healthCheck = null;

function checkHealth() {
  if (healthCheck) return;
  healthCheck = (async () => {
    try {
      const res = await fetch('/healthz', { cache: 'no-store' });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) notice('health', `xctld is not reachable from the gateway (${body.status || res.status}); retrying`, 'error', 0);
    } catch (err) {
      notice('health', `the gateway is not reachable (${err.message}); retrying`, 'error', 0);
    } finally {
      setTimeout(() => { healthCheck = null; }, 5000);
    }
  })();
}

// ---------------------------------------------------------------------------------------------
// Start

function stream(name, path, onMessage) {
  const s = new Stream(name, path, {
    onMessage: (msg) => {
      state.lastMessageAt = Date.now();
      onMessage(msg);
    },
    onState: (st) => {
      if (st.state === State.LIVE) {
        clearNotice(`stream-${name}`);
        clearNotice('health');
      } else if (st.state === State.RETRYING && st.detail === 'gateway refused the stream') {
        checkHealth();
      }
      renderStatus();
    },
    onNotice: (text, level) => notice(`stream-${name}`, text, level),
  });
  streams.push(s);
  return s;
}

function main() {
  $('#strategy-filter').addEventListener('change', (e) => setFilter(e.target.value));
  stream('prices', `${API}/stream/prices`, onPriceMessage);
  stream('positions', `${API}/stream/positions?include_closed=true`, onPositionMessage);
  stream('kpis', `${API}/stream/kpis`, onKpiMessage);
  renderStatus();
  loadStrategies();
  for (const s of streams) s.start();
  setInterval(loadStrategies, STRATEGY_REFRESH_MS);
  // Holding times and the status tooltip age without messages.
  setInterval(() => {
    for (const row of $('#open-positions tbody').rows) {
      const p = state.open.get(row.dataset.key);
      const held = row.querySelector('[data-col="held"]');
      if (p && held) setCell(held, fmtDuration(Date.now() - timeMs(p.open_time)));
    }
    renderStatus();
  }, 1000);
  window.xctlDashboard = { state, streams }; // for debugging in the console
}

main();
