// The live connection: one WebSocket to /api/ws, reconnected with
// exponential backoff (and jitter) whenever it drops, with an application
// ping to notice a dead connection quickly. It reports its state
// ("connecting", "live", "reconnecting", "offline") and hands every server
// frame to onFrame; a server message may hold several frames, one per line.
// After each (re)connect it calls onOpen, where the board resubscribes with
// since = the last seq it applied.

const PING_EVERY = 15000;
const PONG_WITHIN = 8000;
const BACKOFF = [500, 1000, 2000, 4000, 8000, 15000];

export class LiveConnection {
  constructor({ onFrame, onOpen, onState, onAuthLost }) {
    this.onFrame = onFrame;
    this.onOpen = onOpen;
    this.onState = onState;
    this.onAuthLost = onAuthLost;
    this.ws = null;
    this.attempt = 0;
    this.state = "connecting";
    this.retryAt = 0;
    this.timer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.stopped = false;
    this.pingSeq = 0;
    this.onOnline = () => { if (!this.stopped) this.reconnectNow(); };
    this.onOffline = () => { if (!this.stopped) { this.drop(); this.setState("offline"); } };
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
  }

  start() { this.connect(); }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearTimeout(this.timer);
    this.drop(1000);
  }

  setState(state) {
    this.state = state;
    this.onState && this.onState(state, this);
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    if (navigator.onLine === false) { this.setState("offline"); return; }
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/api/ws`;
    let ws;
    try { ws = new WebSocket(url); } catch { this.scheduleReconnect(); return; }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      opened = true;
      this.attempt = 0;
      this.setState("live");
      this.startPing();
      this.onOpen && this.onOpen();
    };
    ws.onmessage = (m) => {
      if (this.ws !== ws) return;
      this.alive();
      if (typeof m.data !== "string") return;
      for (const line of m.data.split("\n")) {
        if (!line.trim()) continue;
        let f;
        try { f = JSON.parse(line); } catch { continue; }
        this.onFrame(f);
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopPing();
      if (this.stopped) return;
      if (ev.code === 1008 || (!opened && this.attempt >= 1)) {
        // Revoked, or the upgrade keeps failing: maybe the session ended.
        this.onAuthLost && this.onAuthLost(ev);
      }
      this.scheduleReconnect();
    };
    ws.onerror = () => {};
  }

  // drop closes the socket without waiting for the close handshake.
  drop(code = 4000) {
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(code === 1000 ? 1000 : 4000); } catch { /* already closed */ }
    }
  }

  scheduleReconnect() {
    if (this.stopped) return;
    if (navigator.onLine === false) { this.setState("offline"); return; }
    const base = BACKOFF[Math.min(this.attempt, BACKOFF.length - 1)];
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this.setState("reconnecting");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    this.drop();
    this.attempt = Math.max(this.attempt, 1);
    this.connect();
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      this.pingSeq += 1;
      if (!this.send({ type: "ping", id: "p" + this.pingSeq })) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => {
        // No answer: the connection is dead even if the socket does not know.
        this.drop();
        this.scheduleReconnect();
      }, PONG_WITHIN);
    }, PING_EVERY);
  }

  alive() { clearTimeout(this.pongTimer); }

  stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }
}
