import { i as gt, g as br, o as yn, a as kn, b as wn, T as xn, c as Mn, d as ve, r as bt, e as Ke, p as mt, f as Fe, h as Le, m as En, s as mr, j as An, u as qe, k as $e, l as yr, E as Sn, n as kr, q as l, t as rr, v as ye, w as zn, x as Tn, y as qn, z as Cn, A as nr, B as $n, I as at, C as wr, D as In, F as Nn, G as yt, H as Rn, J as xr, K as Mr, L as Un, M as Fn, N as On, O as Er, P as Ln, Q as Pn, R as Dn, S as Hn, U as Ar, V as Bn, W as Wn, X as Kn, Y as Yn, Z, _ as Ve, $ as y, a0 as Vn, a1 as ze, a2 as ar, a3 as Xn, a4 as I, a5 as X, a6 as Zn, a7 as ie, a8 as it, a9 as Gn } from "./render-BXCjtrTN.js";
function Jn(e) {
  throw new Error("https://svelte.dev/e/lifecycle_outside_component");
}
const Qn = [];
function jn(e, t = !1, n = !1) {
  return Ye(e, /* @__PURE__ */ new Map(), "", Qn, null, n);
}
function Ye(e, t, n, r, i = null, a = !1) {
  if (typeof e == "object" && e !== null) {
    var o = t.get(e);
    if (o !== void 0) return o;
    if (e instanceof Map) return (
      /** @type {Snapshot<T>} */
      new Map(e)
    );
    if (e instanceof Set) return (
      /** @type {Snapshot<T>} */
      new Set(e)
    );
    if (gt(e)) {
      var f = (
        /** @type {Snapshot<any>} */
        Array(e.length)
      );
      t.set(e, f), i !== null && t.set(i, f);
      for (var d = 0; d < e.length; d += 1) {
        var h = e[d];
        d in e && (f[d] = Ye(h, t, n, r, null, a));
      }
      return f;
    }
    if (br(e) === yn) {
      f = {}, t.set(e, f), i !== null && t.set(i, f);
      for (var u in e)
        f[u] = Ye(
          // @ts-expect-error
          e[u],
          t,
          n,
          r,
          null,
          a
        );
      return f;
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
function ea(e) {
  var t = document.createElement("template");
  return t.innerHTML = e.replaceAll("<!>", "<!---->"), t.content;
}
function ta(e, t) {
  var n = (
    /** @type {Effect} */
    Mn
  );
  n.nodes === null && (n.nodes = { start: e, end: t, a: null, t: null });
}
// @__NO_SIDE_EFFECTS__
function pe(e, t) {
  var n = (t & xn) !== 0, r, i = !e.startsWith("<!>");
  return () => {
    r === void 0 && (r = ea(i ? e : "<!>" + e), r = /** @type {TemplateNode} */
    kn(r));
    var a = (
      /** @type {TemplateNode} */
      n || wn ? document.importNode(r, !0) : r.cloneNode(!0)
    );
    return ta(a, a), a;
  };
}
function he(e, t) {
  e !== null && e.before(
    /** @type {Node} */
    t
  );
}
class ra {
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
      ve
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
      for (const [a, o] of this.#t) {
        if (this.#t.delete(a), a === t)
          break;
        const f = this.#e.get(o);
        f && (Ke(f.effect), this.#e.delete(o));
      }
      for (const [a, o] of this.#r) {
        if (a === n || this.#n.has(a)) continue;
        const f = () => {
          if (Array.from(this.#t.values()).includes(a)) {
            var h = document.createDocumentFragment();
            En(o, h), h.append(Fe()), this.#e.set(a, { effect: o, fragment: h });
          } else
            Ke(o);
          this.#n.delete(a), this.#r.delete(a);
        };
        this.#a || !r ? (this.#n.add(a), mt(o, f, !1)) : f();
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
      ve
    ), i = mr();
    if (n && !this.#r.has(t) && !this.#e.has(t))
      if (i) {
        var a = document.createDocumentFragment(), o = Fe();
        a.append(o), this.#e.set(t, {
          effect: Le(() => n(o)),
          fragment: a
        });
      } else
        this.#r.set(
          t,
          Le(() => n(this.anchor))
        );
    if (this.#t.set(r, t), i) {
      for (const [f, d] of this.#r)
        f === t ? r.skipped_effects.delete(d) : r.skipped_effects.add(d);
      for (const [f, d] of this.#e)
        f === t ? r.skipped_effects.delete(d.effect) : r.skipped_effects.add(d.effect);
      r.oncommit(this.#i), r.ondiscard(this.#s);
    } else
      this.#i();
  }
}
function na(e) {
  An === null && Jn(), qe(() => {
    const t = $e(e);
    if (typeof t == "function") return (
      /** @type {() => void} */
      t
    );
  });
}
function Te(e, t, n = !1) {
  var r = new ra(e), i = n ? Sn : 0;
  function a(o, f) {
    r.ensure(o, f);
  }
  yr(() => {
    var o = !1;
    t((f, d = !0) => {
      o = !0, a(d, f);
    }), o || a(!1, null);
  }, i);
}
function aa(e, t) {
  return t;
}
function ia(e, t, n) {
  for (var r = [], i = t.length, a, o = t.length, f = 0; f < i; f++) {
    let v = t[f];
    mt(
      v,
      () => {
        if (a) {
          if (a.pending.delete(v), a.done.add(v), a.pending.size === 0) {
            var p = (
              /** @type {Set<EachOutroGroup>} */
              e.outrogroups
            );
            dt(yt(a.done)), p.delete(a), p.size === 0 && (e.outrogroups = null);
          }
        } else
          o -= 1;
      },
      !1
    );
  }
  if (o === 0) {
    var d = r.length === 0 && n !== null;
    if (d) {
      var h = (
        /** @type {Element} */
        n
      ), u = (
        /** @type {Element} */
        h.parentNode
      );
      Nn(u), u.append(h), e.items.clear();
    }
    dt(t, !d);
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
  var o = e, f = /* @__PURE__ */ new Map(), d = (t & kr) !== 0;
  if (d) {
    var h = (
      /** @type {Element} */
      e
    );
    o = h.appendChild(Fe());
  }
  var u = null, v = zn(() => {
    var E = n();
    return gt(E) ? E : E == null ? [] : yt(E);
  }), p, b = !0;
  function $() {
    _.fallback = u, sa(_, p, o, t, r), u !== null && (p.length === 0 ? (u.f & ye) === 0 ? bt(u) : (u.f ^= ye, Ue(u, null, o)) : mt(u, () => {
      u = null;
    }));
  }
  var S = yr(() => {
    p = /** @type {V[]} */
    l(v);
    for (var E = p.length, O = /* @__PURE__ */ new Set(), w = (
      /** @type {Batch} */
      ve
    ), A = mr(), M = 0; M < E; M += 1) {
      var z = p[M], C = r(z, M), g = b ? null : f.get(C);
      g ? (g.v && rr(g.v, z), g.i && rr(g.i, M), A && w.skipped_effects.delete(g.e)) : (g = oa(
        f,
        b ? o : ir ??= Fe(),
        z,
        C,
        M,
        i,
        t,
        n
      ), b || (g.e.f |= ye), f.set(C, g)), O.add(C);
    }
    if (E === 0 && a && !u && (b ? u = Le(() => a(o)) : (u = Le(() => a(ir ??= Fe())), u.f |= ye)), !b)
      if (A) {
        for (const [x, N] of f)
          O.has(x) || w.skipped_effects.add(N.e);
        w.oncommit($), w.ondiscard(() => {
        });
      } else
        $();
    l(v);
  }), _ = { effect: S, items: f, outrogroups: null, fallback: u };
  b = !1;
}
function sa(e, t, n, r, i) {
  var a = (r & In) !== 0, o = t.length, f = e.items, d = e.effect.first, h, u = null, v, p = [], b = [], $, S, _, E;
  if (a)
    for (E = 0; E < o; E += 1)
      $ = t[E], S = i($, E), _ = /** @type {EachItem} */
      f.get(S).e, (_.f & ye) === 0 && (_.nodes?.a?.measure(), (v ??= /* @__PURE__ */ new Set()).add(_));
  for (E = 0; E < o; E += 1) {
    if ($ = t[E], S = i($, E), _ = /** @type {EachItem} */
    f.get(S).e, e.outrogroups !== null)
      for (const N of e.outrogroups)
        N.pending.delete(_), N.done.delete(_);
    if ((_.f & ye) !== 0)
      if (_.f ^= ye, _ === d)
        Ue(_, null, n);
      else {
        var O = u ? u.next : d;
        _ === e.effect.last && (e.effect.last = _.prev), _.prev && (_.prev.next = _.next), _.next && (_.next.prev = _.prev), we(e, u, _), we(e, _, O), Ue(_, O, n), u = _, p = [], b = [], d = u.next;
        continue;
      }
    if ((_.f & at) !== 0 && (bt(_), a && (_.nodes?.a?.unfix(), (v ??= /* @__PURE__ */ new Set()).delete(_))), _ !== d) {
      if (h !== void 0 && h.has(_)) {
        if (p.length < b.length) {
          var w = b[0], A;
          u = w.prev;
          var M = p[0], z = p[p.length - 1];
          for (A = 0; A < p.length; A += 1)
            Ue(p[A], w, n);
          for (A = 0; A < b.length; A += 1)
            h.delete(b[A]);
          we(e, M.prev, z.next), we(e, u, M), we(e, z, w), d = w, u = z, E -= 1, p = [], b = [];
        } else
          h.delete(_), Ue(_, d, n), we(e, _.prev, _.next), we(e, _, u === null ? e.effect.first : u.next), we(e, u, _), u = _;
        continue;
      }
      for (p = [], b = []; d !== null && d !== _; )
        (h ??= /* @__PURE__ */ new Set()).add(d), b.push(d), d = d.next;
      if (d === null)
        continue;
    }
    (_.f & ye) === 0 && p.push(_), u = _, d = _.next;
  }
  if (e.outrogroups !== null) {
    for (const N of e.outrogroups)
      N.pending.size === 0 && (dt(yt(N.done)), e.outrogroups?.delete(N));
    e.outrogroups.size === 0 && (e.outrogroups = null);
  }
  if (d !== null || h !== void 0) {
    var C = [];
    if (h !== void 0)
      for (_ of h)
        (_.f & at) === 0 && C.push(_);
    for (; d !== null; )
      (d.f & at) === 0 && d !== e.fallback && C.push(d), d = d.next;
    var g = C.length;
    if (g > 0) {
      var x = (r & kr) !== 0 && o === 0 ? n : null;
      if (a) {
        for (E = 0; E < g; E += 1)
          C[E].nodes?.a?.measure();
        for (E = 0; E < g; E += 1)
          C[E].nodes?.a?.fix();
      }
      ia(e, C, x);
    }
  }
  a && wr(() => {
    if (v !== void 0)
      for (_ of v)
        _.nodes?.a?.apply();
  });
}
function oa(e, t, n, r, i, a, o, f) {
  var d = (o & Tn) !== 0 ? (o & qn) === 0 ? Cn(n, !1, !1) : nr(n) : null, h = (o & $n) !== 0 ? nr(i) : null;
  return {
    v: d,
    i: h,
    e: Le(() => (a(t, d ?? n, h ?? i, f), () => {
      e.delete(r);
    }))
  };
}
function Ue(e, t, n) {
  if (e.nodes)
    for (var r = e.nodes.start, i = e.nodes.end, a = t && (t.f & ye) === 0 ? (
      /** @type {EffectNodes} */
      t.nodes.start
    ) : n; r !== null; ) {
      var o = (
        /** @type {TemplateNode} */
        Rn(r)
      );
      if (a.before(r), r === i)
        return;
      r = o;
    }
}
function we(e, t, n) {
  t === null ? e.effect.first = n : t.next = n, n === null ? e.effect.last = t : n.prev = t;
}
const or = [...` 	
\r\f \v\uFEFF`];
function la(e, t, n) {
  var r = e == null ? "" : "" + e;
  if (n) {
    for (var i in n)
      if (n[i])
        r = r ? r + " " + i : i;
      else if (r.length)
        for (var a = i.length, o = 0; (o = r.indexOf(i, o)) >= 0; ) {
          var f = o + a;
          (o === 0 || or.includes(r[o - 1])) && (f === r.length || or.includes(r[f])) ? r = (o === 0 ? "" : r.substring(0, o)) + r.substring(f + 1) : o = f;
        }
  }
  return r === "" ? null : r;
}
function fa(e, t) {
  return e == null ? null : String(e);
}
function Ie(e, t, n, r, i, a) {
  var o = e.__className;
  if (o !== n || o === void 0) {
    var f = la(n, r, a);
    f == null ? e.removeAttribute("class") : e.className = f, e.__className = n;
  } else if (a && i !== a)
    for (var d in a) {
      var h = !!a[d];
      (i == null || h !== !!i[d]) && e.classList.toggle(d, h);
    }
  return a;
}
function lr(e, t, n, r) {
  var i = e.__style;
  if (i !== t) {
    var a = fa(t);
    a == null ? e.removeAttribute("style") : e.style.cssText = a, e.__style = t;
  }
  return r;
}
function Sr(e, t, n = !1) {
  if (e.multiple) {
    if (t == null)
      return;
    if (!gt(t))
      return Fn();
    for (var r of e.options)
      r.selected = t.includes(Oe(r));
    return;
  }
  for (r of e.options) {
    var i = Oe(r);
    if (On(i, t)) {
      r.selected = !0;
      return;
    }
  }
  (!n || t !== void 0) && (e.selectedIndex = -1);
}
function ca(e) {
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
  }), Un(() => {
    t.disconnect();
  });
}
function ua(e, t, n = t) {
  var r = /* @__PURE__ */ new WeakSet(), i = !0;
  xr(e, "change", (a) => {
    var o = a ? "[selected]" : ":checked", f;
    if (e.multiple)
      f = [].map.call(e.querySelectorAll(o), Oe);
    else {
      var d = e.querySelector(o) ?? // will fall back to first non-disabled option if no option is selected
      e.querySelector("option:not([disabled])");
      f = d && Oe(d);
    }
    n(f), ve !== null && r.add(ve);
  }), Mr(() => {
    var a = t();
    if (e === document.activeElement) {
      var o = (
        /** @type {Batch} */
        Er ?? ve
      );
      if (r.has(o))
        return;
    }
    if (Sr(e, a, i), i && a === void 0) {
      var f = e.querySelector(":checked");
      f !== null && (a = Oe(f), n(a));
    }
    e.__value = a, i = !1;
  }), ca(e);
}
function Oe(e) {
  return "__value" in e ? e.__value : e.value;
}
const da = /* @__PURE__ */ Symbol("is custom element"), va = /* @__PURE__ */ Symbol("is html");
function ae(e, t, n, r) {
  var i = ha(e);
  i[t] !== (i[t] = n) && (t === "loading" && (e[Ln] = n), n == null ? e.removeAttribute(t) : typeof n != "string" && _a(e).includes(t) ? e[t] = n : e.setAttribute(t, n));
}
function ha(e) {
  return (
    /** @type {Record<string | symbol, unknown>} **/
    // @ts-expect-error
    e.__attributes ??= {
      [da]: e.nodeName.includes("-"),
      [va]: e.namespaceURI === Pn
    }
  );
}
var fr = /* @__PURE__ */ new Map();
function _a(e) {
  var t = e.getAttribute("is") || e.nodeName, n = fr.get(t);
  if (n) return n;
  fr.set(t, n = []);
  for (var r, i = e, a = Element.prototype; a !== i; ) {
    r = Dn(i);
    for (var o in r)
      r[o].set && n.push(o);
    i = br(i);
  }
  return n;
}
function cr(e, t, n = t) {
  var r = /* @__PURE__ */ new WeakSet();
  xr(e, "input", async (i) => {
    var a = i ? e.defaultValue : e.value;
    if (a = st(e) ? ot(a) : a, n(a), ve !== null && r.add(ve), await Hn(), a !== (a = t())) {
      var o = e.selectionStart, f = e.selectionEnd, d = e.value.length;
      if (e.value = a ?? "", f !== null) {
        var h = e.value.length;
        o === f && f === d && h > d ? (e.selectionStart = h, e.selectionEnd = h) : (e.selectionStart = o, e.selectionEnd = Math.min(f, h));
      }
    }
  }), // If we are hydrating and the value has since changed,
  // then use the updated value from the input instead.
  // If defaultValue is set, then value == defaultValue
  // TODO Svelte 6: remove input.value check and set to empty string?
  $e(t) == null && e.value && (n(st(e) ? ot(e.value) : e.value), ve !== null && r.add(ve)), Ar(() => {
    var i = t();
    if (e === document.activeElement) {
      var a = (
        /** @type {Batch} */
        Er ?? ve
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
  return e === t || e?.[Bn] === t;
}
function dr(e = {}, t, n, r) {
  return Mr(() => {
    var i, a;
    return Ar(() => {
      i = a, a = [], $e(() => {
        e !== n(...a) && (t(e, ...a), i && ur(n(...i), e) && t(null, ...i));
      });
    }), () => {
      wr(() => {
        a && ur(n(...a), e) && t(null, ...a);
      });
    };
  }), e;
}
function pa(e, t, n) {
  if (e == null)
    return t(void 0), Wn;
  const r = $e(
    () => e.subscribe(
      t,
      // @ts-expect-error
      n
    )
  );
  return r.unsubscribe ? () => r.unsubscribe() : r;
}
function ga(e) {
  let t;
  return pa(e, (n) => t = n)(), t;
}
const ba = {
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
function ma(e, t, n) {
  return new Proxy(
    { props: e, exclude: t },
    ba
  );
}
const ya = [
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
], vr = {
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
ya.reduce((e, { color: t, primary: n, secondary: r }) => ({
  ...e,
  [t]: {
    primary: vr[t][n],
    secondary: vr[t][r]
  }
}), {});
function ka(e) {
  let t;
  const n = Yn((i) => {
    let a = !1;
    const o = e.subscribe((f) => {
      t = f, a && i();
    });
    return a = !0, o;
  });
  function r() {
    return Kn() ? (n(), t) : ga(e);
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
const wa = "__i18n__", xa = [
  "label",
  "info",
  "placeholder",
  "description",
  "title",
  "value"
], Ma = [
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
function Ea(e) {
  return typeof e == "string" && e.includes(wa);
}
class Aa {
  load_component;
  #t = Z(Ve({}));
  get shared() {
    return l(this.#t);
  }
  set shared(t) {
    y(this.#t, t, !0);
  }
  #r = Z(Ve({}));
  get props() {
    return l(this.#r);
  }
  set props(t) {
    y(this.#r, t, !0);
  }
  #e = Z((t) => t);
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
  shared_props = Ma;
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
    this.i18n = this.props.i18n ?? ((r) => r), this.i18n_store = t.props.i18n_store, this._i18n_from_store = this.i18n_store ? ka(this.i18n_store) : void 0;
    for (const r of xa)
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
      ), this.registered_id = r, $e(() => {
        this.shared.id = r;
      });
    }), qe(() => () => {
      this.registered_id !== null && this.unregister_component(this.registered_id, this.set_data_callback);
    }), qe(() => this.i18n_store ? this.i18n_store.subscribe(() => {
      for (const [i, a] of Object.entries(this.translatable_props)) {
        const [o, f] = i.split("."), d = this.i18n(a);
        o === "shared" ? this.shared[f] = d : this.props[f] = d;
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
    return jn(this.props);
  }
  update(t) {
    this.set_data(t);
  }
  set_data(t) {
    for (const n in t) {
      const r = t[n], i = Ea(r) ? this._translate_and_store(this.shared_props.includes(n) ? "shared" : "props", n, r) : r;
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
var Q = Uint8Array, se = Uint16Array, kt = Int32Array, Xe = new Q([
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
]), Ze = new Q([
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
]), vt = new Q([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]), zr = function(e, t) {
  for (var n = new se(31), r = 0; r < 31; ++r)
    n[r] = t += 1 << e[r - 1];
  for (var i = new kt(n[30]), r = 1; r < 30; ++r)
    for (var a = n[r]; a < n[r + 1]; ++a)
      i[a] = a - n[r] << 5 | r;
  return { b: n, r: i };
}, Tr = zr(Xe, 2), qr = Tr.b, ht = Tr.r;
qr[28] = 258, ht[258] = 28;
var Cr = zr(Ze, 0), Sa = Cr.b, hr = Cr.r, _t = new se(32768);
for (var D = 0; D < 32768; ++D) {
  var xe = (D & 43690) >> 1 | (D & 21845) << 1;
  xe = (xe & 52428) >> 2 | (xe & 13107) << 2, xe = (xe & 61680) >> 4 | (xe & 3855) << 4, _t[D] = ((xe & 65280) >> 8 | (xe & 255) << 8) >> 1;
}
var _e = (function(e, t, n) {
  for (var r = e.length, i = 0, a = new se(t); i < r; ++i)
    e[i] && ++a[e[i] - 1];
  var o = new se(t);
  for (i = 1; i < t; ++i)
    o[i] = o[i - 1] + a[i - 1] << 1;
  var f;
  if (n) {
    f = new se(1 << t);
    var d = 15 - t;
    for (i = 0; i < r; ++i)
      if (e[i])
        for (var h = i << 4 | e[i], u = t - e[i], v = o[e[i] - 1]++ << u, p = v | (1 << u) - 1; v <= p; ++v)
          f[_t[v] >> d] = h;
  } else
    for (f = new se(r), i = 0; i < r; ++i)
      e[i] && (f[i] = _t[o[e[i] - 1]++] >> 15 - e[i]);
  return f;
}), Me = new Q(288);
for (var D = 0; D < 144; ++D)
  Me[D] = 8;
for (var D = 144; D < 256; ++D)
  Me[D] = 9;
for (var D = 256; D < 280; ++D)
  Me[D] = 7;
for (var D = 280; D < 288; ++D)
  Me[D] = 8;
var Pe = new Q(32);
for (var D = 0; D < 32; ++D)
  Pe[D] = 5;
var za = /* @__PURE__ */ _e(Me, 9, 0), Ta = /* @__PURE__ */ _e(Me, 9, 1), qa = /* @__PURE__ */ _e(Pe, 5, 0), Ca = /* @__PURE__ */ _e(Pe, 5, 1), lt = function(e) {
  for (var t = e[0], n = 1; n < e.length; ++n)
    e[n] > t && (t = e[n]);
  return t;
}, ue = function(e, t, n) {
  var r = t / 8 | 0;
  return (e[r] | e[r + 1] << 8) >> (t & 7) & n;
}, ft = function(e, t) {
  var n = t / 8 | 0;
  return (e[n] | e[n + 1] << 8 | e[n + 2] << 16) >> (t & 7);
}, wt = function(e) {
  return (e + 7) / 8 | 0;
}, $r = function(e, t, n) {
  return (n == null || n > e.length) && (n = e.length), new Q(e.subarray(t, n));
}, $a = [
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
], de = function(e, t, n) {
  var r = new Error(t || $a[e]);
  if (r.code = e, Error.captureStackTrace && Error.captureStackTrace(r, de), !n)
    throw r;
  return r;
}, Ia = function(e, t, n, r) {
  var i = e.length, a = 0;
  if (!i || t.f && !t.l)
    return n || new Q(0);
  var o = !n, f = o || t.i != 2, d = t.i;
  o && (n = new Q(i * 3));
  var h = function(re) {
    var fe = n.length;
    if (re > fe) {
      var be = new Q(Math.max(fe * 2, re));
      be.set(n), n = be;
    }
  }, u = t.f || 0, v = t.p || 0, p = t.b || 0, b = t.l, $ = t.d, S = t.m, _ = t.n, E = i * 8;
  do {
    if (!b) {
      u = ue(e, v, 1);
      var O = ue(e, v + 1, 3);
      if (v += 3, O)
        if (O == 1)
          b = Ta, $ = Ca, S = 9, _ = 5;
        else if (O == 2) {
          var z = ue(e, v, 31) + 257, C = ue(e, v + 10, 15) + 4, g = z + ue(e, v + 5, 31) + 1;
          v += 14;
          for (var x = new Q(g), N = new Q(19), U = 0; U < C; ++U)
            N[vt[U]] = ue(e, v + U * 3, 7);
          v += C * 3;
          for (var B = lt(N), oe = (1 << B) - 1, T = _e(N, B, 1), U = 0; U < g; ) {
            var W = T[ue(e, v, oe)];
            v += W & 15;
            var w = W >> 4;
            if (w < 16)
              x[U++] = w;
            else {
              var R = 0, q = 0;
              for (w == 16 ? (q = 3 + ue(e, v, 3), v += 2, R = x[U - 1]) : w == 17 ? (q = 3 + ue(e, v, 7), v += 3) : w == 18 && (q = 11 + ue(e, v, 127), v += 7); q--; )
                x[U++] = R;
            }
          }
          var K = x.subarray(0, z), H = x.subarray(z);
          S = lt(K), _ = lt(H), b = _e(K, S, 1), $ = _e(H, _, 1);
        } else
          de(1);
      else {
        var w = wt(v) + 4, A = e[w - 4] | e[w - 3] << 8, M = w + A;
        if (M > i) {
          d && de(0);
          break;
        }
        f && h(p + A), n.set(e.subarray(w, M), p), t.b = p += A, t.p = v = M * 8, t.f = u;
        continue;
      }
      if (v > E) {
        d && de(0);
        break;
      }
    }
    f && h(p + 131072);
    for (var ge = (1 << S) - 1, F = (1 << _) - 1, Y = v; ; Y = v) {
      var R = b[ft(e, v) & ge], j = R >> 4;
      if (v += R & 15, v > E) {
        d && de(0);
        break;
      }
      if (R || de(2), j < 256)
        n[p++] = j;
      else if (j == 256) {
        Y = v, b = null;
        break;
      } else {
        var G = j - 254;
        if (j > 264) {
          var U = j - 257, L = Xe[U];
          G = ue(e, v, (1 << L) - 1) + qr[U], v += L;
        }
        var le = $[ft(e, v) & F], ke = le >> 4;
        le || de(3), v += le & 15;
        var H = Sa[ke];
        if (ke > 3) {
          var L = Ze[ke];
          H += ft(e, v) & (1 << L) - 1, v += L;
        }
        if (v > E) {
          d && de(0);
          break;
        }
        f && h(p + 131072);
        var ee = p + G;
        if (p < H) {
          var Ee = a - H, Ae = Math.min(H, ee);
          for (Ee + p < 0 && de(3); p < Ae; ++p)
            n[p] = r[Ee + p];
        }
        for (; p < ee; ++p)
          n[p] = n[p - H];
      }
    }
    t.l = b, t.p = Y, t.b = p, t.f = u, b && (u = 1, t.m = S, t.d = $, t.n = _);
  } while (!u);
  return p != n.length && o ? $r(n, 0, p) : n.subarray(0, p);
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
    var o = new Q(n[0].s + 1);
    return o[n[0].s] = 1, { t: o, l: 1 };
  }
  n.sort(function(M, z) {
    return M.f - z.f;
  }), n.push({ s: -1, f: 25001 });
  var f = n[0], d = n[1], h = 0, u = 1, v = 2;
  for (n[0] = { s: -1, f: f.f + d.f, l: f, r: d }; u != i - 1; )
    f = n[n[h].f < n[v].f ? h++ : v++], d = n[h != u && n[h].f < n[v].f ? h++ : v++], n[u++] = { s: -1, f: f.f + d.f, l: f, r: d };
  for (var p = a[0].s, r = 1; r < i; ++r)
    a[r].s > p && (p = a[r].s);
  var b = new se(p + 1), $ = pt(n[u - 1], b, 0);
  if ($ > t) {
    var r = 0, S = 0, _ = $ - t, E = 1 << _;
    for (a.sort(function(z, C) {
      return b[C.s] - b[z.s] || z.f - C.f;
    }); r < i; ++r) {
      var O = a[r].s;
      if (b[O] > t)
        S += E - (1 << $ - b[O]), b[O] = t;
      else
        break;
    }
    for (S >>= _; S > 0; ) {
      var w = a[r].s;
      b[w] < t ? S -= 1 << t - b[w]++ - 1 : ++r;
    }
    for (; r >= 0 && S; --r) {
      var A = a[r].s;
      b[A] == t && (--b[A], ++S);
    }
    $ = t;
  }
  return { t: new Q(b), l: $ };
}, pt = function(e, t, n) {
  return e.s == -1 ? Math.max(pt(e.l, t, n + 1), pt(e.r, t, n + 1)) : t[e.s] = n;
}, _r = function(e) {
  for (var t = e.length; t && !e[--t]; )
    ;
  for (var n = new se(++t), r = 0, i = e[0], a = 1, o = function(d) {
    n[r++] = d;
  }, f = 1; f <= t; ++f)
    if (e[f] == i && f != t)
      ++a;
    else {
      if (!i && a > 2) {
        for (; a > 138; a -= 138)
          o(32754);
        a > 2 && (o(a > 10 ? a - 11 << 5 | 28690 : a - 3 << 5 | 12305), a = 0);
      } else if (a > 3) {
        for (o(i), --a; a > 6; a -= 6)
          o(8304);
        a > 2 && (o(a - 3 << 5 | 8208), a = 0);
      }
      for (; a--; )
        o(i);
      a = 1, i = e[f];
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
}, pr = function(e, t, n, r, i, a, o, f, d, h, u) {
  me(t, u++, n), ++i[256];
  for (var v = ct(i, 15), p = v.t, b = v.l, $ = ct(a, 15), S = $.t, _ = $.l, E = _r(p), O = E.c, w = E.n, A = _r(S), M = A.c, z = A.n, C = new se(19), g = 0; g < O.length; ++g)
    ++C[O[g] & 31];
  for (var g = 0; g < M.length; ++g)
    ++C[M[g] & 31];
  for (var x = ct(C, 7), N = x.t, U = x.l, B = 19; B > 4 && !N[vt[B - 1]]; --B)
    ;
  var oe = h + 5 << 3, T = Re(i, Me) + Re(a, Pe) + o, W = Re(i, p) + Re(a, S) + o + 14 + 3 * B + Re(C, N) + 2 * C[16] + 3 * C[17] + 7 * C[18];
  if (d >= 0 && oe <= T && oe <= W)
    return Ir(t, u, e.subarray(d, d + h));
  var R, q, K, H;
  if (me(t, u, 1 + (W < T)), u += 2, W < T) {
    R = _e(p, b, 0), q = p, K = _e(S, _, 0), H = S;
    var ge = _e(N, U, 0);
    me(t, u, w - 257), me(t, u + 5, z - 1), me(t, u + 10, B - 4), u += 14;
    for (var g = 0; g < B; ++g)
      me(t, u + 3 * g, N[vt[g]]);
    u += 3 * B;
    for (var F = [O, M], Y = 0; Y < 2; ++Y)
      for (var j = F[Y], g = 0; g < j.length; ++g) {
        var G = j[g] & 31;
        me(t, u, ge[G]), u += N[G], G > 15 && (me(t, u, j[g] >> 5 & 127), u += j[g] >> 12);
      }
  } else
    R = za, q = Me, K = qa, H = Pe;
  for (var g = 0; g < f; ++g) {
    var L = r[g];
    if (L > 255) {
      var G = L >> 18 & 31;
      Ne(t, u, R[G + 257]), u += q[G + 257], G > 7 && (me(t, u, L >> 23 & 31), u += Xe[G]);
      var le = L & 31;
      Ne(t, u, K[le]), u += H[le], le > 3 && (Ne(t, u, L >> 5 & 8191), u += Ze[le]);
    } else
      Ne(t, u, R[L]), u += q[L];
  }
  return Ne(t, u, R[256]), u + q[256];
}, Na = /* @__PURE__ */ new kt([65540, 131080, 131088, 131104, 262176, 1048704, 1048832, 2114560, 2117632]), Nr = /* @__PURE__ */ new Q(0), Ra = function(e, t, n, r, i, a) {
  var o = a.z || e.length, f = new Q(r + o + 5 * (1 + Math.ceil(o / 7e3)) + i), d = f.subarray(r, f.length - i), h = a.l, u = (a.r || 0) & 7;
  if (t) {
    u && (d[0] = a.r >> 3);
    for (var v = Na[t - 1], p = v >> 13, b = v & 8191, $ = (1 << n) - 1, S = a.p || new se(32768), _ = a.h || new se($ + 1), E = Math.ceil(n / 3), O = 2 * E, w = function(Ce) {
      return (e[Ce] ^ e[Ce + 1] << E ^ e[Ce + 2] << O) & $;
    }, A = new kt(25e3), M = new se(288), z = new se(32), C = 0, g = 0, x = a.i || 0, N = 0, U = a.w || 0, B = 0; x + 2 < o; ++x) {
      var oe = w(x), T = x & 32767, W = _[oe];
      if (S[T] = W, _[oe] = T, U <= x) {
        var R = o - x;
        if ((C > 7e3 || N > 24576) && (R > 423 || !h)) {
          u = pr(e, d, 0, A, M, z, g, N, B, x - B, u), N = C = g = 0, B = x;
          for (var q = 0; q < 286; ++q)
            M[q] = 0;
          for (var q = 0; q < 30; ++q)
            z[q] = 0;
        }
        var K = 2, H = 0, ge = b, F = T - W & 32767;
        if (R > 2 && oe == w(x - F))
          for (var Y = Math.min(p, R) - 1, j = Math.min(32767, x), G = Math.min(258, R); F <= j && --ge && T != W; ) {
            if (e[x + K] == e[x + K - F]) {
              for (var L = 0; L < G && e[x + L] == e[x + L - F]; ++L)
                ;
              if (L > K) {
                if (K = L, H = F, L > Y)
                  break;
                for (var le = Math.min(F, L - 2), ke = 0, q = 0; q < le; ++q) {
                  var ee = x - F + q & 32767, Ee = S[ee], Ae = ee - Ee & 32767;
                  Ae > ke && (ke = Ae, W = ee);
                }
              }
            }
            T = W, W = S[T], F += T - W & 32767;
          }
        if (H) {
          A[N++] = 268435456 | ht[K] << 18 | hr[H];
          var re = ht[K] & 31, fe = hr[H] & 31;
          g += Xe[re] + Ze[fe], ++M[257 + re], ++z[fe], U = x + K, ++C;
        } else
          A[N++] = e[x], ++M[e[x]];
      }
    }
    for (x = Math.max(x, U); x < o; ++x)
      A[N++] = e[x], ++M[e[x]];
    u = pr(e, d, h, A, M, z, g, N, B, x - B, u), h || (a.r = u & 7 | d[u / 8 | 0] << 3, u -= 7, a.h = _, a.p = S, a.i = x, a.w = U);
  } else {
    for (var x = a.w || 0; x < o + h; x += 65535) {
      var be = x + 65535;
      be >= o && (d[u / 8 | 0] = h, be = o), u = Ir(d, u + 1, e.subarray(x, be));
    }
    a.i = o;
  }
  return $r(f, 0, r + wt(u) + i);
}, Rr = function() {
  var e = 1, t = 0;
  return {
    p: function(n) {
      for (var r = e, i = t, a = n.length | 0, o = 0; o != a; ) {
        for (var f = Math.min(o + 2655, a); o < f; ++o)
          i += r += n[o];
        r = (r & 65535) + 15 * (r >> 16), i = (i & 65535) + 15 * (i >> 16);
      }
      e = r, t = i;
    },
    d: function() {
      return e %= 65521, t %= 65521, (e & 255) << 24 | (e & 65280) << 8 | (t & 255) << 8 | t >> 8;
    }
  };
}, Ua = function(e, t, n, r, i) {
  if (!i && (i = { l: 1 }, t.dictionary)) {
    var a = t.dictionary.subarray(-32768), o = new Q(a.length + e.length);
    o.set(a), o.set(e, a.length), e = o, i.w = a.length;
  }
  return Ra(e, t.level == null ? 6 : t.level, t.mem == null ? i.l ? Math.ceil(Math.max(8, Math.min(13, Math.log(e.length))) * 1.5) : 20 : 12 + t.mem, n, r, i);
}, Ur = function(e, t, n) {
  for (; n; ++t)
    e[t] = n, n >>>= 8;
}, Fa = function(e, t) {
  var n = t.level, r = n == 0 ? 0 : n < 6 ? 1 : n == 9 ? 3 : 2;
  if (e[0] = 120, e[1] = r << 6 | (t.dictionary && 32), e[1] |= 31 - (e[0] << 8 | e[1]) % 31, t.dictionary) {
    var i = Rr();
    i.p(t.dictionary), Ur(e, 2, i.d());
  }
}, Oa = function(e, t) {
  return ((e[0] & 15) != 8 || e[0] >> 4 > 7 || (e[0] << 8 | e[1]) % 31) && de(6, "invalid zlib data"), (e[1] >> 5 & 1) == 1 && de(6, "invalid zlib data: " + (e[1] & 32 ? "need" : "unexpected") + " dictionary"), (e[1] >> 3 & 4) + 2;
};
function Fr(e, t) {
  t || (t = {});
  var n = Rr();
  n.p(e);
  var r = Ua(e, t, t.dictionary ? 6 : 2, 4);
  return Fa(r, t), Ur(r, r.length - 4, n.d()), r;
}
function Or(e, t) {
  return Ia(e.subarray(Oa(e), -4), { i: 2 }, t, t);
}
var La = typeof TextDecoder < "u" && /* @__PURE__ */ new TextDecoder(), Pa = 0;
try {
  La.decode(Nr, { stream: !0 }), Pa = 1;
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
function Da(e) {
  return Pr(Fr(e, { level: 1 }));
}
function Ha(e, t, n) {
  const r = Or(Lr(e));
  if (r.length !== 2 * t * n) throw new Error(`region map has ${r.length} bytes, expected ${2 * t * n}`);
  const i = new Uint16Array(t * n);
  for (let a = 0; a < i.length; a++) i[a] = r[2 * a] | r[2 * a + 1] << 8;
  return i;
}
const Ba = (() => {
  const e = new Uint32Array(256);
  for (let t = 0; t < 256; t++) {
    let n = t;
    for (let r = 0; r < 8; r++) n = n & 1 ? 3988292384 ^ n >>> 1 : n >>> 1;
    e[t] = n >>> 0;
  }
  return e;
})();
function Wa(e) {
  let t = 4294967295;
  for (let n = 0; n < e.length; n++) t = Ba[(t ^ e[n]) & 255] ^ t >>> 8;
  return (t ^ 4294967295) >>> 0;
}
function ut(e, t) {
  const n = new Uint8Array(12 + t.length), r = new DataView(n.buffer);
  r.setUint32(0, t.length);
  for (let i = 0; i < 4; i++) n[4 + i] = e.charCodeAt(i);
  return n.set(t, 8), r.setUint32(8 + t.length, Wa(n.subarray(4, 8 + t.length))), n;
}
function Ka(e, t, n) {
  const r = new Uint8Array(n * (t + 1));
  for (let u = 0; u < n; u++) r.set(e.subarray(u * t, (u + 1) * t), u * (t + 1) + 1);
  const i = new Uint8Array(13), a = new DataView(i.buffer);
  a.setUint32(0, t), a.setUint32(4, n), i.set([8, 0, 0, 0, 0], 8);
  const o = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    ut("IHDR", i),
    ut("IDAT", Fr(r, { level: 6 })),
    ut("IEND", new Uint8Array(0))
  ], f = o.reduce((u, v) => u + v.length, 0), d = new Uint8Array(f);
  let h = 0;
  for (const u of o)
    d.set(u, h), h += u.length;
  return Pr(d);
}
function Ya(e, t, n, r, i, a, o) {
  const f = Math.max(0, Math.floor(Math.min(r.x, i.x) - a)), d = Math.min(t - 1, Math.ceil(Math.max(r.x, i.x) + a)), h = Math.max(0, Math.floor(Math.min(r.y, i.y) - a)), u = Math.min(n - 1, Math.ceil(Math.max(r.y, i.y) + a)), v = i.x - r.x, p = i.y - r.y, b = v * v + p * p, $ = a * a;
  for (let S = h; S <= u; S++)
    for (let _ = f; _ <= d; _++) {
      const E = _ + 0.5, O = S + 0.5;
      let w = b > 0 ? ((E - r.x) * v + (O - r.y) * p) / b : 0;
      w = Math.max(0, Math.min(1, w));
      const A = E - (r.x + w * v), M = O - (r.y + w * p);
      A * A + M * M <= $ && (e[S * t + _] = o);
    }
  return [f, h, d, u];
}
function Va(e, t, n, r, i) {
  if (!(r.length < 3))
    for (let a = 0; a < n; a++) {
      const o = a + 0.5, f = [];
      for (let d = 0; d < r.length; d++) {
        const h = r[d], u = r[(d + 1) % r.length];
        (h.y <= o && u.y > o || u.y <= o && h.y > o) && f.push(h.x + (o - h.y) / (u.y - h.y) * (u.x - h.x));
      }
      f.sort((d, h) => d - h);
      for (let d = 0; d + 1 < f.length; d += 2) {
        const h = Math.max(0, Math.ceil(f[d] - 0.5)), u = Math.min(t - 1, Math.floor(f[d + 1] - 0.5));
        for (let v = h; v <= u; v++) e[a * t + v] = i;
      }
    }
}
function Xa(e, t, n, r, i, a) {
  const o = t[i * n + r];
  let f = 0;
  for (let d = 0; d < e.length; d++)
    t[d] === o && (e[d] = a, f++);
  return f;
}
function Za(e, t) {
  if (e.length !== t.length) return !1;
  for (let n = 0; n < e.length; n++) if (e[n] !== t[n]) return !1;
  return !0;
}
class Ga {
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
var Ja = /* @__PURE__ */ pe('<span class="item-title svelte-49zqag"> </span>'), Qa = /* @__PURE__ */ pe('<div class="title svelte-49zqag"> <!></div>'), ja = /* @__PURE__ */ pe('<kbd class="svelte-49zqag"> </kbd>'), ei = /* @__PURE__ */ pe("<button> <!></button>"), ti = /* @__PURE__ */ pe('<button role="radio"><span class="swatch svelte-49zqag"></span><kbd class="svelte-49zqag"> </kbd> </button>'), ri = /* @__PURE__ */ pe('<div class="empty svelte-49zqag">Nothing to edit: pick an item from the queue.</div>'), ni = /* @__PURE__ */ pe("<span>refining…</span>"), ai = /* @__PURE__ */ pe('<span class="unsaved svelte-49zqag">unsaved edits</span>'), ii = /* @__PURE__ */ pe('<span class="notice svelte-49zqag"> </span>'), si = /* @__PURE__ */ pe('<div><!> <div class="toolbar svelte-49zqag" role="toolbar" aria-label="Mask editor tools"><!> <label class="field svelte-49zqag" title="Brush and eraser radius in image pixels ([ and ])">Size <input type="range" min="1" max="100" data-testid="brush-size" class="svelte-49zqag"/> <span class="svelte-49zqag"> </span></label> <label class="field svelte-49zqag" title="How big a region one fill or click selects">Region <select data-testid="region-scale"><option>small</option><option>medium</option><option>large</option></select></label> <label class="field svelte-49zqag" title="Opacity of the mask over the photo">Opacity <input type="range" min="0" max="100" data-testid="opacity" class="svelte-49zqag"/> <span class="svelte-49zqag"> </span></label> <button data-testid="toggle-overlay" title="Show or hide the mask (H)">Mask<kbd class="svelte-49zqag">H</kbd></button> <span class="sep svelte-49zqag"></span> <button class="tool svelte-49zqag" data-testid="undo" title="Undo (Ctrl+Z)">Undo</button> <button class="tool svelte-49zqag" data-testid="redo" title="Redo (Ctrl+Y)">Redo</button> <button class="tool svelte-49zqag" data-testid="zoom-out" title="Zoom out (mouse wheel)">−</button> <button class="tool svelte-49zqag" data-testid="fit" title="Fit the image (V)"> </button> <button class="tool svelte-49zqag" data-testid="zoom-in" title="Zoom in (mouse wheel)">+</button> <span class="sep svelte-49zqag"></span> <button class="tool svelte-49zqag" data-testid="revert" title="Back to the stored mask (undoable)">Revert</button> <button class="tool primary svelte-49zqag" data-testid="save" title="Save the correction (Ctrl+S)">Save correction</button></div> <div class="palette svelte-49zqag" role="radiogroup" aria-label="Classes"></div> <div class="stage svelte-49zqag"><canvas tabindex="0" data-testid="editor-canvas"></canvas> <!></div> <div class="status svelte-49zqag" data-testid="editor-status"><span class="hint"> </span> <span> </span> <span> </span> <!> <!> <!></div></div>');
function li(e, t) {
  Zn(t, !0);
  const n = /* @__PURE__ */ ma(t, ["$$slots", "$$events", "$$legacy"]), r = new Aa(n), i = [
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
  let a = Z(null), o = Z("brush"), f = Z(1), d = Z(50), h = Z(!0), u = Z(10), v = Z("medium"), p = Z(!1), b = Z(""), $ = Z(!1), S = Z(""), _ = Z(1), E = Z(0), O = Z(0), w = Z(Ve([])), A = Z(Ve([])), M, z, C = null, g = new Uint8Array(0), x = new Uint8Array(0), N = {}, U = null, B = null, oe = new Uint32Array(256), T = { s: 1, tx: 0, ty: 0 }, W = new Ga(), R = null, q = null, K = null, H = Z(!1), ge = 0;
  const F = () => l(a)?.width ?? 0, Y = () => l(a)?.height ?? 0, j = it(() => r.props.height || 600), G = it(() => l(a)?.classes.find((s) => s.id === l(f)));
  qe(() => {
    const s = r.props.value;
    $e(() => le(s));
  });
  function L(s = {}) {
    return l(a) ? {
      key: l(a).key,
      image_id: l(a).image_id,
      mask_id: l(a).mask_id,
      ...s
    } : null;
  }
  function le(s) {
    if (!s) {
      y(a, null), g = new Uint8Array(0), ce();
      return;
    }
    if (!s.photo || l(a) && s.key === l(a).key) return;
    const c = s, m = new Image();
    m.onload = () => {
      C = m, y(a, c, !0), g = gr(c.labels, c.width, c.height), x = g.slice(), N = {}, W.clear(), R = null, y(w, [], !0), y(A, [], !0), y(p, !1), y(b, ""), c.default_class != null && c.classes.some((k) => k.id === c.default_class) ? y(f, c.default_class, !0) : c.classes.some((k) => k.id === l(f)) || y(f, c.classes.find((k) => k.id > 0 && k.id < 255)?.id ?? 0, !0), ke(c.classes), U = document.createElement("canvas"), U.width = c.width, U.height = c.height, B = new ImageData(c.width, c.height), ee(), Ae(), De(), r.props.value = L({ edit: null }), Ee(c.image_id, c.key);
    }, m.src = c.photo;
  }
  function ke(s) {
    oe = new Uint32Array(256);
    for (const c of s) {
      if (c.id === 0) continue;
      const m = parseInt(c.color.slice(1), 16);
      oe[c.id] = 255 << 24 | (m & 255) << 16 | m & 65280 | m >> 16 & 255;
    }
  }
  function ee(s = 0, c = 0, m = F() - 1, k = Y() - 1) {
    if (!U || !B) return;
    const P = new Uint32Array(B.data.buffer), V = F();
    for (let ne = c; ne <= k; ne++) for (let J = s; J <= m; J++) P[ne * V + J] = oe[g[ne * V + J]];
    U.getContext("2d").putImageData(B, 0, 0, s, c, m - s + 1, k - c + 1), ce();
  }
  async function Ee(s, c) {
    try {
      const m = await r.shared.server.regions({ image_id: s });
      if (!l(a) || l(a).key !== c || !m || m.error) return;
      for (const k of Object.keys(m)) N[k] = Ha(m[k], F(), Y());
    } catch (m) {
      console.warn("region maps unavailable", m);
    }
  }
  function Ae() {
    y(E, W.undo_stack.length, !0), y(O, W.redo_stack.length, !0);
  }
  function re() {
    y(p, !Za(g, x)), r.props.value = L({
      edit: l(p) ? { png: Ka(g, F(), Y()) } : null
    }), Ae();
  }
  function fe(s = !1) {
    W.push(g), s || (R = null, y(A, [], !0));
  }
  function be() {
    const s = W.undo(g);
    if (!s) {
      y(b, "Nothing to undo.");
      return;
    }
    g = s, R = null, y(A, [], !0), ee(), re();
  }
  function Ce() {
    const s = W.redo(g);
    if (!s) {
      y(b, "Nothing to redo.");
      return;
    }
    g = s, R = null, y(A, [], !0), ee(), re();
  }
  function Dr() {
    if (!l(p)) {
      y(b, "Nothing to revert: this is the draft as stored.");
      return;
    }
    fe(), g.set(x), ee(), re(), y(b, "Back to the stored mask; Ctrl+Z brings your edits back.");
  }
  function xt() {
    re(), r.dispatch("save");
  }
  function Mt(s) {
    y(o, s, !0), y(w, [], !0), R = null, y(A, [], !0), y(b, ""), ce();
  }
  function Et(s) {
    l(f) !== s && (R = null, y(A, [], !0)), y(f, s, !0);
  }
  function De() {
    if (!M || !l(a)) return;
    const s = Math.min(M.clientWidth / F(), M.clientHeight / Y());
    T = {
      s,
      tx: (M.clientWidth - F() * s) / 2,
      ty: (M.clientHeight - Y() * s) / 2
    }, y(_, s, !0), ce();
  }
  function Ge(s, c, m) {
    const k = Math.min(32, Math.max(0.05, T.s * s));
    T = {
      s: k,
      tx: c - (c - T.tx) * k / T.s,
      ty: m - (m - T.ty) * k / T.s
    }, y(_, k, !0), ce();
  }
  function At(s) {
    const c = z.getBoundingClientRect();
    return {
      x: (s.clientX - c.left - T.tx) / T.s,
      y: (s.clientY - c.top - T.ty) / T.s
    };
  }
  function St(s) {
    return s.x >= 0 && s.y >= 0 && s.x < F() && s.y < Y();
  }
  function ce() {
    ge || (ge = requestAnimationFrame(() => {
      ge = 0, Hr();
    }));
  }
  function Hr() {
    if (!z || !M) return;
    const s = window.devicePixelRatio || 1, c = M.clientWidth, m = M.clientHeight;
    (z.width !== Math.round(c * s) || z.height !== Math.round(m * s)) && (z.width = Math.round(c * s), z.height = Math.round(m * s));
    const k = z.getContext("2d");
    k.setTransform(1, 0, 0, 1, 0, 0), k.clearRect(0, 0, z.width, z.height), !(!l(a) || !C) && (k.setTransform(s * T.s, 0, 0, s * T.s, s * T.tx, s * T.ty), k.imageSmoothingEnabled = T.s < 2, k.drawImage(C, 0, 0, F(), Y()), l(h) && U && (k.globalAlpha = l(d) / 100, k.imageSmoothingEnabled = !1, k.drawImage(U, 0, 0), k.globalAlpha = 1), k.setTransform(s, 0, 0, s, 0, 0), Br(k));
  }
  function Se(s) {
    return [s.x * T.s + T.tx, s.y * T.s + T.ty];
  }
  function Br(s) {
    if (l(w).length) {
      s.strokeStyle = l(G)?.color ?? "#fff", s.lineWidth = 2, s.beginPath(), l(w).forEach((c, m) => m ? s.lineTo(...Se(c)) : s.moveTo(...Se(c))), K && s.lineTo(...Se(K)), s.stroke();
      for (const c of l(w)) s.strokeRect(Se(c)[0] - 3, Se(c)[1] - 3, 6, 6);
    }
    for (const [c, m, k] of l(A)) {
      const [P, V] = Se({ x: c + 0.5, y: m + 0.5 });
      s.fillStyle = k ? "#16a34a" : "#dc2626", s.strokeStyle = "#fff", s.lineWidth = 2, s.beginPath(), s.arc(P, V, 6, 0, 2 * Math.PI), s.fill(), s.stroke();
    }
    if (K && (l(o) === "brush" || l(o) === "eraser") && !l(H)) {
      const [c, m] = Se(K);
      s.strokeStyle = "#fff", s.lineWidth = 1.5, s.beginPath(), s.arc(c, m, Math.max(1, l(u) * T.s), 0, 2 * Math.PI), s.stroke();
    }
  }
  function Wr(s) {
    if (!l(a)) return;
    z.focus();
    const c = At(s);
    if (s.button === 1 || l(H) || l(o) === "pan") {
      q = {
        mode: "pan",
        last: c,
        sx: s.clientX,
        sy: s.clientY,
        tx: T.tx,
        ty: T.ty
      }, z.setPointerCapture(s.pointerId);
      return;
    }
    s.button === 2 && l(o) !== "clicks" || St(c) && (l(o) === "brush" || l(o) === "eraser" ? (fe(), q = { mode: "paint", last: c, sx: 0, sy: 0, tx: 0, ty: 0 }, z.setPointerCapture(s.pointerId), zt(c, c)) : l(o) === "fill" ? Vr(c) : l(o) === "polygon" ? (s.detail >= 2 && l(w).length >= 3 ? Tt() : y(w, [...l(w), c], !0), ce()) : l(o) === "clicks" && Xr(c, s.button === 0 && !s.shiftKey));
  }
  function Kr(s) {
    if (!l(a)) return;
    const c = At(s);
    K = c;
    const m = Math.floor(c.x), k = Math.floor(c.y);
    if (St(c)) {
      const P = g[k * F() + m];
      y(S, `x ${m}, y ${k} · ${l(a).classes.find((V) => V.id === P)?.name ?? `class ${P}`}`);
    } else y(S, "");
    q?.mode === "pan" ? T = {
      ...T,
      tx: q.tx + s.clientX - q.sx,
      ty: q.ty + s.clientY - q.sy
    } : q?.mode === "paint" && (zt(q.last, c), q.last = c), ce();
  }
  function Yr() {
    q?.mode === "paint" && re(), q = null;
  }
  function zt(s, c) {
    const m = l(o) === "eraser" ? 0 : l(f), [k, P, V, ne] = Ya(g, F(), Y(), s, c, l(u), m);
    V >= k && ne >= P && ee(k, P, V, ne);
  }
  async function Vr(s) {
    N[l(v)] || (y(b, "Loading the image's regions…"), await Ee(l(a).image_id, l(a).key));
    const c = N[l(v)];
    if (!c) {
      y(b, "The region maps of this image are not available.");
      return;
    }
    fe(), Xa(g, c, F(), Math.floor(s.x), Math.floor(s.y), l(f)), ee(), re(), y(b, "");
  }
  function Tt() {
    if (l(w).length < 3) {
      y(b, "A polygon needs at least three corners.");
      return;
    }
    fe(), Va(g, F(), Y(), l(w), l(f)), y(w, [], !0), ee(), re();
  }
  async function Xr(s, c) {
    if (l($)) return;
    if (l(f) === 0 || l(f) === 255) {
      y(b, "Pick a class (not background or unsure) to refine.");
      return;
    }
    (!R || R.cls !== l(f)) && (R = { cls: l(f), base: g.slice() }, y(A, [], !0));
    const m = l(a).key, k = [
      ...l(A),
      [Math.floor(s.x), Math.floor(s.y), c]
    ];
    y($, !0);
    try {
      const P = await r.shared.server.refine({
        image_id: l(a).image_id,
        width: F(),
        height: Y(),
        class_id: l(f),
        points: k,
        scale: l(v),
        labels: Da(R.base)
      });
      if (!l(a) || l(a).key !== m) return;
      if (P?.error) {
        y(b, P.error, !0);
        return;
      }
      fe(!0), g = gr(P.labels, F(), Y()), y(A, k, !0), ee(), re(), y(b, "");
    } catch (P) {
      y(b, `Refine failed: ${P}`);
    } finally {
      y($, !1);
    }
  }
  function Zr() {
    K = null, y(S, ""), ce();
  }
  function Gr(s) {
    if (!l(a)) return;
    s.preventDefault();
    const c = z.getBoundingClientRect();
    Ge(s.deltaY < 0 ? 1.2 : 1 / 1.2, s.clientX - c.left, s.clientY - c.top);
  }
  function Jr(s) {
    const c = s;
    return !!c && (c.tagName === "INPUT" || c.tagName === "TEXTAREA" || c.tagName === "SELECT" || c.isContentEditable);
  }
  function qt(s) {
    if (!l(a) || !M || M.offsetParent === null || Jr(s.target)) return;
    const c = s.key.toLowerCase();
    if (s.ctrlKey || s.metaKey) {
      if (c === "z" && !s.shiftKey) be();
      else if (c === "y" || c === "z" && s.shiftKey) Ce();
      else if (c === "s") xt();
      else return;
      s.preventDefault();
      return;
    }
    if (s.altKey) return;
    const m = l(a).classes.find((P) => P.key.toLowerCase() === c), k = {
      b: "brush",
      e: "eraser",
      f: "fill",
      p: "polygon",
      c: "clicks"
    };
    if (m) Et(m.id);
    else if (k[c]) Mt(k[c]);
    else if (c === "h") y(h, !l(h));
    else if (c === "v") De();
    else if (c === "[") y(u, Math.max(1, l(u) - 2), !0);
    else if (c === "]") y(u, Math.min(200, l(u) + 2), !0);
    else if (c === "enter" && l(o) === "polygon") Tt();
    else if (c === "escape") Qr();
    else if (c === "backspace" && l(w).length) y(w, l(w).slice(0, -1), !0);
    else if (c === " ") y(H, !0);
    else return;
    s.preventDefault();
  }
  function Qr() {
    y(w, [], !0), R = null, y(A, [], !0), ce();
  }
  function Ct(s) {
    s.key === " " && y(H, !1);
  }
  na(() => {
    const s = new ResizeObserver(() => l(a) ? De() : ce());
    return s.observe(M), document.addEventListener("keydown", qt), document.addEventListener("keyup", Ct), () => {
      s.disconnect(), document.removeEventListener("keydown", qt), document.removeEventListener("keyup", Ct);
    };
  }), qe(() => {
    l(d), l(h), ce();
  });
  var He = si();
  let $t;
  var It = X(He);
  {
    var jr = (s) => {
      var c = Qa(), m = X(c), k = I(m);
      {
        var P = (V) => {
          var ne = Ja(), J = X(ne);
          ze(() => ie(J, `· ${l(a).title ?? ""}`)), he(V, ne);
        };
        Te(k, (V) => {
          l(a)?.title && V(P);
        });
      }
      ze(() => ie(m, r.shared.label)), he(s, c);
    };
    Te(It, (s) => {
      r.shared.label && s(jr);
    });
  }
  var Nt = I(It, 2), Rt = X(Nt);
  sr(Rt, 17, () => i, aa, (s, c) => {
    var m = it(() => Gn(l(c), 4));
    let k = () => l(m)[0], P = () => l(m)[1], V = () => l(m)[2], ne = () => l(m)[3];
    var J = ei();
    let jt;
    J.__click = () => Mt(k());
    var er = X(J), gn = I(er);
    {
      var bn = (nt) => {
        var tr = ja(), mn = X(tr);
        ze(() => ie(mn, V())), he(nt, tr);
      };
      Te(gn, (nt) => {
        V() && nt(bn);
      });
    }
    ze(() => {
      jt = Ie(J, 1, "tool svelte-49zqag", null, jt, { active: l(o) === k() }), ae(J, "data-testid", `tool-${k()}`), ae(J, "aria-pressed", l(o) === k()), ae(J, "title", `${P()}${V() ? ` (${V()})` : ""}: ${ne()}`), ie(er, P());
    }), he(s, J);
  });
  var Ut = I(Rt, 2), Ft = I(X(Ut)), en = I(Ft, 2), tn = X(en), Ot = I(Ut, 2), Lt = I(X(Ot)), Je = X(Lt);
  Je.value = Je.__value = "fine";
  var Qe = I(Je);
  Qe.value = Qe.__value = "medium";
  var Pt = I(Qe);
  Pt.value = Pt.__value = "coarse";
  var Dt = I(Ot, 2), Ht = I(X(Dt)), rn = I(Ht, 2), nn = X(rn), Be = I(Dt, 2);
  let Bt;
  Be.__click = () => y(h, !l(h));
  var je = I(Be, 4);
  je.__click = be;
  var et = I(je, 2);
  et.__click = Ce;
  var Wt = I(et, 2);
  Wt.__click = () => Ge(1 / 1.25, M.clientWidth / 2, M.clientHeight / 2);
  var tt = I(Wt, 2);
  tt.__click = De;
  var an = X(tt), Kt = I(tt, 2);
  Kt.__click = () => Ge(1.25, M.clientWidth / 2, M.clientHeight / 2);
  var rt = I(Kt, 4);
  rt.__click = Dr;
  var sn = I(rt, 2);
  sn.__click = xt;
  var Yt = I(Nt, 2);
  sr(Yt, 21, () => l(a)?.classes ?? [], (s) => s.id, (s, c) => {
    var m = ti();
    let k;
    m.__click = () => Et(l(c).id);
    var P = X(m), V = I(P), ne = X(V), J = I(V, 1, !0);
    ze(() => {
      k = Ie(m, 1, "chip svelte-49zqag", null, k, { active: l(f) === l(c).id }), ae(m, "data-testid", `class-${l(c).id}`), ae(m, "aria-checked", l(f) === l(c).id), ae(m, "title", `${l(c).name} (key ${l(c).key})`), lr(P, `background:${l(c).color}`), ie(ne, l(c).key), ie(J, l(c).name);
    }), he(s, m);
  });
  var We = I(Yt, 2), te = X(We);
  te.__pointerdown = Wr, te.__pointermove = Kr, te.__pointerup = Yr, te.__contextmenu = (s) => s.preventDefault();
  let Vt;
  dr(te, (s) => z = s, () => z);
  var on = I(te, 2);
  {
    var ln = (s) => {
      var c = ri();
      he(s, c);
    };
    Te(on, (s) => {
      l(a) || s(ln);
    });
  }
  dr(We, (s) => M = s, () => M);
  var fn = I(We, 2), Xt = X(fn), cn = X(Xt), Zt = I(Xt, 2), un = X(Zt), Gt = I(Zt, 2), dn = X(Gt), Jt = I(Gt, 2);
  {
    var vn = (s) => {
      var c = ni();
      he(s, c);
    };
    Te(Jt, (s) => {
      l($) && s(vn);
    });
  }
  var Qt = I(Jt, 2);
  {
    var hn = (s) => {
      var c = ai();
      he(s, c);
    };
    Te(Qt, (s) => {
      l(p) && s(hn);
    });
  }
  var _n = I(Qt, 2);
  {
    var pn = (s) => {
      var c = ii(), m = X(c);
      ze(() => ie(m, l(b))), he(s, c);
    };
    Te(_n, (s) => {
      l(b) && s(pn);
    });
  }
  ze(
    (s, c) => {
      $t = Ie(He, 1, "mask-editor svelte-49zqag", null, $t, { hidden: !r.shared.visible }), ae(He, "id", r.shared.elem_id), ie(tn, l(u)), ie(nn, `${l(d) ?? ""}%`), Bt = Ie(Be, 1, "tool svelte-49zqag", null, Bt, { active: l(h) }), ae(Be, "aria-pressed", l(h)), je.disabled = !l(E), et.disabled = !l(O), ie(an, `${s ?? ""}%`), rt.disabled = !l(p), lr(We, `height:${l(j)}px`), ae(te, "data-key", l(a)?.key ?? ""), ae(te, "data-class", l(f)), ae(te, "data-dirty", l(p)), ae(te, "data-opacity", l(d)), ae(te, "data-overlay", l(h)), ae(te, "data-busy", l($)), Vt = Ie(te, 1, "svelte-49zqag", null, Vt, { pan: l(o) === "pan" || l(H) }), ie(cn, c), ie(un, l(G) ? `class: ${l(G).name}` : ""), ie(dn, l(S));
    },
    [
      () => Math.round(l(_) * 100),
      () => i.find((s) => s[0] === l(o))?.[3]
    ]
  ), cr(Ft, () => l(u), (s) => y(u, s)), ua(Lt, () => l(v), (s) => y(v, s)), cr(Ht, () => l(d), (s) => y(d, s)), ar("pointerleave", te, Zr), ar("wheel", te, Gr), he(e, He), Xn();
}
Vn([
  "click",
  "pointerdown",
  "pointermove",
  "pointerup",
  "contextmenu"
]);
export {
  li as default
};
