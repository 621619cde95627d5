import { i as gt, g as br, o as bn, a as yn, b as mn, T as kn, c as wn, d as de, r as bt, e as Ke, p as yt, f as Fe, h as Le, m as xn, s as yr, j as Mn, u as qe, k as Ce, l as mr, E as En, n as kr, q as l, t as rr, v as ke, w as An, x as Sn, y as zn, z as Tn, A as nr, B as qn, I as at, C as wr, D as Cn, F as $n, G as mt, H as In, J as xr, K as Mr, L as Nn, M as Rn, N as Un, O as Er, P as Fn, Q as On, R as Ln, S as Pn, U as Ar, V as Dn, W as Hn, X as Bn, Y as Wn, Z as Y, _ as Ve, $ as y, a0 as Kn, a1 as Se, a2 as ar, a3 as Yn, a4 as $, a5 as W, a6 as Vn, a7 as ne, a8 as it, a9 as Xn } from "./render-BXCjtrTN.js";
function Zn(e) {
  throw new Error("https://svelte.dev/e/lifecycle_outside_component");
}
const Gn = [];
function Jn(e, t = !1, n = !1) {
  return Ye(e, /* @__PURE__ */ new Map(), "", Gn, null, n);
}
function Ye(e, t, n, r, i = null, a = !1) {
  if (typeof e == "object" && e !== null) {
    var s = t.get(e);
    if (s !== void 0) return s;
    if (e instanceof Map) return (
      /** @type {Snapshot<T>} */
      new Map(e)
    );
    if (e instanceof Set) return (
      /** @type {Snapshot<T>} */
      new Set(e)
    );
    if (gt(e)) {
      var o = (
        /** @type {Snapshot<any>} */
        Array(e.length)
      );
      t.set(e, o), i !== null && t.set(i, o);
      for (var f = 0; f < e.length; f += 1) {
        var h = e[f];
        f in e && (o[f] = Ye(h, t, n, r, null, a));
      }
      return o;
    }
    if (br(e) === bn) {
      o = {}, t.set(e, o), i !== null && t.set(i, o);
      for (var u in e)
        o[u] = Ye(
          // @ts-expect-error
          e[u],
          t,
          n,
          r,
          null,
          a
        );
      return o;
    }
    if (e instanceof Date)
      return (
        /** @type {Snapshot<T>} */
        structuredClone(e)
      );
    if (typeof /** @type {T & { toJSON?: any } } */
    e.toJSON == "function" && !a)
      return Ye(
        /** @type {T & { toJSON(): any } } */
        e.toJSON(),
        t,
        n,
        r,
        // Associate the instance with the toJSON clone
        e
      );
  }
  if (e instanceof EventTarget)
    return (
      /** @type {Snapshot<T>} */
      e
    );
  try {
    return (
      /** @type {Snapshot<T>} */
      structuredClone(e)
    );
  } catch {
    return (
      /** @type {Snapshot<T>} */
      e
    );
  }
}
function Qn(e) {
  var t = document.createElement("template");
  return t.innerHTML = e.replaceAll("<!>", "<!---->"), t.content;
}
function jn(e, t) {
  var n = (
    /** @type {Effect} */
    wn
  );
  n.nodes === null && (n.nodes = { start: e, end: t, a: null, t: null });
}
// @__NO_SIDE_EFFECTS__
function _e(e, t) {
  var n = (t & kn) !== 0, r, i = !e.startsWith("<!>");
  return () => {
    r === void 0 && (r = Qn(i ? e : "<!>" + e), r = /** @type {TemplateNode} */
    yn(r));
    var a = (
      /** @type {TemplateNode} */
      n || mn ? document.importNode(r, !0) : r.cloneNode(!0)
    );
    return jn(a, a), a;
  };
}
function he(e, t) {
  e !== null && e.before(
    /** @type {Node} */
    t
  );
}
class ea {
  /** @type {TemplateNode} */
  anchor;
  /** @type {Map<Batch, Key>} */
  #t = /* @__PURE__ */ new Map();
  /**
   * Map of keys to effects that are currently rendered in the DOM.
   * These effects are visible and actively part of the document tree.
   * Example:
   * ```
   * {#if condition}
   * 	foo
   * {:else}
   * 	bar
   * {/if}
   * ```
   * Can result in the entries `true->Effect` and `false->Effect`
   * @type {Map<Key, Effect>}
   */
  #r = /* @__PURE__ */ new Map();
  /**
   * Similar to #onscreen with respect to the keys, but contains branches that are not yet
   * in the DOM, because their insertion is deferred.
   * @type {Map<Key, Branch>}
   */
  #e = /* @__PURE__ */ new Map();
  /**
   * Keys of effects that are currently outroing
   * @type {Set<Key>}
   */
  #n = /* @__PURE__ */ new Set();
  /**
   * Whether to pause (i.e. outro) on change, or destroy immediately.
   * This is necessary for `<svelte:element>`
   */
  #a = !0;
  /**
   * @param {TemplateNode} anchor
   * @param {boolean} transition
   */
  constructor(t, n = !0) {
    this.anchor = t, this.#a = n;
  }
  #i = () => {
    var t = (
      /** @type {Batch} */
      de
    );
    if (this.#t.has(t)) {
      var n = (
        /** @type {Key} */
        this.#t.get(t)
      ), r = this.#r.get(n);
      if (r)
        bt(r), this.#n.delete(n);
      else {
        var i = this.#e.get(n);
        i && (this.#r.set(n, i.effect), this.#e.delete(n), i.fragment.lastChild.remove(), this.anchor.before(i.fragment), r = i.effect);
      }
      for (const [a, s] of this.#t) {
        if (this.#t.delete(a), a === t)
          break;
        const o = this.#e.get(s);
        o && (Ke(o.effect), this.#e.delete(s));
      }
      for (const [a, s] of this.#r) {
        if (a === n || this.#n.has(a)) continue;
        const o = () => {
          if (Array.from(this.#t.values()).includes(a)) {
            var h = document.createDocumentFragment();
            xn(s, h), h.append(Fe()), this.#e.set(a, { effect: s, fragment: h });
          } else
            Ke(s);
          this.#n.delete(a), this.#r.delete(a);
        };
        this.#a || !r ? (this.#n.add(a), yt(s, o, !1)) : o();
      }
    }
  };
  /**
   * @param {Batch} batch
   */
  #s = (t) => {
    this.#t.delete(t);
    const n = Array.from(this.#t.values());
    for (const [r, i] of this.#e)
      n.includes(r) || (Ke(i.effect), this.#e.delete(r));
  };
  /**
   *
   * @param {any} key
   * @param {null | ((target: TemplateNode) => void)} fn
   */
  ensure(t, n) {
    var r = (
      /** @type {Batch} */
      de
    ), i = yr();
    if (n && !this.#r.has(t) && !this.#e.has(t))
      if (i) {
        var a = document.createDocumentFragment(), s = Fe();
        a.append(s), this.#e.set(t, {
          effect: Le(() => n(s)),
          fragment: a
        });
      } else
        this.#r.set(
          t,
          Le(() => n(this.anchor))
        );
    if (this.#t.set(r, t), i) {
      for (const [o, f] of this.#r)
        o === t ? r.skipped_effects.delete(f) : r.skipped_effects.add(f);
      for (const [o, f] of this.#e)
        o === t ? r.skipped_effects.delete(f.effect) : r.skipped_effects.add(f.effect);
      r.oncommit(this.#i), r.ondiscard(this.#s);
    } else
      this.#i();
  }
}
function ta(e) {
  Mn === null && Zn(), qe(() => {
    const t = Ce(e);
    if (typeof t == "function") return (
      /** @type {() => void} */
      t
    );
  });
}
function ze(e, t, n = !1) {
  var r = new ea(e), i = n ? En : 0;
  function a(s, o) {
    r.ensure(s, o);
  }
  mr(() => {
    var s = !1;
    t((o, f = !0) => {
      s = !0, a(f, o);
    }), s || a(!1, null);
  }, i);
}
function ra(e, t) {
  return t;
}
function na(e, t, n) {
  for (var r = [], i = t.length, a, s = t.length, o = 0; o < i; o++) {
    let v = t[o];
    yt(
      v,
      () => {
        if (a) {
          if (a.pending.delete(v), a.done.add(v), a.pending.size === 0) {
            var p = (
              /** @type {Set<EachOutroGroup>} */
              e.outrogroups
            );
            dt(mt(a.done)), p.delete(a), p.size === 0 && (e.outrogroups = null);
          }
        } else
          s -= 1;
      },
      !1
    );
  }
  if (s === 0) {
    var f = r.length === 0 && n !== null;
    if (f) {
      var h = (
        /** @type {Element} */
        n
      ), u = (
        /** @type {Element} */
        h.parentNode
      );
      $n(u), u.append(h), e.items.clear();
    }
    dt(t, !f);
  } else
    a = {
      pending: new Set(t),
      done: /* @__PURE__ */ new Set()
    }, (e.outrogroups ??= /* @__PURE__ */ new Set()).add(a);
}
function dt(e, t = !0) {
  for (var n = 0; n < e.length; n++)
    Ke(e[n], t);
}
var ir;
function sr(e, t, n, r, i, a = null) {
  var s = e, o = /* @__PURE__ */ new Map(), f = (t & kr) !== 0;
  if (f) {
    var h = (
      /** @type {Element} */
      e
    );
    s = h.appendChild(Fe());
  }
  var u = null, v = An(() => {
    var w = n();
    return gt(w) ? w : w == null ? [] : mt(w);
  }), p, b = !0;
  function q() {
    _.fallback = u, aa(_, p, s, t, r), u !== null && (p.length === 0 ? (u.f & ke) === 0 ? bt(u) : (u.f ^= ke, Ue(u, null, s)) : yt(u, () => {
      u = null;
    }));
  }
  var A = mr(() => {
    p = /** @type {V[]} */
    l(v);
    for (var w = p.length, F = /* @__PURE__ */ new Set(), k = (
      /** @type {Batch} */
      de
    ), E = yr(), x = 0; x < w; x += 1) {
      var T = p[x], C = r(T, x), g = b ? null : o.get(C);
      g ? (g.v && rr(g.v, T), g.i && rr(g.i, x), E && k.skipped_effects.delete(g.e)) : (g = ia(
        o,
        b ? s : ir ??= Fe(),
        T,
        C,
        x,
        i,
        t,
        n
      ), b || (g.e.f |= ke), o.set(C, g)), F.add(C);
    }
    if (w === 0 && a && !u && (b ? u = Le(() => a(s)) : (u = Le(() => a(ir ??= Fe())), u.f |= ke)), !b)
      if (E) {
        for (const [m, I] of o)
          F.has(m) || k.skipped_effects.add(I.e);
        k.oncommit(q), k.ondiscard(() => {
        });
      } else
        q();
    l(v);
  }), _ = { effect: A, items: o, outrogroups: null, fallback: u };
  b = !1;
}
function aa(e, t, n, r, i) {
  var a = (r & Cn) !== 0, s = t.length, o = e.items, f = e.effect.first, h, u = null, v, p = [], b = [], q, A, _, w;
  if (a)
    for (w = 0; w < s; w += 1)
      q = t[w], A = i(q, w), _ = /** @type {EachItem} */
      o.get(A).e, (_.f & ke) === 0 && (_.nodes?.a?.measure(), (v ??= /* @__PURE__ */ new Set()).add(_));
  for (w = 0; w < s; w += 1) {
    if (q = t[w], A = i(q, w), _ = /** @type {EachItem} */
    o.get(A).e, e.outrogroups !== null)
      for (const I of e.outrogroups)
        I.pending.delete(_), I.done.delete(_);
    if ((_.f & ke) !== 0)
      if (_.f ^= ke, _ === f)
        Ue(_, null, n);
      else {
        var F = u ? u.next : f;
        _ === e.effect.last && (e.effect.last = _.prev), _.prev && (_.prev.next = _.next), _.next && (_.next.prev = _.prev), xe(e, u, _), xe(e, _, F), Ue(_, F, n), u = _, p = [], b = [], f = u.next;
        continue;
      }
    if ((_.f & at) !== 0 && (bt(_), a && (_.nodes?.a?.unfix(), (v ??= /* @__PURE__ */ new Set()).delete(_))), _ !== f) {
      if (h !== void 0 && h.has(_)) {
        if (p.length < b.length) {
          var k = b[0], E;
          u = k.prev;
          var x = p[0], T = p[p.length - 1];
          for (E = 0; E < p.length; E += 1)
            Ue(p[E], k, n);
          for (E = 0; E < b.length; E += 1)
            h.delete(b[E]);
          xe(e, x.prev, T.next), xe(e, u, x), xe(e, T, k), f = k, u = T, w -= 1, p = [], b = [];
        } else
          h.delete(_), Ue(_, f, n), xe(e, _.prev, _.next), xe(e, _, u === null ? e.effect.first : u.next), xe(e, u, _), u = _;
        continue;
      }
      for (p = [], b = []; f !== null && f !== _; )
        (h ??= /* @__PURE__ */ new Set()).add(f), b.push(f), f = f.next;
      if (f === null)
        continue;
    }
    (_.f & ke) === 0 && p.push(_), u = _, f = _.next;
  }
  if (e.outrogroups !== null) {
    for (const I of e.outrogroups)
      I.pending.size === 0 && (dt(mt(I.done)), e.outrogroups?.delete(I));
    e.outrogroups.size === 0 && (e.outrogroups = null);
  }
  if (f !== null || h !== void 0) {
    var C = [];
    if (h !== void 0)
      for (_ of h)
        (_.f & at) === 0 && C.push(_);
    for (; f !== null; )
      (f.f & at) === 0 && f !== e.fallback && C.push(f), f = f.next;
    var g = C.length;
    if (g > 0) {
      var m = (r & kr) !== 0 && s === 0 ? n : null;
      if (a) {
        for (w = 0; w < g; w += 1)
          C[w].nodes?.a?.measure();
        for (w = 0; w < g; w += 1)
          C[w].nodes?.a?.fix();
      }
      na(e, C, m);
    }
  }
  a && wr(() => {
    if (v !== void 0)
      for (_ of v)
        _.nodes?.a?.apply();
  });
}
function ia(e, t, n, r, i, a, s, o) {
  var f = (s & Sn) !== 0 ? (s & zn) === 0 ? Tn(n, !1, !1) : nr(n) : null, h = (s & qn) !== 0 ? nr(i) : null;
  return {
    v: f,
    i: h,
    e: Le(() => (a(t, f ?? n, h ?? i, o), () => {
      e.delete(r);
    }))
  };
}
function Ue(e, t, n) {
  if (e.nodes)
    for (var r = e.nodes.start, i = e.nodes.end, a = t && (t.f & ke) === 0 ? (
      /** @type {EffectNodes} */
      t.nodes.start
    ) : n; r !== null; ) {
      var s = (
        /** @type {TemplateNode} */
        In(r)
      );
      if (a.before(r), r === i)
        return;
      r = s;
    }
}
function xe(e, t, n) {
  t === null ? e.effect.first = n : t.next = n, n === null ? e.effect.last = t : n.prev = t;
}
const or = [...` 	
\r\f \v\uFEFF`];
function sa(e, t, n) {
  var r = e == null ? "" : "" + e;
  if (n) {
    for (var i in n)
      if (n[i])
        r = r ? r + " " + i : i;
      else if (r.length)
        for (var a = i.length, s = 0; (s = r.indexOf(i, s)) >= 0; ) {
          var o = s + a;
          (s === 0 || or.includes(r[s - 1])) && (o === r.length || or.includes(r[o])) ? r = (s === 0 ? "" : r.substring(0, s)) + r.substring(o + 1) : s = o;
        }
  }
  return r === "" ? null : r;
}
function oa(e, t) {
  return e == null ? null : String(e);
}
function Ie(e, t, n, r, i, a) {
  var s = e.__className;
  if (s !== n || s === void 0) {
    var o = sa(n, r, a);
    o == null ? e.removeAttribute("class") : e.className = o, e.__className = n;
  } else if (a && i !== a)
    for (var f in a) {
      var h = !!a[f];
      (i == null || h !== !!i[f]) && e.classList.toggle(f, h);
    }
  return a;
}
function lr(e, t, n, r) {
  var i = e.__style;
  if (i !== t) {
    var a = oa(t);
    a == null ? e.removeAttribute("style") : e.style.cssText = a, e.__style = t;
  }
  return r;
}
function Sr(e, t, n = !1) {
  if (e.multiple) {
    if (t == null)
      return;
    if (!gt(t))
      return Rn();
    for (var r of e.options)
      r.selected = t.includes(Oe(r));
    return;
  }
  for (r of e.options) {
    var i = Oe(r);
    if (Un(i, t)) {
      r.selected = !0;
      return;
    }
  }
  (!n || t !== void 0) && (e.selectedIndex = -1);
}
function la(e) {
  var t = new MutationObserver(() => {
    Sr(e, e.__value);
  });
  t.observe(e, {
    // Listen to option element changes
    childList: !0,
    subtree: !0,
    // because of <optgroup>
    // Listen to option element value attribute changes
    // (doesn't get notified of select value changes,
    // because that property is not reflected as an attribute)
    attributes: !0,
    attributeFilter: ["value"]
  }), Nn(() => {
    t.disconnect();
  });
}
function fa(e, t, n = t) {
  var r = /* @__PURE__ */ new WeakSet(), i = !0;
  xr(e, "change", (a) => {
    var s = a ? "[selected]" : ":checked", o;
    if (e.multiple)
      o = [].map.call(e.querySelectorAll(s), Oe);
    else {
      var f = e.querySelector(s) ?? // will fall back to first non-disabled option if no option is selected
      e.querySelector("option:not([disabled])");
      o = f && Oe(f);
    }
    n(o), de !== null && r.add(de);
  }), Mr(() => {
    var a = t();
    if (e === document.activeElement) {
      var s = (
        /** @type {Batch} */
        Er ?? de
      );
      if (r.has(s))
        return;
    }
    if (Sr(e, a, i), i && a === void 0) {
      var o = e.querySelector(":checked");
      o !== null && (a = Oe(o), n(a));
    }
    e.__value = a, i = !1;
  }), la(e);
}
function Oe(e) {
  return "__value" in e ? e.__value : e.value;
}
const ca = /* @__PURE__ */ Symbol("is custom element"), ua = /* @__PURE__ */ Symbol("is html");
function te(e, t, n, r) {
  var i = da(e);
  i[t] !== (i[t] = n) && (t === "loading" && (e[Fn] = n), n == null ? e.removeAttribute(t) : typeof n != "string" && ha(e).includes(t) ? e[t] = n : e.setAttribute(t, n));
}
function da(e) {
  return (
    /** @type {Record<string | symbol, unknown>} **/
    // @ts-expect-error
    e.__attributes ??= {
      [ca]: e.nodeName.includes("-"),
      [ua]: e.namespaceURI === On
    }
  );
}
var fr = /* @__PURE__ */ new Map();
function ha(e) {
  var t = e.getAttribute("is") || e.nodeName, n = fr.get(t);
  if (n) return n;
  fr.set(t, n = []);
  for (var r, i = e, a = Element.prototype; a !== i; ) {
    r = Ln(i);
    for (var s in r)
      r[s].set && n.push(s);
    i = br(i);
  }
  return n;
}
function cr(e, t, n = t) {
  var r = /* @__PURE__ */ new WeakSet();
  xr(e, "input", async (i) => {
    var a = i ? e.defaultValue : e.value;
    if (a = st(e) ? ot(a) : a, n(a), de !== null && r.add(de), await Pn(), a !== (a = t())) {
      var s = e.selectionStart, o = e.selectionEnd, f = e.value.length;
      if (e.value = a ?? "", o !== null) {
        var h = e.value.length;
        s === o && o === f && h > f ? (e.selectionStart = h, e.selectionEnd = h) : (e.selectionStart = s, e.selectionEnd = Math.min(o, h));
      }
    }
  }), // If we are hydrating and the value has since changed,
  // then use the updated value from the input instead.
  // If defaultValue is set, then value == defaultValue
  // TODO Svelte 6: remove input.value check and set to empty string?
  Ce(t) == null && e.value && (n(st(e) ? ot(e.value) : e.value), de !== null && r.add(de)), Ar(() => {
    var i = t();
    if (e === document.activeElement) {
      var a = (
        /** @type {Batch} */
        Er ?? de
      );
      if (r.has(a))
        return;
    }
    st(e) && i === ot(e.value) || e.type === "date" && !i && !e.value || i !== e.value && (e.value = i ?? "");
  });
}
function st(e) {
  var t = e.type;
  return t === "number" || t === "range";
}
function ot(e) {
  return e === "" ? null : +e;
}
function ur(e, t) {
  return e === t || e?.[Dn] === t;
}
function dr(e = {}, t, n, r) {
  return Mr(() => {
    var i, a;
    return Ar(() => {
      i = a, a = [], Ce(() => {
        e !== n(...a) && (t(e, ...a), i && ur(n(...i), e) && t(null, ...i));
      });
    }), () => {
      wr(() => {
        a && ur(n(...a), e) && t(null, ...a);
      });
    };
  }), e;
}
function va(e, t, n) {
  if (e == null)
    return t(void 0), Hn;
  const r = Ce(
    () => e.subscribe(
      t,
      // @ts-expect-error
      n
    )
  );
  return r.unsubscribe ? () => r.unsubscribe() : r;
}
function _a(e) {
  let t;
  return va(e, (n) => t = n)(), t;
}
const pa = {
  get(e, t) {
    if (!e.exclude.includes(t))
      return e.props[t];
  },
  set(e, t) {
    return !1;
  },
  getOwnPropertyDescriptor(e, t) {
    if (!e.exclude.includes(t) && t in e.props)
      return {
        enumerable: !0,
        configurable: !0,
        value: e.props[t]
      };
  },
  has(e, t) {
    return e.exclude.includes(t) ? !1 : t in e.props;
  },
  ownKeys(e) {
    return Reflect.ownKeys(e.props).filter((t) => !e.exclude.includes(t));
  }
};
// @__NO_SIDE_EFFECTS__
function ga(e, t, n) {
  return new Proxy(
    { props: e, exclude: t },
    pa
  );
}
const ba = [
  { color: "red", primary: 600, secondary: 100 },
  { color: "green", primary: 600, secondary: 100 },
  { color: "blue", primary: 600, secondary: 100 },
  { color: "yellow", primary: 500, secondary: 100 },
  { color: "purple", primary: 600, secondary: 100 },
  { color: "teal", primary: 600, secondary: 100 },
  { color: "orange", primary: 600, secondary: 100 },
  { color: "cyan", primary: 600, secondary: 100 },
  { color: "lime", primary: 500, secondary: 100 },
  { color: "pink", primary: 600, secondary: 100 }
], hr = {
  inherit: "inherit",
  current: "currentColor",
  transparent: "transparent",
  black: "#000",
  white: "#fff",
  slate: {
    50: "#f8fafc",
    100: "#f1f5f9",
    200: "#e2e8f0",
    300: "#cbd5e1",
    400: "#94a3b8",
    500: "#64748b",
    600: "#475569",
    700: "#334155",
    800: "#1e293b",
    900: "#0f172a",
    950: "#020617"
  },
  gray: {
    50: "#f9fafb",
    100: "#f3f4f6",
    200: "#e5e7eb",
    300: "#d1d5db",
    400: "#9ca3af",
    500: "#6b7280",
    600: "#4b5563",
    700: "#374151",
    800: "#1f2937",
    900: "#111827",
    950: "#030712"
  },
  zinc: {
    50: "#fafafa",
    100: "#f4f4f5",
    200: "#e4e4e7",
    300: "#d4d4d8",
    400: "#a1a1aa",
    500: "#71717a",
    600: "#52525b",
    700: "#3f3f46",
    800: "#27272a",
    900: "#18181b",
    950: "#09090b"
  },
  neutral: {
    50: "#fafafa",
    100: "#f5f5f5",
    200: "#e5e5e5",
    300: "#d4d4d4",
    400: "#a3a3a3",
    500: "#737373",
    600: "#525252",
    700: "#404040",
    800: "#262626",
    900: "#171717",
    950: "#0a0a0a"
  },
  stone: {
    50: "#fafaf9",
    100: "#f5f5f4",
    200: "#e7e5e4",
    300: "#d6d3d1",
    400: "#a8a29e",
    500: "#78716c",
    600: "#57534e",
    700: "#44403c",
    800: "#292524",
    900: "#1c1917",
    950: "#0c0a09"
  },
  red: {
    50: "#fef2f2",
    100: "#fee2e2",
    200: "#fecaca",
    300: "#fca5a5",
    400: "#f87171",
    500: "#ef4444",
    600: "#dc2626",
    700: "#b91c1c",
    800: "#991b1b",
    900: "#7f1d1d",
    950: "#450a0a"
  },
  orange: {
    50: "#fff7ed",
    100: "#ffedd5",
    200: "#fed7aa",
    300: "#fdba74",
    400: "#fb923c",
    500: "#f97316",
    600: "#ea580c",
    700: "#c2410c",
    800: "#9a3412",
    900: "#7c2d12",
    950: "#431407"
  },
  amber: {
    50: "#fffbeb",
    100: "#fef3c7",
    200: "#fde68a",
    300: "#fcd34d",
    400: "#fbbf24",
    500: "#f59e0b",
    600: "#d97706",
    700: "#b45309",
    800: "#92400e",
    900: "#78350f",
    950: "#451a03"
  },
  yellow: {
    50: "#fefce8",
    100: "#fef9c3",
    200: "#fef08a",
    300: "#fde047",
    400: "#facc15",
    500: "#eab308",
    600: "#ca8a04",
    700: "#a16207",
    800: "#854d0e",
    900: "#713f12",
    950: "#422006"
  },
  lime: {
    50: "#f7fee7",
    100: "#ecfccb",
    200: "#d9f99d",
    300: "#bef264",
    400: "#a3e635",
    500: "#84cc16",
    600: "#65a30d",
    700: "#4d7c0f",
    800: "#3f6212",
    900: "#365314",
    950: "#1a2e05"
  },
  green: {
    50: "#f0fdf4",
    100: "#dcfce7",
    200: "#bbf7d0",
    300: "#86efac",
    400: "#4ade80",
    500: "#22c55e",
    600: "#16a34a",
    700: "#15803d",
    800: "#166534",
    900: "#14532d",
    950: "#052e16"
  },
  emerald: {
    50: "#ecfdf5",
    100: "#d1fae5",
    200: "#a7f3d0",
    300: "#6ee7b7",
    400: "#34d399",
    500: "#10b981",
    600: "#059669",
    700: "#047857",
    800: "#065f46",
    900: "#064e3b",
    950: "#022c22"
  },
  teal: {
    50: "#f0fdfa",
    100: "#ccfbf1",
    200: "#99f6e4",
    300: "#5eead4",
    400: "#2dd4bf",
    500: "#14b8a6",
    600: "#0d9488",
    700: "#0f766e",
    800: "#115e59",
    900: "#134e4a",
    950: "#042f2e"
  },
  cyan: {
    50: "#ecfeff",
    100: "#cffafe",
    200: "#a5f3fc",
    300: "#67e8f9",
    400: "#22d3ee",
    500: "#06b6d4",
    600: "#0891b2",
    700: "#0e7490",
    800: "#155e75",
    900: "#164e63",
    950: "#083344"
  },
  sky: {
    50: "#f0f9ff",
    100: "#e0f2fe",
    200: "#bae6fd",
    300: "#7dd3fc",
    400: "#38bdf8",
    500: "#0ea5e9",
    600: "#0284c7",
    700: "#0369a1",
    800: "#075985",
    900: "#0c4a6e",
    950: "#082f49"
  },
  blue: {
    50: "#eff6ff",
    100: "#dbeafe",
    200: "#bfdbfe",
    300: "#93c5fd",
    400: "#60a5fa",
    500: "#3b82f6",
    600: "#2563eb",
    700: "#1d4ed8",
    800: "#1e40af",
    900: "#1e3a8a",
    950: "#172554"
  },
  indigo: {
    50: "#eef2ff",
    100: "#e0e7ff",
    200: "#c7d2fe",
    300: "#a5b4fc",
    400: "#818cf8",
    500: "#6366f1",
    600: "#4f46e5",
    700: "#4338ca",
    800: "#3730a3",
    900: "#312e81",
    950: "#1e1b4b"
  },
  violet: {
    50: "#f5f3ff",
    100: "#ede9fe",
    200: "#ddd6fe",
    300: "#c4b5fd",
    400: "#a78bfa",
    500: "#8b5cf6",
    600: "#7c3aed",
    700: "#6d28d9",
    800: "#5b21b6",
    900: "#4c1d95",
    950: "#2e1065"
  },
  purple: {
    50: "#faf5ff",
    100: "#f3e8ff",
    200: "#e9d5ff",
    300: "#d8b4fe",
    400: "#c084fc",
    500: "#a855f7",
    600: "#9333ea",
    700: "#7e22ce",
    800: "#6b21a8",
    900: "#581c87",
    950: "#3b0764"
  },
  fuchsia: {
    50: "#fdf4ff",
    100: "#fae8ff",
    200: "#f5d0fe",
    300: "#f0abfc",
    400: "#e879f9",
    500: "#d946ef",
    600: "#c026d3",
    700: "#a21caf",
    800: "#86198f",
    900: "#701a75",
    950: "#4a044e"
  },
  pink: {
    50: "#fdf2f8",
    100: "#fce7f3",
    200: "#fbcfe8",
    300: "#f9a8d4",
    400: "#f472b6",
    500: "#ec4899",
    600: "#db2777",
    700: "#be185d",
    800: "#9d174d",
    900: "#831843",
    950: "#500724"
  },
  rose: {
    50: "#fff1f2",
    100: "#ffe4e6",
    200: "#fecdd3",
    300: "#fda4af",
    400: "#fb7185",
    500: "#f43f5e",
    600: "#e11d48",
    700: "#be123c",
    800: "#9f1239",
    900: "#881337",
    950: "#4c0519"
  }
};
ba.reduce((e, { color: t, primary: n, secondary: r }) => ({
  ...e,
  [t]: {
    primary: hr[t][n],
    secondary: hr[t][r]
  }
}), {});
function ya(e) {
  let t;
  const n = Wn((i) => {
    let a = !1;
    const s = e.subscribe((o) => {
      t = o, a && i();
    });
    return a = !0, s;
  });
  function r() {
    return Bn() ? (n(), t) : _a(e);
  }
  return "set" in e ? {
    get current() {
      return r();
    },
    set current(i) {
      e.set(i);
    }
  } : {
    get current() {
      return r();
    }
  };
}
const ma = "__i18n__", ka = [
  "label",
  "info",
  "placeholder",
  "description",
  "title",
  "value"
], wa = [
  "elem_id",
  "elem_classes",
  "visible",
  "interactive",
  "server_fns",
  "server",
  "id",
  "target",
  "theme_mode",
  "version",
  "root",
  "autoscroll",
  "max_file_size",
  "formatter",
  "client",
  "load_component",
  "scale",
  "min_width",
  "theme",
  "padding",
  "loading_status",
  "label",
  "show_label",
  "validation_error",
  "show_progress",
  "api_prefix",
  "container",
  "attached_events",
  "register_component",
  "unregister_component",
  "dispatcher"
];
function xa(e) {
  return typeof e == "string" && e.includes(ma);
}
class Ma {
  load_component;
  #t = Y(Ve({}));
  get shared() {
    return l(this.#t);
  }
  set shared(t) {
    y(this.#t, t, !0);
  }
  #r = Y(Ve({}));
  get props() {
    return l(this.#r);
  }
  set props(t) {
    y(this.#r, t, !0);
  }
  #e = Y((t) => t);
  get i18n() {
    return l(this.#e);
  }
  set i18n(t) {
    y(this.#e, t, !0);
  }
  i18n_store;
  _i18n_from_store;
  translatable_props = {};
  dispatcher;
  last_update = null;
  shared_props = wa;
  mounted = !1;
  old_value;
  register_component;
  unregister_component;
  set_data_callback;
  get_data_callback;
  registered_id = null;
  last_shared_props;
  last_props;
  constructor(t, n) {
    for (const r in t.shared_props)
      this.shared[r] = t.shared_props[r];
    for (const r in t.props)
      r !== "i18n_store" && (this.props[r] = t.props[r]);
    if (n)
      for (const r in n)
        this.props[r] === void 0 && (this.props[r] = n[r]);
    this.i18n = this.props.i18n ?? ((r) => r), this.i18n_store = t.props.i18n_store, this._i18n_from_store = this.i18n_store ? ya(this.i18n_store) : void 0;
    for (const r of ka)
      this.shared[r] = this._translate_and_store(
        "shared",
        r,
        // @ts-ignore
        t.shared_props[r]
      ), this.props[r] = this._translate_and_store(
        "props",
        r,
        // @ts-ignore
        t.props[r]
      );
    this.load_component = this.shared.load_component, this.register_component = this.shared.register_component || (() => {
    }), this.unregister_component = this.shared.unregister_component || (() => {
    }), this.dispatcher = this.shared.dispatcher || (() => {
    }), this.set_data_callback = this.set_data.bind(this), this.get_data_callback = this.get_data.bind(this), this.register_component(
      this.shared.id,
      // @ts-ignore
      this.set_data_callback,
      this.get_data_callback
    ), this.registered_id = this.shared.id, this.last_shared_props = t.shared_props, this.last_props = t.props, qe(() => {
      const r = t.shared_props.id;
      if (this.last_shared_props !== t.shared_props) {
        for (const i in t.shared_props) {
          const a = t.shared_props[i];
          a !== void 0 && (this._is_i18n_managed(`shared.${i}`, a) || (this.shared[i] = a));
        }
        this.last_shared_props = t.shared_props;
      }
      if (this.last_props !== t.props) {
        for (const i in t.props) {
          if (i === "i18n_store") continue;
          const a = t.props[i];
          a !== void 0 && (this._is_i18n_managed(`props.${i}`, a) || (this.props[i] = a));
        }
        this.last_props = t.props;
      }
      this.registered_id !== null && this.registered_id !== r && this.unregister_component(this.registered_id, this.set_data_callback), this.register_component(
        r,
        // @ts-ignore
        this.set_data_callback,
        this.get_data_callback
      ), this.registered_id = r, Ce(() => {
        this.shared.id = r;
      });
    }), qe(() => () => {
      this.registered_id !== null && this.unregister_component(this.registered_id, this.set_data_callback);
    }), qe(() => this.i18n_store ? this.i18n_store.subscribe(() => {
      for (const [i, a] of Object.entries(this.translatable_props)) {
        const [s, o] = i.split("."), f = this.i18n(a);
        s === "shared" ? this.shared[o] = f : this.props[o] = f;
      }
    }) : void 0);
  }
  // check if props are translatable
  _is_i18n_managed(t, n) {
    const r = this.translatable_props[t];
    return r ? n === r ? !0 : (delete this.translatable_props[t], !1) : !1;
  }
  _translate_and_store(t, n, r) {
    if (typeof r != "string") return r;
    const i = this.i18n(r);
    return i !== r && (this.translatable_props[`${t}.${n}`] = r), i;
  }
  // Reactive variant of `i18n`. Reading it inside a derived or template
  // subscribes to the live locale store (via Svelte's createSubscriber), so
  // the caller re-runs when the locale changes at runtime. The store is only
  // the reactivity trigger; translation always goes through `this.i18n` so a
  // custom formatter passed via props keeps taking effect.
  live_i18n = (t) => (this._i18n_from_store?.current, this.i18n(t));
  dispatch(t, n) {
    this.dispatcher(this.shared.id, t, n);
  }
  async get_data() {
    return Jn(this.props);
  }
  update(t) {
    this.set_data(t);
  }
  set_data(t) {
    for (const n in t) {
      const r = t[n], i = xa(r) ? this._translate_and_store(this.shared_props.includes(n) ? "shared" : "props", n, r) : r;
      if (this.shared_props.includes(n)) {
        const a = n;
        this.shared[a] = i;
        continue;
      }
      this.props[n] = i;
    }
  }
  watch_for_change() {
    qe(() => {
      this.mounted || (this.old_value = this.props.value, this.mounted = !0), this.old_value != this.props.value && (this.old_value = this.props.value, this.dispatch("change"));
    });
  }
}
var J = Uint8Array, ae = Uint16Array, kt = Int32Array, Xe = new J([
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
  /* unused */
  0,
  0,
  /* impossible */
  0
]), Ze = new J([
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
  /* unused */
  0,
  0
]), ht = new J([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]), zr = function(e, t) {
  for (var n = new ae(31), r = 0; r < 31; ++r)
    n[r] = t += 1 << e[r - 1];
  for (var i = new kt(n[30]), r = 1; r < 30; ++r)
    for (var a = n[r]; a < n[r + 1]; ++a)
      i[a] = a - n[r] << 5 | r;
  return { b: n, r: i };
}, Tr = zr(Xe, 2), qr = Tr.b, vt = Tr.r;
qr[28] = 258, vt[258] = 28;
var Cr = zr(Ze, 0), Ea = Cr.b, vr = Cr.r, _t = new ae(32768);
for (var L = 0; L < 32768; ++L) {
  var Me = (L & 43690) >> 1 | (L & 21845) << 1;
  Me = (Me & 52428) >> 2 | (Me & 13107) << 2, Me = (Me & 61680) >> 4 | (Me & 3855) << 4, _t[L] = ((Me & 65280) >> 8 | (Me & 255) << 8) >> 1;
}
var ve = (function(e, t, n) {
  for (var r = e.length, i = 0, a = new ae(t); i < r; ++i)
    e[i] && ++a[e[i] - 1];
  var s = new ae(t);
  for (i = 1; i < t; ++i)
    s[i] = s[i - 1] + a[i - 1] << 1;
  var o;
  if (n) {
    o = new ae(1 << t);
    var f = 15 - t;
    for (i = 0; i < r; ++i)
      if (e[i])
        for (var h = i << 4 | e[i], u = t - e[i], v = s[e[i] - 1]++ << u, p = v | (1 << u) - 1; v <= p; ++v)
          o[_t[v] >> f] = h;
  } else
    for (o = new ae(r), i = 0; i < r; ++i)
      e[i] && (o[i] = _t[s[e[i] - 1]++] >> 15 - e[i]);
  return o;
}), Ee = new J(288);
for (var L = 0; L < 144; ++L)
  Ee[L] = 8;
for (var L = 144; L < 256; ++L)
  Ee[L] = 9;
for (var L = 256; L < 280; ++L)
  Ee[L] = 7;
for (var L = 280; L < 288; ++L)
  Ee[L] = 8;
var Pe = new J(32);
for (var L = 0; L < 32; ++L)
  Pe[L] = 5;
var Aa = /* @__PURE__ */ ve(Ee, 9, 0), Sa = /* @__PURE__ */ ve(Ee, 9, 1), za = /* @__PURE__ */ ve(Pe, 5, 0), Ta = /* @__PURE__ */ ve(Pe, 5, 1), lt = function(e) {
  for (var t = e[0], n = 1; n < e.length; ++n)
    e[n] > t && (t = e[n]);
  return t;
}, ce = function(e, t, n) {
  var r = t / 8 | 0;
  return (e[r] | e[r + 1] << 8) >> (t & 7) & n;
}, ft = function(e, t) {
  var n = t / 8 | 0;
  return (e[n] | e[n + 1] << 8 | e[n + 2] << 16) >> (t & 7);
}, wt = function(e) {
  return (e + 7) / 8 | 0;
}, $r = function(e, t, n) {
  return (n == null || n > e.length) && (n = e.length), new J(e.subarray(t, n));
}, qa = [
  "unexpected EOF",
  "invalid block type",
  "invalid length/literal",
  "invalid distance",
  "stream finished",
  "no stream handler",
  ,
  "no callback",
  "invalid UTF-8 data",
  "extra field too long",
  "date not in range 1980-2099",
  "filename too long",
  "stream finishing",
  "invalid zip data"
  // determined by unknown compression method
], ue = function(e, t, n) {
  var r = new Error(t || qa[e]);
  if (r.code = e, Error.captureStackTrace && Error.captureStackTrace(r, ue), !n)
    throw r;
  return r;
}, Ca = function(e, t, n, r) {
  var i = e.length, a = 0;
  if (!i || t.f && !t.l)
    return n || new J(0);
  var s = !n, o = s || t.i != 2, f = t.i;
  s && (n = new J(i * 3));
  var h = function(oe) {
    var we = n.length;
    if (oe > we) {
      var be = new J(Math.max(we * 2, oe));
      be.set(n), n = be;
    }
  }, u = t.f || 0, v = t.p || 0, p = t.b || 0, b = t.l, q = t.d, A = t.m, _ = t.n, w = i * 8;
  do {
    if (!b) {
      u = ce(e, v, 1);
      var F = ce(e, v + 1, 3);
      if (v += 3, F)
        if (F == 1)
          b = Sa, q = Ta, A = 9, _ = 5;
        else if (F == 2) {
          var T = ce(e, v, 31) + 257, C = ce(e, v + 10, 15) + 4, g = T + ce(e, v + 5, 31) + 1;
          v += 14;
          for (var m = new J(g), I = new J(19), U = 0; U < C; ++U)
            I[ht[U]] = ce(e, v + U * 3, 7);
          v += C * 3;
          for (var K = lt(I), se = (1 << K) - 1, N = ve(I, K, 1), U = 0; U < g; ) {
            var H = N[ce(e, v, se)];
            v += H & 15;
            var k = H >> 4;
            if (k < 16)
              m[U++] = k;
            else {
              var R = 0, z = 0;
              for (k == 16 ? (z = 3 + ce(e, v, 3), v += 2, R = m[U - 1]) : k == 17 ? (z = 3 + ce(e, v, 7), v += 3) : k == 18 && (z = 11 + ce(e, v, 127), v += 7); z--; )
                m[U++] = R;
            }
          }
          var V = m.subarray(0, T), D = m.subarray(T);
          A = lt(V), _ = lt(D), b = ve(V, A, 1), q = ve(D, _, 1);
        } else
          ue(1);
      else {
        var k = wt(v) + 4, E = e[k - 4] | e[k - 3] << 8, x = k + E;
        if (x > i) {
          f && ue(0);
          break;
        }
        o && h(p + E), n.set(e.subarray(k, x), p), t.b = p += E, t.p = v = x * 8, t.f = u;
        continue;
      }
      if (v > w) {
        f && ue(0);
        break;
      }
    }
    o && h(p + 131072);
    for (var pe = (1 << A) - 1, P = (1 << _) - 1, X = v; ; X = v) {
      var R = b[ft(e, v) & pe], Q = R >> 4;
      if (v += R & 15, v > w) {
        f && ue(0);
        break;
      }
      if (R || ue(2), Q < 256)
        n[p++] = Q;
      else if (Q == 256) {
        X = v, b = null;
        break;
      } else {
        var Z = Q - 254;
        if (Q > 264) {
          var U = Q - 257, O = Xe[U];
          Z = ce(e, v, (1 << O) - 1) + qr[U], v += O;
        }
        var ie = q[ft(e, v) & P], j = ie >> 4;
        ie || ue(3), v += ie & 15;
        var D = Ea[j];
        if (j > 3) {
          var O = Ze[j];
          D += ft(e, v) & (1 << O) - 1, v += O;
        }
        if (v > w) {
          f && ue(0);
          break;
        }
        o && h(p + 131072);
        var ge = p + Z;
        if (p < D) {
          var Ae = a - D, re = Math.min(D, ge);
          for (Ae + p < 0 && ue(3); p < re; ++p)
            n[p] = r[Ae + p];
        }
        for (; p < ge; ++p)
          n[p] = n[p - D];
      }
    }
    t.l = b, t.p = X, t.b = p, t.f = u, b && (u = 1, t.m = A, t.d = q, t.n = _);
  } while (!u);
  return p != n.length && s ? $r(n, 0, p) : n.subarray(0, p);
}, me = function(e, t, n) {
  n <<= t & 7;
  var r = t / 8 | 0;
  e[r] |= n, e[r + 1] |= n >> 8;
}, Ne = function(e, t, n) {
  n <<= t & 7;
  var r = t / 8 | 0;
  e[r] |= n, e[r + 1] |= n >> 8, e[r + 2] |= n >> 16;
}, ct = function(e, t) {
  for (var n = [], r = 0; r < e.length; ++r)
    e[r] && n.push({ s: r, f: e[r] });
  var i = n.length, a = n.slice();
  if (!i)
    return { t: Nr, l: 0 };
  if (i == 1) {
    var s = new J(n[0].s + 1);
    return s[n[0].s] = 1, { t: s, l: 1 };
  }
  n.sort(function(x, T) {
    return x.f - T.f;
  }), n.push({ s: -1, f: 25001 });
  var o = n[0], f = n[1], h = 0, u = 1, v = 2;
  for (n[0] = { s: -1, f: o.f + f.f, l: o, r: f }; u != i - 1; )
    o = n[n[h].f < n[v].f ? h++ : v++], f = n[h != u && n[h].f < n[v].f ? h++ : v++], n[u++] = { s: -1, f: o.f + f.f, l: o, r: f };
  for (var p = a[0].s, r = 1; r < i; ++r)
    a[r].s > p && (p = a[r].s);
  var b = new ae(p + 1), q = pt(n[u - 1], b, 0);
  if (q > t) {
    var r = 0, A = 0, _ = q - t, w = 1 << _;
    for (a.sort(function(T, C) {
      return b[C.s] - b[T.s] || T.f - C.f;
    }); r < i; ++r) {
      var F = a[r].s;
      if (b[F] > t)
        A += w - (1 << q - b[F]), b[F] = t;
      else
        break;
    }
    for (A >>= _; A > 0; ) {
      var k = a[r].s;
      b[k] < t ? A -= 1 << t - b[k]++ - 1 : ++r;
    }
    for (; r >= 0 && A; --r) {
      var E = a[r].s;
      b[E] == t && (--b[E], ++A);
    }
    q = t;
  }
  return { t: new J(b), l: q };
}, pt = function(e, t, n) {
  return e.s == -1 ? Math.max(pt(e.l, t, n + 1), pt(e.r, t, n + 1)) : t[e.s] = n;
}, _r = function(e) {
  for (var t = e.length; t && !e[--t]; )
    ;
  for (var n = new ae(++t), r = 0, i = e[0], a = 1, s = function(f) {
    n[r++] = f;
  }, o = 1; o <= t; ++o)
    if (e[o] == i && o != t)
      ++a;
    else {
      if (!i && a > 2) {
        for (; a > 138; a -= 138)
          s(32754);
        a > 2 && (s(a > 10 ? a - 11 << 5 | 28690 : a - 3 << 5 | 12305), a = 0);
      } else if (a > 3) {
        for (s(i), --a; a > 6; a -= 6)
          s(8304);
        a > 2 && (s(a - 3 << 5 | 8208), a = 0);
      }
      for (; a--; )
        s(i);
      a = 1, i = e[o];
    }
  return { c: n.subarray(0, r), n: t };
}, Re = function(e, t) {
  for (var n = 0, r = 0; r < t.length; ++r)
    n += e[r] * t[r];
  return n;
}, Ir = function(e, t, n) {
  var r = n.length, i = wt(t + 2);
  e[i] = r & 255, e[i + 1] = r >> 8, e[i + 2] = e[i] ^ 255, e[i + 3] = e[i + 1] ^ 255;
  for (var a = 0; a < r; ++a)
    e[i + a + 4] = n[a];
  return (i + 4 + r) * 8;
}, pr = function(e, t, n, r, i, a, s, o, f, h, u) {
  me(t, u++, n), ++i[256];
  for (var v = ct(i, 15), p = v.t, b = v.l, q = ct(a, 15), A = q.t, _ = q.l, w = _r(p), F = w.c, k = w.n, E = _r(A), x = E.c, T = E.n, C = new ae(19), g = 0; g < F.length; ++g)
    ++C[F[g] & 31];
  for (var g = 0; g < x.length; ++g)
    ++C[x[g] & 31];
  for (var m = ct(C, 7), I = m.t, U = m.l, K = 19; K > 4 && !I[ht[K - 1]]; --K)
    ;
  var se = h + 5 << 3, N = Re(i, Ee) + Re(a, Pe) + s, H = Re(i, p) + Re(a, A) + s + 14 + 3 * K + Re(C, I) + 2 * C[16] + 3 * C[17] + 7 * C[18];
  if (f >= 0 && se <= N && se <= H)
    return Ir(t, u, e.subarray(f, f + h));
  var R, z, V, D;
  if (me(t, u, 1 + (H < N)), u += 2, H < N) {
    R = ve(p, b, 0), z = p, V = ve(A, _, 0), D = A;
    var pe = ve(I, U, 0);
    me(t, u, k - 257), me(t, u + 5, T - 1), me(t, u + 10, K - 4), u += 14;
    for (var g = 0; g < K; ++g)
      me(t, u + 3 * g, I[ht[g]]);
    u += 3 * K;
    for (var P = [F, x], X = 0; X < 2; ++X)
      for (var Q = P[X], g = 0; g < Q.length; ++g) {
        var Z = Q[g] & 31;
        me(t, u, pe[Z]), u += I[Z], Z > 15 && (me(t, u, Q[g] >> 5 & 127), u += Q[g] >> 12);
      }
  } else
    R = Aa, z = Ee, V = za, D = Pe;
  for (var g = 0; g < o; ++g) {
    var O = r[g];
    if (O > 255) {
      var Z = O >> 18 & 31;
      Ne(t, u, R[Z + 257]), u += z[Z + 257], Z > 7 && (me(t, u, O >> 23 & 31), u += Xe[Z]);
      var ie = O & 31;
      Ne(t, u, V[ie]), u += D[ie], ie > 3 && (Ne(t, u, O >> 5 & 8191), u += Ze[ie]);
    } else
      Ne(t, u, R[O]), u += z[O];
  }
  return Ne(t, u, R[256]), u + z[256];
}, $a = /* @__PURE__ */ new kt([65540, 131080, 131088, 131104, 262176, 1048704, 1048832, 2114560, 2117632]), Nr = /* @__PURE__ */ new J(0), Ia = function(e, t, n, r, i, a) {
  var s = a.z || e.length, o = new J(r + s + 5 * (1 + Math.ceil(s / 7e3)) + i), f = o.subarray(r, o.length - i), h = a.l, u = (a.r || 0) & 7;
  if (t) {
    u && (f[0] = a.r >> 3);
    for (var v = $a[t - 1], p = v >> 13, b = v & 8191, q = (1 << n) - 1, A = a.p || new ae(32768), _ = a.h || new ae(q + 1), w = Math.ceil(n / 3), F = 2 * w, k = function($e) {
      return (e[$e] ^ e[$e + 1] << w ^ e[$e + 2] << F) & q;
    }, E = new kt(25e3), x = new ae(288), T = new ae(32), C = 0, g = 0, m = a.i || 0, I = 0, U = a.w || 0, K = 0; m + 2 < s; ++m) {
      var se = k(m), N = m & 32767, H = _[se];
      if (A[N] = H, _[se] = N, U <= m) {
        var R = s - m;
        if ((C > 7e3 || I > 24576) && (R > 423 || !h)) {
          u = pr(e, f, 0, E, x, T, g, I, K, m - K, u), I = C = g = 0, K = m;
          for (var z = 0; z < 286; ++z)
            x[z] = 0;
          for (var z = 0; z < 30; ++z)
            T[z] = 0;
        }
        var V = 2, D = 0, pe = b, P = N - H & 32767;
        if (R > 2 && se == k(m - P))
          for (var X = Math.min(p, R) - 1, Q = Math.min(32767, m), Z = Math.min(258, R); P <= Q && --pe && N != H; ) {
            if (e[m + V] == e[m + V - P]) {
              for (var O = 0; O < Z && e[m + O] == e[m + O - P]; ++O)
                ;
              if (O > V) {
                if (V = O, D = P, O > X)
                  break;
                for (var ie = Math.min(P, O - 2), j = 0, z = 0; z < ie; ++z) {
                  var ge = m - P + z & 32767, Ae = A[ge], re = ge - Ae & 32767;
                  re > j && (j = re, H = ge);
                }
              }
            }
            N = H, H = A[N], P += N - H & 32767;
          }
        if (D) {
          E[I++] = 268435456 | vt[V] << 18 | vr[D];
          var oe = vt[V] & 31, we = vr[D] & 31;
          g += Xe[oe] + Ze[we], ++x[257 + oe], ++T[we], U = m + V, ++C;
        } else
          E[I++] = e[m], ++x[e[m]];
      }
    }
    for (m = Math.max(m, U); m < s; ++m)
      E[I++] = e[m], ++x[e[m]];
    u = pr(e, f, h, E, x, T, g, I, K, m - K, u), h || (a.r = u & 7 | f[u / 8 | 0] << 3, u -= 7, a.h = _, a.p = A, a.i = m, a.w = U);
  } else {
    for (var m = a.w || 0; m < s + h; m += 65535) {
      var be = m + 65535;
      be >= s && (f[u / 8 | 0] = h, be = s), u = Ir(f, u + 1, e.subarray(m, be));
    }
    a.i = s;
  }
  return $r(o, 0, r + wt(u) + i);
}, Rr = function() {
  var e = 1, t = 0;
  return {
    p: function(n) {
      for (var r = e, i = t, a = n.length | 0, s = 0; s != a; ) {
        for (var o = Math.min(s + 2655, a); s < o; ++s)
          i += r += n[s];
        r = (r & 65535) + 15 * (r >> 16), i = (i & 65535) + 15 * (i >> 16);
      }
      e = r, t = i;
    },
    d: function() {
      return e %= 65521, t %= 65521, (e & 255) << 24 | (e & 65280) << 8 | (t & 255) << 8 | t >> 8;
    }
  };
}, Na = function(e, t, n, r, i) {
  if (!i && (i = { l: 1 }, t.dictionary)) {
    var a = t.dictionary.subarray(-32768), s = new J(a.length + e.length);
    s.set(a), s.set(e, a.length), e = s, i.w = a.length;
  }
  return Ia(e, t.level == null ? 6 : t.level, t.mem == null ? i.l ? Math.ceil(Math.max(8, Math.min(13, Math.log(e.length))) * 1.5) : 20 : 12 + t.mem, n, r, i);
}, Ur = function(e, t, n) {
  for (; n; ++t)
    e[t] = n, n >>>= 8;
}, Ra = function(e, t) {
  var n = t.level, r = n == 0 ? 0 : n < 6 ? 1 : n == 9 ? 3 : 2;
  if (e[0] = 120, e[1] = r << 6 | (t.dictionary && 32), e[1] |= 31 - (e[0] << 8 | e[1]) % 31, t.dictionary) {
    var i = Rr();
    i.p(t.dictionary), Ur(e, 2, i.d());
  }
}, Ua = function(e, t) {
  return ((e[0] & 15) != 8 || e[0] >> 4 > 7 || (e[0] << 8 | e[1]) % 31) && ue(6, "invalid zlib data"), (e[1] >> 5 & 1) == 1 && ue(6, "invalid zlib data: " + (e[1] & 32 ? "need" : "unexpected") + " dictionary"), (e[1] >> 3 & 4) + 2;
};
function Fr(e, t) {
  t || (t = {});
  var n = Rr();
  n.p(e);
  var r = Na(e, t, t.dictionary ? 6 : 2, 4);
  return Ra(r, t), Ur(r, r.length - 4, n.d()), r;
}
function Or(e, t) {
  return Ca(e.subarray(Ua(e), -4), { i: 2 }, t, t);
}
var Fa = typeof TextDecoder < "u" && /* @__PURE__ */ new TextDecoder(), Oa = 0;
try {
  Fa.decode(Nr, { stream: !0 }), Oa = 1;
} catch {
}
function Lr(e) {
  const t = atob(e), n = new Uint8Array(t.length);
  for (let r = 0; r < t.length; r++) n[r] = t.charCodeAt(r);
  return n;
}
function Pr(e) {
  let t = "";
  for (let r = 0; r < e.length; r += 32768)
    t += String.fromCharCode.apply(null, Array.from(e.subarray(r, r + 32768)));
  return btoa(t);
}
function gr(e, t, n) {
  const r = Or(Lr(e));
  if (r.length !== t * n) throw new Error(`label map has ${r.length} bytes, expected ${t * n}`);
  return r;
}
function La(e) {
  return Pr(Fr(e, { level: 1 }));
}
function Pa(e, t, n) {
  const r = Or(Lr(e));
  if (r.length !== 2 * t * n) throw new Error(`region map has ${r.length} bytes, expected ${2 * t * n}`);
  const i = new Uint16Array(t * n);
  for (let a = 0; a < i.length; a++) i[a] = r[2 * a] | r[2 * a + 1] << 8;
  return i;
}
const Da = (() => {
  const e = new Uint32Array(256);
  for (let t = 0; t < 256; t++) {
    let n = t;
    for (let r = 0; r < 8; r++) n = n & 1 ? 3988292384 ^ n >>> 1 : n >>> 1;
    e[t] = n >>> 0;
  }
  return e;
})();
function Ha(e) {
  let t = 4294967295;
  for (let n = 0; n < e.length; n++) t = Da[(t ^ e[n]) & 255] ^ t >>> 8;
  return (t ^ 4294967295) >>> 0;
}
function ut(e, t) {
  const n = new Uint8Array(12 + t.length), r = new DataView(n.buffer);
  r.setUint32(0, t.length);
  for (let i = 0; i < 4; i++) n[4 + i] = e.charCodeAt(i);
  return n.set(t, 8), r.setUint32(8 + t.length, Ha(n.subarray(4, 8 + t.length))), n;
}
function Ba(e, t, n) {
  const r = new Uint8Array(n * (t + 1));
  for (let u = 0; u < n; u++) r.set(e.subarray(u * t, (u + 1) * t), u * (t + 1) + 1);
  const i = new Uint8Array(13), a = new DataView(i.buffer);
  a.setUint32(0, t), a.setUint32(4, n), i.set([8, 0, 0, 0, 0], 8);
  const s = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    ut("IHDR", i),
    ut("IDAT", Fr(r, { level: 6 })),
    ut("IEND", new Uint8Array(0))
  ], o = s.reduce((u, v) => u + v.length, 0), f = new Uint8Array(o);
  let h = 0;
  for (const u of s)
    f.set(u, h), h += u.length;
  return Pr(f);
}
function Wa(e, t, n, r, i, a, s) {
  const o = Math.max(0, Math.floor(Math.min(r.x, i.x) - a)), f = Math.min(t - 1, Math.ceil(Math.max(r.x, i.x) + a)), h = Math.max(0, Math.floor(Math.min(r.y, i.y) - a)), u = Math.min(n - 1, Math.ceil(Math.max(r.y, i.y) + a)), v = i.x - r.x, p = i.y - r.y, b = v * v + p * p, q = a * a;
  for (let A = h; A <= u; A++)
    for (let _ = o; _ <= f; _++) {
      const w = _ + 0.5, F = A + 0.5;
      let k = b > 0 ? ((w - r.x) * v + (F - r.y) * p) / b : 0;
      k = Math.max(0, Math.min(1, k));
      const E = w - (r.x + k * v), x = F - (r.y + k * p);
      E * E + x * x <= q && (e[A * t + _] = s);
    }
  return [o, h, f, u];
}
function Ka(e, t, n, r, i) {
  if (!(r.length < 3))
    for (let a = 0; a < n; a++) {
      const s = a + 0.5, o = [];
      for (let f = 0; f < r.length; f++) {
        const h = r[f], u = r[(f + 1) % r.length];
        (h.y <= s && u.y > s || u.y <= s && h.y > s) && o.push(h.x + (s - h.y) / (u.y - h.y) * (u.x - h.x));
      }
      o.sort((f, h) => f - h);
      for (let f = 0; f + 1 < o.length; f += 2) {
        const h = Math.max(0, Math.ceil(o[f] - 0.5)), u = Math.min(t - 1, Math.floor(o[f + 1] - 0.5));
        for (let v = h; v <= u; v++) e[a * t + v] = i;
      }
    }
}
function Ya(e, t, n, r, i, a) {
  const s = t[i * n + r];
  let o = 0;
  for (let f = 0; f < e.length; f++)
    t[f] === s && (e[f] = a, o++);
  return o;
}
function Va(e, t) {
  if (e.length !== t.length) return !1;
  for (let n = 0; n < e.length; n++) if (e[n] !== t[n]) return !1;
  return !0;
}
class Xa {
  constructor(t = 256 * 1024 * 1024) {
    this.max_bytes = t, this.undo_stack = [], this.redo_stack = [];
  }
  /** Remember ``before`` (the map as it was before an edit). */
  push(t) {
    this.undo_stack.push(t.slice()), this.redo_stack = [];
    let n = this.undo_stack.reduce((r, i) => r + i.length, 0);
    for (; n > this.max_bytes && this.undo_stack.length > 1; ) n -= this.undo_stack.shift().length;
  }
  undo(t) {
    const n = this.undo_stack.pop();
    return n ? (this.redo_stack.push(t.slice()), n) : null;
  }
  redo(t) {
    const n = this.redo_stack.pop();
    return n ? (this.undo_stack.push(t.slice()), n) : null;
  }
  clear() {
    this.undo_stack = [], this.redo_stack = [];
  }
}
function Za(e) {
  const t = new Uint32Array(256);
  for (const n of e) {
    if (n.id === 0) continue;
    const r = parseInt(n.color.slice(1), 16);
    t[n.id] = 255 << 24 | (r & 255) << 16 | r & 65280 | r >> 16 & 255;
  }
  return t;
}
function Ga(e, t, n, r, i, a, s, o) {
  const f = new Uint32Array(t.data.buffer), h = t.width;
  for (let u = a; u <= o; u++) for (let v = i; v <= s; v++) f[u * h + v] = r[n[u * h + v]];
  e.getContext("2d").putImageData(t, 0, 0, i, a, s - i + 1, o - a + 1);
}
function Ja(e, t, n, r) {
  const i = Math.min(n / e, r / t);
  return { s: i, tx: (n - e * i) / 2, ty: (r - t * i) / 2 };
}
function Te(e, t) {
  return [t.x * e.s + e.tx, t.y * e.s + e.ty];
}
function Qa(e, t, n, r, i, a, s, o) {
  const f = window.devicePixelRatio || 1;
  (e.width !== Math.round(t * f) || e.height !== Math.round(n * f)) && (e.width = Math.round(t * f), e.height = Math.round(n * f));
  const h = e.getContext("2d");
  h.setTransform(1, 0, 0, 1, 0, 0), h.clearRect(0, 0, e.width, e.height), i && (h.setTransform(f * r.s, 0, 0, f * r.s, f * r.tx, f * r.ty), h.imageSmoothingEnabled = r.s < 2, h.drawImage(i, 0, 0, i.naturalWidth, i.naturalHeight), a && s > 0 && (h.globalAlpha = s, h.imageSmoothingEnabled = !1, h.drawImage(a, 0, 0), h.globalAlpha = 1), h.setTransform(f, 0, 0, f, 0, 0), ja(h, r, o));
}
function ja(e, t, n) {
  if (n.polygon.length) {
    e.strokeStyle = n.polygon_color, e.lineWidth = 2, e.beginPath(), n.polygon.forEach((r, i) => i ? e.lineTo(...Te(t, r)) : e.moveTo(...Te(t, r))), n.cursor && e.lineTo(...Te(t, n.cursor)), e.stroke();
    for (const r of n.polygon) e.strokeRect(Te(t, r)[0] - 3, Te(t, r)[1] - 3, 6, 6);
  }
  for (const [r, i, a] of n.clicks) {
    const [s, o] = Te(t, { x: r + 0.5, y: i + 0.5 });
    e.fillStyle = a ? "#16a34a" : "#dc2626", e.strokeStyle = "#fff", e.lineWidth = 2, e.beginPath(), e.arc(s, o, 6, 0, 2 * Math.PI), e.fill(), e.stroke();
  }
  if (n.cursor && n.brush_radius !== null) {
    const [r, i] = Te(t, n.cursor);
    e.strokeStyle = "#fff", e.lineWidth = 1.5, e.beginPath(), e.arc(r, i, Math.max(1, n.brush_radius * t.s), 0, 2 * Math.PI), e.stroke();
  }
}
var ei = /* @__PURE__ */ _e('<span class="item-title svelte-49zqag"> </span>'), ti = /* @__PURE__ */ _e('<div class="title svelte-49zqag"> <!></div>'), ri = /* @__PURE__ */ _e('<kbd class="svelte-49zqag"> </kbd>'), ni = /* @__PURE__ */ _e("<button> <!></button>"), ai = /* @__PURE__ */ _e('<button role="radio"><span class="swatch svelte-49zqag"></span><kbd class="svelte-49zqag"> </kbd> </button>'), ii = /* @__PURE__ */ _e('<div class="empty svelte-49zqag">Nothing to edit: pick an item from the queue.</div>'), si = /* @__PURE__ */ _e("<span>refining…</span>"), oi = /* @__PURE__ */ _e('<span class="unsaved svelte-49zqag">unsaved edits</span>'), li = /* @__PURE__ */ _e('<span class="notice svelte-49zqag"> </span>'), fi = /* @__PURE__ */ _e('<div><!> <div class="toolbar svelte-49zqag" role="toolbar" aria-label="Mask editor tools"><!> <label class="field svelte-49zqag" title="Brush and eraser radius in image pixels ([ and ])">Size <input type="range" min="1" max="100" data-testid="brush-size" class="svelte-49zqag"/> <span class="svelte-49zqag"> </span></label> <label class="field svelte-49zqag" title="How big a region one fill or click selects">Region <select data-testid="region-scale" class="svelte-49zqag"><option>small</option><option>medium</option><option>large</option></select></label> <label class="field svelte-49zqag" title="Opacity of the mask over the photo">Opacity <input type="range" min="0" max="100" data-testid="opacity" class="svelte-49zqag"/> <span class="svelte-49zqag"> </span></label> <button data-testid="toggle-overlay" title="Show or hide the mask (H)">Mask<kbd class="svelte-49zqag">H</kbd></button> <span class="sep svelte-49zqag"></span> <button class="tool svelte-49zqag" data-testid="undo" title="Undo (Ctrl+Z)">Undo</button> <button class="tool svelte-49zqag" data-testid="redo" title="Redo (Ctrl+Y)">Redo</button> <button class="tool svelte-49zqag" data-testid="zoom-out" title="Zoom out (mouse wheel)">−</button> <button class="tool svelte-49zqag" data-testid="fit" title="Fit the image (V)"> </button> <button class="tool svelte-49zqag" data-testid="zoom-in" title="Zoom in (mouse wheel)">+</button> <span class="sep svelte-49zqag"></span> <button class="tool svelte-49zqag" data-testid="revert" title="Back to the stored mask (undoable)">Revert</button> <button class="tool primary svelte-49zqag" data-testid="save" title="Save the correction (Ctrl+S)">Save correction</button></div> <div class="palette svelte-49zqag" role="radiogroup" aria-label="Classes"></div> <div class="stage svelte-49zqag"><canvas tabindex="0" data-testid="editor-canvas"></canvas> <!></div> <div class="status svelte-49zqag" data-testid="editor-status"><span class="hint"> </span> <span> </span> <span> </span> <!> <!> <!></div></div>');
function ui(e, t) {
  Vn(t, !0);
  const n = /* @__PURE__ */ ga(t, ["$$slots", "$$events", "$$legacy"]), r = new Ma(n), i = [
    ["brush", "Brush", "B", "paint the class (drag)"],
    ["eraser", "Eraser", "E", "paint background (drag)"],
    [
      "fill",
      "Fill region",
      "F",
      "give the region under the click the class (region size below)"
    ],
    [
      "polygon",
      "Polygon",
      "P",
      "click the corners; Enter or double-click fills it, Esc cancels"
    ],
    [
      "clicks",
      "Clicks",
      "C",
      "click = add the region to the class, right- or shift-click = remove it"
    ],
    [
      "pan",
      "Pan",
      "",
      "drag to move (or hold Space, or drag with the middle button)"
    ]
  ];
  let a = Y(null), s = Y("brush"), o = Y(1), f = Y(50), h = Y(!0), u = Y(10), v = Y("medium"), p = Y(!1), b = Y(""), q = Y(!1), A = Y(""), _ = Y(1), w = Y(0), F = Y(0), k = Y(Ve([])), E = Y(Ve([])), x, T, C = null, g = new Uint8Array(0), m = new Uint8Array(0), I = {}, U = null, K = null, se = new Uint32Array(256), N = { s: 1, tx: 0, ty: 0 }, H = new Xa(), R = null, z = null, V = null, D = Y(!1), pe = 0;
  const P = () => l(a)?.width ?? 0, X = () => l(a)?.height ?? 0, Q = it(() => r.props.height || 600), Z = it(() => l(a)?.classes.find((c) => c.id === l(o)));
  qe(() => {
    const c = r.props.value;
    Ce(() => ie(c));
  });
  function O(c = {}) {
    return l(a) ? {
      key: l(a).key,
      image_id: l(a).image_id,
      mask_id: l(a).mask_id,
      ...c
    } : null;
  }
  function ie(c) {
    if (!c) {
      y(a, null), g = new Uint8Array(0), le();
      return;
    }
    if (!c.photo || l(a) && c.key === l(a).key) return;
    const d = c, M = new Image();
    M.onload = () => {
      C = M, y(a, d, !0), g = gr(d.labels, d.width, d.height), m = g.slice(), I = {}, H.clear(), R = null, y(k, [], !0), y(E, [], !0), y(p, !1), y(b, ""), d.default_class != null && d.classes.some((S) => S.id === d.default_class) ? y(o, d.default_class, !0) : d.classes.some((S) => S.id === l(o)) || y(o, d.classes.find((S) => S.id > 0 && S.id < 255)?.id ?? 0, !0), se = Za(d.classes), U = document.createElement("canvas"), U.width = d.width, U.height = d.height, K = new ImageData(d.width, d.height), j(), Ae(), De(), r.props.value = O({ edit: null }), ge(d.image_id, d.key);
    }, M.src = d.photo;
  }
  function j(c = 0, d = 0, M = P() - 1, S = X() - 1) {
    !U || !K || (Ga(U, K, g, se, c, d, M, S), le());
  }
  async function ge(c, d) {
    try {
      const M = await r.shared.server.regions({ image_id: c });
      if (!l(a) || l(a).key !== d || !M || M.error) return;
      for (const S of Object.keys(M)) I[S] = Pa(M[S], P(), X());
    } catch (M) {
      console.warn("region maps unavailable", M);
    }
  }
  function Ae() {
    y(w, H.undo_stack.length, !0), y(F, H.redo_stack.length, !0);
  }
  function re() {
    y(p, !Va(g, m)), r.props.value = O({
      edit: l(p) ? { png: Ba(g, P(), X()) } : null
    }), Ae();
  }
  function oe(c = !1) {
    H.push(g), c || (R = null, y(E, [], !0));
  }
  function we() {
    const c = H.undo(g);
    if (!c) {
      y(b, "Nothing to undo.");
      return;
    }
    g = c, R = null, y(E, [], !0), j(), re();
  }
  function be() {
    const c = H.redo(g);
    if (!c) {
      y(b, "Nothing to redo.");
      return;
    }
    g = c, R = null, y(E, [], !0), j(), re();
  }
  function $e() {
    if (!l(p)) {
      y(b, "Nothing to revert: this is the draft as stored.");
      return;
    }
    oe(), g.set(m), j(), re(), y(b, "Back to the stored mask; Ctrl+Z brings your edits back.");
  }
  function xt() {
    re(), r.dispatch("save");
  }
  function Mt(c) {
    y(s, c, !0), y(k, [], !0), R = null, y(E, [], !0), y(b, ""), le();
  }
  function Et(c) {
    l(o) !== c && (R = null, y(E, [], !0)), y(o, c, !0);
  }
  function De() {
    !x || !l(a) || (N = Ja(P(), X(), x.clientWidth, x.clientHeight), y(_, N.s, !0), le());
  }
  function Ge(c, d, M) {
    const S = Math.min(32, Math.max(0.05, N.s * c));
    N = {
      s: S,
      tx: d - (d - N.tx) * S / N.s,
      ty: M - (M - N.ty) * S / N.s
    }, y(_, S, !0), le();
  }
  function At(c) {
    const d = T.getBoundingClientRect();
    return {
      x: (c.clientX - d.left - N.tx) / N.s,
      y: (c.clientY - d.top - N.ty) / N.s
    };
  }
  function St(c) {
    return c.x >= 0 && c.y >= 0 && c.x < P() && c.y < X();
  }
  function le() {
    pe || (pe = requestAnimationFrame(() => {
      pe = 0, Dr();
    }));
  }
  function Dr() {
    if (!T || !x) return;
    const c = V && (l(s) === "brush" || l(s) === "eraser") && !l(D) ? l(u) : null;
    Qa(T, x.clientWidth, x.clientHeight, N, l(a) ? C : null, l(h) ? U : null, l(f) / 100, {
      polygon: l(k),
      polygon_color: l(Z)?.color ?? "#fff",
      clicks: l(E),
      cursor: V,
      brush_radius: c
    });
  }
  function Hr(c) {
    if (!l(a)) return;
    T.focus({ preventScroll: !0 });
    const d = At(c);
    if (c.button === 1 || l(D) || l(s) === "pan") {
      z = {
        mode: "pan",
        last: d,
        sx: c.clientX,
        sy: c.clientY,
        tx: N.tx,
        ty: N.ty
      }, T.setPointerCapture(c.pointerId);
      return;
    }
    c.button === 2 && l(s) !== "clicks" || St(d) && (l(s) === "brush" || l(s) === "eraser" ? (oe(), z = { mode: "paint", last: d, sx: 0, sy: 0, tx: 0, ty: 0 }, T.setPointerCapture(c.pointerId), zt(d, d)) : l(s) === "fill" ? Kr(d) : l(s) === "polygon" ? (c.detail >= 2 && l(k).length >= 3 ? Tt() : y(k, [...l(k), d], !0), le()) : l(s) === "clicks" && Yr(d, c.button === 0 && !c.shiftKey));
  }
  function Br(c) {
    if (!l(a)) return;
    const d = At(c);
    V = d;
    const M = Math.floor(d.x), S = Math.floor(d.y);
    if (St(d)) {
      const B = g[S * P() + M];
      y(A, `x ${M}, y ${S} · ${l(a).classes.find((G) => G.id === B)?.name ?? `class ${B}`}`);
    } else y(A, "");
    z?.mode === "pan" ? N = {
      ...N,
      tx: z.tx + c.clientX - z.sx,
      ty: z.ty + c.clientY - z.sy
    } : z?.mode === "paint" && (zt(z.last, d), z.last = d), le();
  }
  function Wr() {
    z?.mode === "paint" && re(), z = null;
  }
  function zt(c, d) {
    const M = l(s) === "eraser" ? 0 : l(o), [S, B, G, ye] = Wa(g, P(), X(), c, d, l(u), M);
    G >= S && ye >= B && j(S, B, G, ye);
  }
  async function Kr(c) {
    I[l(v)] || (y(b, "Loading the image's regions…"), await ge(l(a).image_id, l(a).key));
    const d = I[l(v)];
    if (!d) {
      y(b, "The region maps of this image are not available.");
      return;
    }
    oe(), Ya(g, d, P(), Math.floor(c.x), Math.floor(c.y), l(o)), j(), re(), y(b, "");
  }
  function Tt() {
    if (l(k).length < 3) {
      y(b, "A polygon needs at least three corners.");
      return;
    }
    oe(), Ka(g, P(), X(), l(k), l(o)), y(k, [], !0), j(), re();
  }
  async function Yr(c, d) {
    if (l(q)) return;
    if (l(o) === 0 || l(o) === 255) {
      y(b, "Pick a class (not background or unsure) to refine.");
      return;
    }
    (!R || R.cls !== l(o)) && (R = { cls: l(o), base: g.slice() }, y(E, [], !0));
    const M = l(a).key, S = [
      ...l(E),
      [Math.floor(c.x), Math.floor(c.y), d]
    ];
    y(q, !0);
    try {
      const B = await r.shared.server.refine({
        image_id: l(a).image_id,
        width: P(),
        height: X(),
        class_id: l(o),
        points: S,
        scale: l(v),
        labels: La(R.base)
      });
      if (!l(a) || l(a).key !== M) return;
      if (B?.error) {
        y(b, B.error, !0);
        return;
      }
      oe(!0), g = gr(B.labels, P(), X()), y(E, S, !0), j(), re(), y(b, "");
    } catch (B) {
      y(b, `Refine failed: ${B}`);
    } finally {
      y(q, !1);
    }
  }
  function Vr() {
    V = null, y(A, ""), le();
  }
  function Xr(c) {
    if (!l(a)) return;
    c.preventDefault();
    const d = T.getBoundingClientRect();
    Ge(c.deltaY < 0 ? 1.2 : 1 / 1.2, c.clientX - d.left, c.clientY - d.top);
  }
  function Zr(c) {
    const d = c;
    return !!d && (d.tagName === "INPUT" || d.tagName === "TEXTAREA" || d.tagName === "SELECT" || d.isContentEditable);
  }
  function qt(c) {
    if (!l(a) || !x || x.offsetParent === null || Zr(c.target)) return;
    const d = c.key.toLowerCase();
    if (c.ctrlKey || c.metaKey) {
      if (d === "z" && !c.shiftKey) we();
      else if (d === "y" || d === "z" && c.shiftKey) be();
      else if (d === "s") xt();
      else return;
      c.preventDefault();
      return;
    }
    if (c.altKey) return;
    const M = l(a).classes.find((B) => B.key.toLowerCase() === d), S = {
      b: "brush",
      e: "eraser",
      f: "fill",
      p: "polygon",
      c: "clicks"
    };
    if (M) Et(M.id);
    else if (S[d]) Mt(S[d]);
    else if (d === "h") y(h, !l(h));
    else if (d === "v") De();
    else if (d === "[") y(u, Math.max(1, l(u) - 2), !0);
    else if (d === "]") y(u, Math.min(200, l(u) + 2), !0);
    else if (d === "enter" && l(s) === "polygon") Tt();
    else if (d === "escape") Gr();
    else if (d === "backspace" && l(k).length) y(k, l(k).slice(0, -1), !0);
    else if (d === " ") y(D, !0);
    else return;
    c.preventDefault();
  }
  function Gr() {
    y(k, [], !0), R = null, y(E, [], !0), le();
  }
  function Ct(c) {
    c.key === " " && y(D, !1);
  }
  ta(() => {
    const c = new ResizeObserver(() => l(a) ? De() : le());
    return c.observe(x), document.addEventListener("keydown", qt), document.addEventListener("keyup", Ct), () => {
      c.disconnect(), document.removeEventListener("keydown", qt), document.removeEventListener("keyup", Ct);
    };
  }), qe(() => {
    l(f), l(h), le();
  });
  var He = fi();
  let $t;
  var It = W(He);
  {
    var Jr = (c) => {
      var d = ti(), M = W(d), S = $(M);
      {
        var B = (G) => {
          var ye = ei(), fe = W(ye);
          Se(() => ne(fe, `· ${l(a).title ?? ""}`)), he(G, ye);
        };
        ze(S, (G) => {
          l(a)?.title && G(B);
        });
      }
      Se(() => ne(M, r.shared.label)), he(c, d);
    };
    ze(It, (c) => {
      r.shared.label && c(Jr);
    });
  }
  var Nt = $(It, 2), Rt = W(Nt);
  sr(Rt, 17, () => i, ra, (c, d) => {
    var M = it(() => Xn(l(d), 4));
    let S = () => l(M)[0], B = () => l(M)[1], G = () => l(M)[2], ye = () => l(M)[3];
    var fe = ni();
    let jt;
    fe.__click = () => Mt(S());
    var er = W(fe), _n = $(er);
    {
      var pn = (nt) => {
        var tr = ri(), gn = W(tr);
        Se(() => ne(gn, G())), he(nt, tr);
      };
      ze(_n, (nt) => {
        G() && nt(pn);
      });
    }
    Se(() => {
      jt = Ie(fe, 1, "tool svelte-49zqag", null, jt, { active: l(s) === S() }), te(fe, "data-testid", `tool-${S()}`), te(fe, "aria-pressed", l(s) === S()), te(fe, "title", `${B()}${G() ? ` (${G()})` : ""}: ${ye()}`), ne(er, B());
    }), he(c, fe);
  });
  var Ut = $(Rt, 2), Ft = $(W(Ut)), Qr = $(Ft, 2), jr = W(Qr), Ot = $(Ut, 2), Lt = $(W(Ot)), Je = W(Lt);
  Je.value = Je.__value = "fine";
  var Qe = $(Je);
  Qe.value = Qe.__value = "medium";
  var Pt = $(Qe);
  Pt.value = Pt.__value = "coarse";
  var Dt = $(Ot, 2), Ht = $(W(Dt)), en = $(Ht, 2), tn = W(en), Be = $(Dt, 2);
  let Bt;
  Be.__click = () => y(h, !l(h));
  var je = $(Be, 4);
  je.__click = we;
  var et = $(je, 2);
  et.__click = be;
  var Wt = $(et, 2);
  Wt.__click = () => Ge(1 / 1.25, x.clientWidth / 2, x.clientHeight / 2);
  var tt = $(Wt, 2);
  tt.__click = De;
  var rn = W(tt), Kt = $(tt, 2);
  Kt.__click = () => Ge(1.25, x.clientWidth / 2, x.clientHeight / 2);
  var rt = $(Kt, 4);
  rt.__click = $e;
  var nn = $(rt, 2);
  nn.__click = xt;
  var Yt = $(Nt, 2);
  sr(Yt, 21, () => l(a)?.classes ?? [], (c) => c.id, (c, d) => {
    var M = ai();
    let S;
    M.__click = () => Et(l(d).id);
    var B = W(M), G = $(B), ye = W(G), fe = $(G, 1, !0);
    Se(() => {
      S = Ie(M, 1, "chip svelte-49zqag", null, S, { active: l(o) === l(d).id }), te(M, "data-testid", `class-${l(d).id}`), te(M, "aria-checked", l(o) === l(d).id), te(M, "title", `${l(d).name} (key ${l(d).key})`), lr(B, `background:${l(d).color}`), ne(ye, l(d).key), ne(fe, l(d).name);
    }), he(c, M);
  });
  var We = $(Yt, 2), ee = W(We);
  ee.__pointerdown = Hr, ee.__pointermove = Br, ee.__pointerup = Wr, ee.__contextmenu = (c) => c.preventDefault();
  let Vt;
  dr(ee, (c) => T = c, () => T);
  var an = $(ee, 2);
  {
    var sn = (c) => {
      var d = ii();
      he(c, d);
    };
    ze(an, (c) => {
      l(a) || c(sn);
    });
  }
  dr(We, (c) => x = c, () => x);
  var on = $(We, 2), Xt = W(on), ln = W(Xt), Zt = $(Xt, 2), fn = W(Zt), Gt = $(Zt, 2), cn = W(Gt), Jt = $(Gt, 2);
  {
    var un = (c) => {
      var d = si();
      he(c, d);
    };
    ze(Jt, (c) => {
      l(q) && c(un);
    });
  }
  var Qt = $(Jt, 2);
  {
    var dn = (c) => {
      var d = oi();
      he(c, d);
    };
    ze(Qt, (c) => {
      l(p) && c(dn);
    });
  }
  var hn = $(Qt, 2);
  {
    var vn = (c) => {
      var d = li(), M = W(d);
      Se(() => ne(M, l(b))), he(c, d);
    };
    ze(hn, (c) => {
      l(b) && c(vn);
    });
  }
  Se(
    (c, d) => {
      $t = Ie(He, 1, "mask-editor svelte-49zqag", null, $t, { hidden: !r.shared.visible }), te(He, "id", r.shared.elem_id), ne(jr, l(u)), ne(tn, `${l(f) ?? ""}%`), Bt = Ie(Be, 1, "tool svelte-49zqag", null, Bt, { active: l(h) }), te(Be, "aria-pressed", l(h)), je.disabled = !l(w), et.disabled = !l(F), ne(rn, `${c ?? ""}%`), rt.disabled = !l(p), lr(We, `height:${l(Q)}px`), te(ee, "data-key", l(a)?.key ?? ""), te(ee, "data-class", l(o)), te(ee, "data-dirty", l(p)), te(ee, "data-opacity", l(f)), te(ee, "data-overlay", l(h)), te(ee, "data-busy", l(q)), Vt = Ie(ee, 1, "svelte-49zqag", null, Vt, { pan: l(s) === "pan" || l(D) }), ne(ln, d), ne(fn, l(Z) ? `class: ${l(Z).name}` : ""), ne(cn, l(A));
    },
    [
      () => Math.round(l(_) * 100),
      () => i.find((c) => c[0] === l(s))?.[3]
    ]
  ), cr(Ft, () => l(u), (c) => y(u, c)), fa(Lt, () => l(v), (c) => y(v, c)), cr(Ht, () => l(f), (c) => y(f, c)), ar("pointerleave", ee, Vr), ar("wheel", ee, Xr), he(e, He), Yn();
}
Kn([
  "click",
  "pointerdown",
  "pointermove",
  "pointerup",
  "contextmenu"
]);
export {
  ui as default
};
