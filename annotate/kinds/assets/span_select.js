// Span selection for the workspace (a Streamlit components v2 component, bundled in the
// package; nothing is fetched at run time). The text is drawn once with every span in it:
// drag over it to mark a span with the active label (snapped to word edges; hold Alt to
// select inside a word), press 1-9 or click a label to choose the active label, click a
// span to focus it, then 1-9 relabels it and Delete removes it. LLM suggestions are drawn
// dashed: click one, then accept it (a label key or "Accept"), or reject it (Delete).
// Offsets sent to Python count code points, as Python strings do (emoji included).

const PALETTE = ["#4e79a7", "#59a14f", "#f28e2b", "#b07aa1", "#e15759", "#76b7b2",
  "#edc948", "#9c755f", "#bab0ac"];
const WORD = /[\p{L}\p{N}_\p{M}]/u;

function colour(labels, label) {
  const i = labels.indexOf(label);
  return PALETTE[(i < 0 ? labels.length : i) % PALETTE.length];
}

function same(a, b) {
  return a.start === b.start && a.end === b.end && a.label === b.label;
}

function overlaps(a, b) {
  return a.start < b.end && b.start < a.end;
}

function plain(spans) {
  return spans.map((s) => ({ start: s.start, end: s.end, label: s.label }));
}

function snap(chars, start, end, exact) {
  while (start < end && /\s/u.test(chars[start])) start += 1;
  while (end > start && /\s/u.test(chars[end - 1])) end -= 1;
  if (!exact && start < end) {
    while (start > 0 && WORD.test(chars[start - 1]) && WORD.test(chars[start])) start -= 1;
    while (end < chars.length && WORD.test(chars[end]) && WORD.test(chars[end - 1])) end += 1;
  }
  return [start, end];
}

// The code-point offset of a DOM selection boundary inside the text element.
function offsetOf(textEl, node, offset) {
  let el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
  if (el === textEl) {
    const child = textEl.childNodes[Math.min(offset, textEl.childNodes.length - 1)];
    if (!child) return null;
    const seg = child.closest ? child.closest("[data-s]") : null;
    if (!seg) return null;
    return offset >= textEl.childNodes.length ? Number(seg.dataset.e) : Number(seg.dataset.s);
  }
  const badge = el && el.closest("[data-badge]");
  if (badge) return Number(badge.dataset.badge);
  const seg = el && el.closest("[data-s]");
  if (!seg || !textEl.contains(seg)) return null;
  if (node.nodeType !== Node.TEXT_NODE) {
    return offset > 0 ? Number(seg.dataset.e) : Number(seg.dataset.s);
  }
  return Number(seg.dataset.s) + Array.from(node.data.slice(0, offset)).length;
}

function draw(st) {
  const { root, data } = st;
  const labels = data.labels;
  const chars = st.chars;
  root.innerHTML = "";

  const bar = document.createElement("div");
  bar.className = "asel-bar";
  labels.forEach((label, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "asel-label" + (label === st.active ? " asel-active" : "");
    b.style.setProperty("--asel-c", colour(labels, label));
    b.textContent = (i < 9 ? `${i + 1} ` : "") + label;
    b.title = `Mark with ${label}` + (i < 9 ? ` (key ${i + 1})` : "");
    b.dataset.label = label;
    b.addEventListener("click", () => choose(st, label));
    bar.appendChild(b);
  });
  root.appendChild(bar);

  const all = [...st.spans.map((s) => ({ ...s, kind: "span" })),
    ...st.suggestions.map((s) => ({ ...s, kind: "suggestion" }))];
  const cuts = new Set([0, chars.length]);
  all.forEach((s) => { cuts.add(s.start); cuts.add(s.end); });
  const bounds = [...cuts].sort((a, b) => a - b);
  const textEl = document.createElement("div");
  textEl.className = "asel-text";
  textEl.dataset.testid = "span-select-text";
  st.textEl = textEl;
  for (let k = 0; k + 1 < bounds.length; k += 1) {
    const a = bounds[k];
    const b = bounds[k + 1];
    const seg = document.createElement("span");
    seg.className = "asel-seg";
    seg.dataset.s = String(a);
    seg.dataset.e = String(b);
    seg.textContent = chars.slice(a, b).join("");
    const cover = all.filter((s) => s.start <= a && s.end >= b)
      .sort((x, y) => (x.end - x.start) - (y.end - y.start));
    const inner = cover.find((s) => s.kind === "span");
    if (inner) {
      seg.classList.add("asel-marked");
      seg.style.setProperty("--asel-c", colour(labels, inner.label));
      const outer = cover.filter((s) => s.kind === "span").length - 1;
      if (outer > 0) seg.style.setProperty("--asel-outer", `${outer * 3}px`);
    } else if (cover.length) {
      seg.classList.add("asel-suggested");
      seg.style.setProperty("--asel-c", colour(labels, cover[0].label));
    }
    if (st.focus && cover.some((s) => same(s, st.focus) && s.kind === st.focus.kind)) {
      seg.classList.add("asel-focus");
    }
    textEl.appendChild(seg);
    all.filter((s) => s.end === b).forEach((s) => {
      const tag = document.createElement("span");
      tag.className = "asel-badge" + (s.kind === "suggestion" ? " asel-badge-suggested" : "");
      tag.style.setProperty("--asel-c", colour(labels, s.label));
      tag.dataset.badge = String(b);
      tag.textContent = s.kind === "suggestion" ? `${s.label}?` : s.label;
      tag.contentEditable = "false";
      textEl.appendChild(tag);
    });
  }
  root.appendChild(textEl);

  const info = document.createElement("div");
  info.className = "asel-info";
  if (st.focus) {
    const f = st.focus;
    const quoted = chars.slice(f.start, f.end).join("");
    const what = document.createElement("span");
    what.textContent = `«${quoted}» ${f.label}${f.kind === "suggestion" ? " (suggested)" : ""} `;
    info.appendChild(what);
    if (f.kind === "suggestion") info.appendChild(action("Accept span", () => relabel(st, f.label)));
    info.appendChild(action(f.kind === "suggestion" ? "Reject span" : "Remove span", () => remove(st)));
    info.appendChild(action("Done", () => { st.focus = null; draw(st); }));
  } else {
    const left = st.suggestions.length;
    info.textContent = `${st.spans.length} span${st.spans.length === 1 ? "" : "s"}`
      + (left ? ` · ${left} suggestion${left === 1 ? "" : "s"} left: click one to accept or fix`
        : "")
      + " · drag over the text to mark · Alt-drag selects inside a word"
      + " · click a span, then 1-9 relabels, Delete removes";
  }
  if (st.message) {
    const m = document.createElement("span");
    m.className = "asel-message";
    m.textContent = ` ${st.message}`;
    info.appendChild(m);
  }
  root.appendChild(info);
}

function action(label, fn) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "asel-action";
  b.textContent = label;
  b.addEventListener("click", fn);
  return b;
}

function send(st) {
  st.setStateValue("spans", plain(st.spans));
}

function choose(st, label) {
  st.active = label;
  if (st.focus) { relabel(st, label); return; }
  draw(st);
}

function add(st, span) {
  if (st.spans.some((s) => same(s, span))) { draw(st); return; }
  const clash = st.spans.filter((s) => overlaps(s, span));
  if (clash.length && !st.data.nested) {
    st.spans = st.spans.filter((s) => !overlaps(s, span));
    st.message = `replaced ${clash.length} overlapping span${clash.length === 1 ? "" : "s"}`;
  }
  st.spans = [...st.spans, span].sort((a, b) => a.start - b.start || a.end - b.end);
  st.suggestions = st.suggestions.filter((s) => !(s.start === span.start && s.end === span.end));
  st.focus = null;
  draw(st);
  send(st);
}

function relabel(st, label) {
  const f = st.focus;
  if (!f) return;
  const span = { start: f.start, end: f.end, label };
  if (f.kind === "suggestion") {
    st.suggestions = st.suggestions.filter((s) => !same(s, f));
  } else {
    st.spans = st.spans.filter((s) => !same(s, f));
  }
  add(st, span);
}

function remove(st) {
  const f = st.focus;
  if (!f) return;
  if (f.kind === "suggestion") {
    st.suggestions = st.suggestions.filter((s) => !same(s, f));
    st.focus = null;
    draw(st);
    return;
  }
  st.spans = st.spans.filter((s) => !same(s, f));
  st.focus = null;
  draw(st);
  send(st);
}

function pick(st, offset) {
  // a click on the text: the smallest span (or suggestion) under the pointer, cycling
  // outwards on repeated clicks
  const under = [...st.spans.map((s) => ({ ...s, kind: "span" })),
    ...st.suggestions.map((s) => ({ ...s, kind: "suggestion" }))]
    .filter((s) => s.start <= offset && offset < s.end)
    .sort((x, y) => (x.end - x.start) - (y.end - y.start));
  if (!under.length) { st.focus = null; draw(st); return; }
  const at = st.focus ? under.findIndex((s) => same(s, st.focus) && s.kind === st.focus.kind)
    : -1;
  st.focus = under[(at + 1) % under.length];
  draw(st);
}

// Where the pointer is, as a code-point offset into the text (null outside it).
function pointOffset(st, event) {
  let node = null;
  let offset = 0;
  if (document.caretPositionFromPoint) {
    const pos = document.caretPositionFromPoint(event.clientX, event.clientY);
    if (pos) { node = pos.offsetNode; offset = pos.offset; }
  } else if (document.caretRangeFromPoint) {
    const range = document.caretRangeFromPoint(event.clientX, event.clientY);
    if (range) { node = range.startContainer; offset = range.startOffset; }
  }
  if (!node || !st.textEl.contains(node)) return null;
  return offsetOf(st.textEl, node, offset);
}

// The drag is followed by hand (not by the browser's own selection, which a focus change
// on the first press of a page can collapse): press, move, release.
function onMouseDown(st, event) {
  if (event.button !== 0 || !st.textEl.contains(event.target)) return;
  const at = pointOffset(st, event);
  if (at === null) return;
  event.preventDefault();
  st.drag = { from: at, to: at, x: event.clientX, y: event.clientY, moved: false };
  st.message = "";
}

function preview(st) {
  const sel = document.getSelection();
  if (!sel) return;
  const [a, b] = [Math.min(st.drag.from, st.drag.to), Math.max(st.drag.from, st.drag.to)];
  const place = (cp) => {
    for (const seg of st.textEl.querySelectorAll("[data-s]")) {
      const s = Number(seg.dataset.s);
      const e = Number(seg.dataset.e);
      if (cp >= s && cp <= e && seg.firstChild) {
        return [seg.firstChild, Array.from(seg.firstChild.data).slice(0, cp - s).join("").length];
      }
    }
    return null;
  };
  const from = place(a);
  const to = place(b);
  if (from && to) sel.setBaseAndExtent(from[0], from[1], to[0], to[1]);
}

function onMouseMove(st, event) {
  if (!st.drag) return;
  if (Math.abs(event.clientX - st.drag.x) + Math.abs(event.clientY - st.drag.y) > 3) {
    st.drag.moved = true;
  }
  const at = pointOffset(st, event);
  if (at !== null) st.drag.to = at;
  if (st.drag.moved) preview(st);
}

function onMouseUp(st, event) {
  const drag = st.drag;
  if (!drag) return;
  st.drag = null;
  const at = pointOffset(st, event);
  if (at !== null) drag.to = at;
  const sel = document.getSelection();
  if (sel) sel.removeAllRanges();
  if (!drag.moved || drag.from === drag.to) {
    pick(st, Math.min(drag.from, st.chars.length - 1));
    return;
  }
  const [start, end] = snap(st.chars, Math.min(drag.from, drag.to),
    Math.max(drag.from, drag.to), event.altKey);
  if (end <= start) { draw(st); return; }
  add(st, { start, end, label: st.active });
}

function onKey(st, event) {
  if (!st.root.isConnected) return;
  const t = event.target;
  if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
  if (event.ctrlKey || event.metaKey) return;
  const n = Number(event.key);
  if (st.data.keys && Number.isInteger(n) && n >= 1 && n <= Math.min(9, st.data.labels.length)) {
    event.stopImmediatePropagation();
    event.preventDefault();
    choose(st, st.data.labels[n - 1]);
    return;
  }
  if (st.focus && (event.key === "Delete" || event.key === "Backspace")) {
    event.stopImmediatePropagation();
    event.preventDefault();
    remove(st);
  } else if (st.focus && event.key === "Escape") {
    st.focus = null;
    draw(st);
  }
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let root = parentElement.querySelector(":scope > .asel");
  if (!root) {
    root = document.createElement("div");
    root.className = "asel";
    root.dataset.testid = "span-select";
    parentElement.appendChild(root);
  }
  const st = root.__asel || (root.__asel = { rev: null, spans: [], suggestions: [] });
  st.root = root;
  st.data = data;
  st.setStateValue = setStateValue;
  st.chars = Array.from(data.text);
  if (st.rev !== data.rev) {
    st.rev = data.rev;
    st.spans = plain(data.spans || []);
    st.suggestions = plain(data.suggestions || []);
    st.focus = null;
    st.message = "";
  }
  if (!data.labels.includes(st.active)) st.active = data.labels[0];
  draw(st);
  if (!st.listening) {
    st.mousedown = (e) => onMouseDown(st, e);
    st.mousemove = (e) => onMouseMove(st, e);
    st.mouseup = (e) => onMouseUp(st, e);
    st.keydown = (e) => onKey(st, e);
    root.addEventListener("mousedown", st.mousedown);
    window.addEventListener("mousemove", st.mousemove, true);
    window.addEventListener("mouseup", st.mouseup, true);
    window.addEventListener("keydown", st.keydown, true);
    st.listening = true;
  }
  return () => {
    window.removeEventListener("keydown", st.keydown, true);
    window.removeEventListener("mousemove", st.mousemove, true);
    window.removeEventListener("mouseup", st.mouseup, true);
    root.removeEventListener("mousedown", st.mousedown);
    st.listening = false;
  };
}
