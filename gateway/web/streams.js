// Server-Sent Events from the gateway, one JSON message per gRPC stream message.
//
// A stream starts with a `snapshot` (the client replaces its state), then `update`s and
// `heartbeat`s; `sequence` increases by one per message. The gateway ends with `event: end`
// ({"code","message"}) when the upstream stream ends. This wrapper:
//   - lets EventSource retry dropped connections by itself, and reconnects by hand (with backoff)
//     when EventSource gives up (an HTTP error status) or the gateway sent `end`;
//   - resyncs (reconnects for a fresh snapshot) when a sequence gap shows a lost message;
//   - reconnects when nothing, not even a heartbeat, arrived for `silenceMs`.

export const State = Object.freeze({
  CONNECTING: 'connecting', // no snapshot yet on this connection
  LIVE: 'live',             // snapshot received, messages flowing
  RETRYING: 'retrying',     // connection lost; a new one is scheduled or under way
  CLOSED: 'closed',         // stop() was called
});

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 15000;

// Unwraps the grpc-gateway streaming envelope ({"result": msg} / {"error": status}) if present.
function unwrap(obj) {
  if (obj && typeof obj === 'object' && !('sequence' in obj)) {
    if (obj.result && typeof obj.result === 'object') return { msg: obj.result };
    if (obj.error && typeof obj.error === 'object') return { error: obj.error };
  }
  return { msg: obj };
}

export class Stream {
  // handlers: onMessage(msg), onState(stream), onNotice(text, level)
  constructor(name, url, handlers, { silenceMs = 35000 } = {}) {
    this.name = name;
    this.url = url;
    this.handlers = handlers;
    this.silenceMs = silenceMs;
    this.state = State.CONNECTING;
    this.detail = '';
    this.es = null;
    this.lastSequence = null;
    this.lastMessageAt = 0;
    this.backoff = MIN_BACKOFF_MS;
    this.liveSince = 0;
    this.retryTimer = null;
    this.watchdog = null;
    this.connects = 0;
  }

  start() {
    this.watchdog = setInterval(() => this.checkSilence(), 5000);
    this.connect();
  }

  stop() {
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    if (this.es) this.es.close();
    this.es = null;
    this.setState(State.CLOSED, '');
  }

  setState(state, detail) {
    if (this.state === state && this.detail === detail) return;
    this.state = state;
    this.detail = detail;
    this.handlers.onState?.(this);
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.es) this.es.close();
    this.lastSequence = null;
    this.lastMessageAt = Date.now();
    this.connects += 1;
    this.setState(this.connects === 1 ? State.CONNECTING : State.RETRYING,
      this.connects === 1 ? 'connecting' : 'reconnecting');
    const es = new EventSource(this.url);
    this.es = es;
    es.onmessage = (ev) => {
      if (this.es === es) this.receive(ev.data);
    };
    es.addEventListener('end', (ev) => {
      if (this.es !== es) return;
      let info = {};
      try { info = JSON.parse(ev.data || '{}'); } catch { /* keep empty */ }
      const why = info.message ? `${info.message} (code ${info.code ?? '?'})` : 'stream ended';
      this.handlers.onNotice?.(`${this.name}: ${why}; reconnecting`, 'warn');
      this.retryLater(`ended: ${why}`);
    });
    es.onerror = () => {
      if (this.es !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // EventSource gives up on an HTTP error status or a wrong content type.
        this.retryLater('gateway refused the stream');
      } else {
        // EventSource reconnects by itself; the new connection starts with a snapshot.
        this.lastSequence = null;
        this.setState(State.RETRYING, 'connection lost, retrying');
      }
    };
  }

  retryLater(detail) {
    // A stream that stayed up a while starts over with a short delay; one that keeps failing
    // right after connecting backs off.
    if (this.liveSince && Date.now() - this.liveSince > 10000) this.backoff = MIN_BACKOFF_MS;
    this.liveSince = 0;
    if (this.es) this.es.close();
    this.es = null;
    this.setState(State.RETRYING, detail);
    clearTimeout(this.retryTimer);
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  // Reconnects now for a fresh snapshot.
  resync(reason) {
    this.handlers.onNotice?.(`${this.name}: ${reason}; resyncing`, 'info');
    this.connect();
  }

  checkSilence() {
    if (this.state === State.CLOSED || this.retryTimer) return;
    if (Date.now() - this.lastMessageAt > this.silenceMs) {
      this.resync(`no message for ${Math.round(this.silenceMs / 1000)} s`);
    }
  }

  receive(data) {
    this.lastMessageAt = Date.now();
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      this.handlers.onNotice?.(`${this.name}: unreadable message ignored`, 'warn');
      return;
    }
    const { msg, error } = unwrap(parsed);
    if (error) {
      this.handlers.onNotice?.(`${this.name}: ${error.message ?? 'error'} (code ${error.code ?? '?'})`, 'warn');
      this.retryLater(`error: ${error.message ?? ''}`);
      return;
    }
    const seq = msg.sequence === undefined ? null : Number(msg.sequence);
    if (msg.snapshot) {
      this.lastSequence = seq;
      if (!this.liveSince) this.liveSince = Date.now();
      this.handlers.onMessage(msg);
      this.setState(State.LIVE, '');
      return;
    }
    if (seq !== null && this.lastSequence !== null && seq !== this.lastSequence + 1) {
      // A message was lost (or the connection was replaced without a snapshot): start over.
      this.resync(`sequence gap (${this.lastSequence} -> ${seq})`);
      return;
    }
    if (seq !== null) this.lastSequence = seq;
    this.handlers.onMessage(msg);
  }
}
