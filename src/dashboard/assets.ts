/**
 * The dashboard's only stylesheet and script, served from the app itself (no CDN, no build
 * step): kept as strings so both builds carry them without locating files at run time. The
 * script is progressive: every read-only page works without it; it adds the live countdowns and
 * the queue's updates (polling, so it works through any proxy that buffers streams).
 */

export const STYLE_CSS = `
:root { --fg:#1b1f24; --muted:#5b6470; --line:#d8dde3; --bg:#f6f7f9; --card:#fff; --ok:#1a7f37;
  --bad:#b42318; --warn:#9a6700; --accent:#0b57d0; font-family: system-ui, sans-serif; color: var(--fg); }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); line-height: 1.45; overflow-wrap: anywhere; }
code { word-break: break-all; }
.decide > *, .filters > *, .row > * { min-width: 0; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem;
  background: #101828; color: #fff; }
header.top a { color: #fff; text-decoration: none; }
header.top nav { display: flex; flex-wrap: wrap; gap: .75rem; flex: 1; }
header.top nav a[aria-current] { text-decoration: underline; }
header.top .who { font-size: .85rem; opacity: .85; }
header.top form { margin: 0; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.35rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
a { color: var(--accent); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .9rem; margin: 0 0 1rem; }
.esc-card.decided, .esc-card.expired { opacity: .7; border-style: dashed; }
.row { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: baseline; }
.muted { color: var(--muted); font-size: .9rem; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600;
  border: 1px solid currentColor; }
.ALLOW, .ok, .approved, .PASS { color: var(--ok); }
.BLOCK, .bad, .rejected, .expired-text, .CAUGHT, .broken { color: var(--bad); }
.ESCALATE, .pending, .ERROR, .warn { color: var(--warn); }
pre, code { font-family: ui-monospace, monospace; font-size: .85rem; }
pre { background: #f0f2f5; padding: .6rem; border-radius: 6px; overflow-x: auto; white-space: pre-wrap;
  word-break: break-word; margin: .4rem 0; }
.redacted { background: #fde7e7; color: var(--bad); font-weight: 600; padding: 0 .2rem; border-radius: 3px; }
.notice { border-left: 4px solid var(--accent); background: #eef4ff; padding: .6rem .8rem; margin: 0 0 1rem; }
.notice.bad { border-color: var(--bad); background: #fdecec; }
.notice.ok { border-color: var(--ok); background: #ecf8ef; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top;
  font-size: .9rem; }
.scroll { overflow-x: auto; }
dl.kv { display: grid; grid-template-columns: minmax(7rem, max-content) 1fr; gap: .25rem 1rem; margin: 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; word-break: break-word; }
form.inline { display: inline; }
label { display: block; font-size: .85rem; color: var(--muted); }
input[type=text], input[type=password], input[type=search], select, textarea { font: inherit; padding: .35rem .45rem;
  border: 1px solid var(--line); border-radius: 5px; width: 100%; max-width: 100%; background: #fff; }
textarea.short { min-height: 5rem; }
textarea { min-height: 16rem; font-family: ui-monospace, monospace; font-size: .85rem; }
button { font: inherit; padding: .35rem .8rem; border-radius: 5px; border: 1px solid var(--line); background: #fff;
  cursor: pointer; }
button.approve { background: var(--ok); color: #fff; border-color: var(--ok); }
button.reject { background: var(--bad); color: #fff; border-color: var(--bad); }
button:disabled { opacity: .5; cursor: not-allowed; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.filters { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: .5rem; align-items: end; }
.decide { display: grid; grid-template-columns: 1fr auto auto; gap: .5rem; align-items: end; margin-top: .6rem; }
@media (max-width: 480px) { .decide { grid-template-columns: 1fr 1fr; } .decide .reason { grid-column: 1 / -1; }
  main { padding: .6rem; } }
.problems li { color: var(--bad); }
fieldset.plain { border: 0; padding: 0; margin: 0; }
.inline-h { margin: 0; }
h3.sub { margin: .6rem 0 0; font-size: .9rem; color: var(--muted); }
.tight { margin: 0; }
`;

export const APP_JS = `'use strict';
(function () {
  var body = document.body;
  var base = body.getAttribute('data-base') || '/ui';
  var pollMs = Number(body.getAttribute('data-poll-ms')) || 2000;

  function fmt(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = (h > 0 && m < 10 ? '0' : '') + m, rr = (r < 10 ? '0' : '') + r;
    return (h > 0 ? h + ':' : '') + mm + ':' + rr + ' left';
  }

  function disable(card, text, cls) {
    card.classList.add(cls);
    var st = card.querySelector('.esc-status');
    if (st) { st.textContent = text; st.setAttribute('role', 'status'); }
    card.querySelectorAll('button, input, textarea').forEach(function (el) { el.disabled = true; });
    var id = card.getAttribute('data-id');
    document.querySelectorAll('input[name=ids][value="' + id + '"]').forEach(function (el) { el.disabled = true; el.checked = false; });
  }

  // Countdowns: the server sends the time left by the DATABASE clock; the browser only counts it
  // down from when it received it, so a skewed client clock changes nothing.
  function arm(root) {
    root.querySelectorAll('[data-remaining-ms]').forEach(function (el) {
      if (el.getAttribute('data-deadline')) return;
      el.setAttribute('data-deadline', String(Date.now() + Number(el.getAttribute('data-remaining-ms'))));
    });
  }
  function tick() {
    document.querySelectorAll('[data-deadline]').forEach(function (el) {
      var left = Number(el.getAttribute('data-deadline')) - Date.now();
      if (left > 0) { el.textContent = fmt(left); return; }
      el.textContent = 'expired';
      el.classList.add('expired-text');
      el.removeAttribute('data-deadline');
      var card = el.closest('.esc-card');
      if (card && !card.classList.contains('decided')) disable(card, 'Expired: no decision can be applied.', 'expired');
    });
  }
  arm(document);
  tick();
  setInterval(tick, 1000);

  var queue = document.getElementById('queue');
  if (!queue) return;
  var busy = false;
  function known() {
    return Array.prototype.map.call(queue.querySelectorAll('.esc-card'), function (c) { return c.getAttribute('data-id'); });
  }
  function poll() {
    if (busy) return;
    busy = true;
    fetch(base + '/escalations/poll?known=' + encodeURIComponent(known().join(',')), { headers: { accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('poll ' + r.status); return r.json(); })
      .then(function (data) {
        var have = known();
        var adds = data.pending.filter(function (id) { return have.indexOf(id) < 0; });
        data.changed.forEach(function (ch) {
          var card = queue.querySelector('.esc-card[data-id="' + ch.id + '"]');
          if (card && !card.classList.contains('decided')) disable(card, ch.text, 'decided');
        });
        return Promise.all(adds.reverse().map(function (id) {
          return fetch(base + '/escalations/' + encodeURIComponent(id) + '/card').then(function (r) { return r.ok ? r.text() : ''; })
            .then(function (html) {
              if (!html || queue.querySelector('.esc-card[data-id="' + id + '"]')) return;
              var doc = new DOMParser().parseFromString(html, 'text/html');
              var card = doc.querySelector('.esc-card');
              if (!card) return;
              card = document.importNode(card, true);
              card.classList.add('new');
              queue.insertBefore(card, queue.firstChild);
              arm(card);
              var empty = document.getElementById('queue-empty');
              if (empty) empty.hidden = true;
            });
        }));
      })
      .catch(function () { /* the next poll retries */ })
      .then(function () { busy = false; tick(); });
  }
  setInterval(poll, pollMs);
})();
`;
