const Bn = 1, Hn = 2, Un = 4, Yn = 8, Kn = 16, Gn = 2, y = /* @__PURE__ */ Symbol(), Wn = "http://www.w3.org/1999/xhtml", Pe = !1;
var jt = Array.isArray, qt = Array.prototype.indexOf, Vt = Array.from, Bt = Object.defineProperty, _e = Object.getOwnPropertyDescriptor, $n = Object.getOwnPropertyDescriptors, Ht = Object.prototype, Ut = Array.prototype, Yt = Object.getPrototypeOf, $e = Object.isExtensible;
const zn = () => {
};
function Kt(e) {
  for (var t = 0; t < e.length; t++)
    e[t]();
}
function rt() {
  var e, t, n = new Promise((r, s) => {
    e = r, t = s;
  });
  return { promise: n, resolve: e, reject: t };
}
function Xn(e, t) {
  if (Array.isArray(e))
    return e;
  if (!(Symbol.iterator in e))
    return Array.from(e);
  const n = [];
  for (const r of e)
    if (n.push(r), n.length === t) break;
  return n;
}
const E = 2, me = 4, ke = 8, st = 1 << 24, B = 16, H = 32, se = 64, qe = 128, C = 512, b = 1024, m = 2048, U = 4096, D = 8192, G = 16384, Ve = 32768, pe = 65536, ze = 1 << 17, it = 1 << 18, ae = 1 << 19, Gt = 1 << 20, Zn = 1 << 25, ne = 32768, De = 1 << 21, Be = 1 << 22, W = 1 << 23, he = /* @__PURE__ */ Symbol("$state"), Jn = /* @__PURE__ */ Symbol(""), fe = new class extends Error {
  name = "StaleReactionError";
  message = "The reaction that called `getAbortSignal()` was re-run or destroyed";
}();
function Wt() {
  throw new Error("https://svelte.dev/e/async_derived_orphan");
}
function $t(e) {
  throw new Error("https://svelte.dev/e/effect_in_teardown");
}
function zt() {
  throw new Error("https://svelte.dev/e/effect_in_unowned_derived");
}
function Xt(e) {
  throw new Error("https://svelte.dev/e/effect_orphan");
}
function Zt() {
  throw new Error("https://svelte.dev/e/effect_update_depth_exceeded");
}
function Jt() {
  throw new Error("https://svelte.dev/e/state_descriptors_fixed");
}
function Qt() {
  throw new Error("https://svelte.dev/e/state_prototype_fixed");
}
function en() {
  throw new Error("https://svelte.dev/e/state_unsafe_mutation");
}
function tn() {
  throw new Error("https://svelte.dev/e/svelte_boundary_reset_onerror");
}
function er() {
  console.warn("https://svelte.dev/e/select_multiple_invalid_value");
}
function nn() {
  console.warn("https://svelte.dev/e/svelte_boundary_reset_noop");
}
function ft(e) {
  return e === this.v;
}
function rn(e, t) {
  return e != e ? t == t : e !== t || e !== null && typeof e == "object" || typeof e == "function";
}
function lt(e) {
  return !rn(e, this.v);
}
let sn = !1, R = null;
function le(e) {
  R = e;
}
function fn(e, t = !1, n) {
  R = {
    p: R,
    i: !1,
    c: null,
    e: null,
    s: e,
    x: null,
    l: null
  };
}
function ln(e) {
  var t = (
    /** @type {ComponentContext} */
    R
  ), n = t.e;
  if (n !== null) {
    t.e = null;
    for (var r of n)
      Tt(r);
  }
  return t.i = !0, R = t.p, /** @type {T} */
  {};
}
function ut() {
  return !0;
}
let Z = [];
function at() {
  var e = Z;
  Z = [], Kt(e);
}
function Ce(e) {
  if (Z.length === 0 && !de) {
    var t = Z;
    queueMicrotask(() => {
      t === Z && at();
    });
  }
  Z.push(e);
}
function un() {
  for (; Z.length > 0; )
    at();
}
function ot(e) {
  var t = v;
  if (t === null)
    return d.f |= W, e;
  if ((t.f & Ve) === 0) {
    if ((t.f & qe) === 0)
      throw e;
    t.b.error(e);
  } else
    ue(e, t);
}
function ue(e, t) {
  for (; t !== null; ) {
    if ((t.f & qe) !== 0)
      try {
        t.b.error(e);
        return;
      } catch (n) {
        e = n;
      }
    t = t.parent;
  }
  throw e;
}
const an = -7169;
function w(e, t) {
  e.f = e.f & an | t;
}
function He(e) {
  (e.f & C) !== 0 || e.deps === null ? w(e, b) : w(e, U);
}
function ct(e) {
  if (e !== null)
    for (const t of e)
      (t.f & E) === 0 || (t.f & ne) === 0 || (t.f ^= ne, ct(
        /** @type {Derived} */
        t.deps
      ));
}
function _t(e, t, n) {
  (e.f & m) !== 0 ? t.add(e) : (e.f & U) !== 0 && n.add(e), ct(e.deps), w(e, b);
}
const Ee = /* @__PURE__ */ new Set();
let g = null, Ne = null, O = null, k = [], Re = null, Me = !1, de = !1;
class P {
  committed = !1;
  /**
   * The current values of any sources that are updated in this batch
   * They keys of this map are identical to `this.#previous`
   * @type {Map<Source, any>}
   */
  current = /* @__PURE__ */ new Map();
  /**
   * The values of any sources that are updated in this batch _before_ those updates took place.
   * They keys of this map are identical to `this.#current`
   * @type {Map<Source, any>}
   */
  previous = /* @__PURE__ */ new Map();
  /**
   * When the batch is committed (and the DOM is updated), we need to remove old branches
   * and append new ones by calling the functions added inside (if/each/key/etc) blocks
   * @type {Set<() => void>}
   */
  #t = /* @__PURE__ */ new Set();
  /**
   * If a fork is discarded, we need to destroy any effects that are no longer needed
   * @type {Set<(batch: Batch) => void>}
   */
  #_ = /* @__PURE__ */ new Set();
  /**
   * The number of async effects that are currently in flight
   */
  #r = 0;
  /**
   * The number of async effects that are currently in flight, _not_ inside a pending boundary
   */
  #f = 0;
  /**
   * A deferred that resolves when the batch is committed, used with `settled()`
   * TODO replace with Promise.withResolvers once supported widely enough
   * @type {{ promise: Promise<void>, resolve: (value?: any) => void, reject: (reason: unknown) => void } | null}
   */
  #s = null;
  /**
   * Deferred effects (which run after async work has completed) that are DIRTY
   * @type {Set<Effect>}
   */
  #n = /* @__PURE__ */ new Set();
  /**
   * Deferred effects that are MAYBE_DIRTY
   * @type {Set<Effect>}
   */
  #e = /* @__PURE__ */ new Set();
  /**
   * A set of branches that still exist, but will be destroyed when this batch
   * is committed — we skip over these during `process`
   * @type {Set<Effect>}
   */
  skipped_effects = /* @__PURE__ */ new Set();
  is_fork = !1;
  is_deferred() {
    return this.is_fork || this.#f > 0;
  }
  /**
   *
   * @param {Effect[]} root_effects
   */
  process(t) {
    k = [], Ne = null, this.apply();
    var n = [], r = [];
    for (const s of t)
      this.#i(s, n, r);
    this.is_fork || this.#u(), this.is_deferred() ? (this.#l(r), this.#l(n)) : (Ne = this, g = null, Xe(r), Xe(n), Ne = null, this.#s?.resolve()), O = null;
  }
  /**
   * Traverse the effect tree, executing effects or stashing
   * them for later execution as appropriate
   * @param {Effect} root
   * @param {Effect[]} effects
   * @param {Effect[]} render_effects
   */
  #i(t, n, r) {
    t.f ^= b;
    for (var s = t.first, i = null; s !== null; ) {
      var l = s.f, u = (l & (H | se)) !== 0, f = u && (l & b) !== 0, a = f || (l & D) !== 0 || this.skipped_effects.has(s);
      if (!a && s.fn !== null) {
        u ? s.f ^= b : i !== null && (l & (me | ke | st)) !== 0 ? i.b.defer_effect(s) : (l & me) !== 0 ? n.push(s) : ye(s) && ((l & B) !== 0 && this.#n.add(s), ge(s));
        var o = s.first;
        if (o !== null) {
          s = o;
          continue;
        }
      }
      var h = s.parent;
      for (s = s.next; s === null && h !== null; )
        h === i && (i = null), s = h.next, h = h.parent;
    }
  }
  /**
   * @param {Effect[]} effects
   */
  #l(t) {
    for (var n = 0; n < t.length; n += 1)
      _t(t[n], this.#n, this.#e);
  }
  /**
   * Associate a change to a given source with the current
   * batch, noting its previous and current values
   * @param {Source} source
   * @param {any} value
   */
  capture(t, n) {
    n !== y && !this.previous.has(t) && this.previous.set(t, n), (t.f & W) === 0 && (this.current.set(t, t.v), O?.set(t, t.v));
  }
  activate() {
    g = this, this.apply();
  }
  deactivate() {
    g === this && (g = null, O = null);
  }
  flush() {
    if (this.activate(), k.length > 0) {
      if (ht(), g !== null && g !== this)
        return;
    } else this.#r === 0 && this.process([]);
    this.deactivate();
  }
  discard() {
    for (const t of this.#_) t(this);
    this.#_.clear();
  }
  #u() {
    if (this.#f === 0) {
      for (const t of this.#t) t();
      this.#t.clear();
    }
    this.#r === 0 && this.#a();
  }
  #a() {
    if (Ee.size > 1) {
      this.previous.clear();
      var t = O, n = !0;
      for (const s of Ee) {
        if (s === this) {
          n = !1;
          continue;
        }
        const i = [];
        for (const [u, f] of this.current) {
          if (s.current.has(u))
            if (n && f !== s.current.get(u))
              s.current.set(u, f);
            else
              continue;
          i.push(u);
        }
        if (i.length === 0)
          continue;
        const l = [...s.current.keys()].filter((u) => !this.current.has(u));
        if (l.length > 0) {
          var r = k;
          k = [];
          const u = /* @__PURE__ */ new Set(), f = /* @__PURE__ */ new Map();
          for (const a of i)
            dt(a, l, u, f);
          if (k.length > 0) {
            g = s, s.apply();
            for (const a of k)
              s.#i(a, [], []);
            s.deactivate();
          }
          k = r;
        }
      }
      g = null, O = t;
    }
    this.committed = !0, Ee.delete(this);
  }
  /**
   *
   * @param {boolean} blocking
   */
  increment(t) {
    this.#r += 1, t && (this.#f += 1);
  }
  /**
   *
   * @param {boolean} blocking
   */
  decrement(t) {
    this.#r -= 1, t && (this.#f -= 1), this.revive();
  }
  revive() {
    for (const t of this.#n)
      this.#e.delete(t), w(t, m), V(t);
    for (const t of this.#e)
      w(t, U), V(t);
    this.flush();
  }
  /** @param {() => void} fn */
  oncommit(t) {
    this.#t.add(t);
  }
  /** @param {(batch: Batch) => void} fn */
  ondiscard(t) {
    this.#_.add(t);
  }
  settled() {
    return (this.#s ??= rt()).promise;
  }
  static ensure() {
    if (g === null) {
      const t = g = new P();
      Ee.add(g), de || P.enqueue(() => {
        g === t && t.flush();
      });
    }
    return g;
  }
  /** @param {() => void} task */
  static enqueue(t) {
    Ce(t);
  }
  apply() {
  }
}
function on(e) {
  var t = de;
  de = !0;
  try {
    for (var n; ; ) {
      if (un(), k.length === 0 && (g?.flush(), k.length === 0))
        return Re = null, /** @type {T} */
        n;
      ht();
    }
  } finally {
    de = t;
  }
}
function ht() {
  var e = ee;
  Me = !0;
  var t = null;
  try {
    var n = 0;
    for (Ae(!0); k.length > 0; ) {
      var r = P.ensure();
      if (n++ > 1e3) {
        var s, i;
        cn();
      }
      r.process(k), $.clear();
    }
  } finally {
    Me = !1, Ae(e), Re = null;
  }
}
function cn() {
  try {
    Zt();
  } catch (e) {
    ue(e, Re);
  }
}
let j = null;
function Xe(e) {
  var t = e.length;
  if (t !== 0) {
    for (var n = 0; n < t; ) {
      var r = e[n++];
      if ((r.f & (G | D)) === 0 && ye(r) && (j = /* @__PURE__ */ new Set(), ge(r), r.deps === null && r.first === null && r.nodes === null && (r.teardown === null && r.ac === null ? kt(r) : r.fn = null), j?.size > 0)) {
        $.clear();
        for (const s of j) {
          if ((s.f & (G | D)) !== 0) continue;
          const i = [s];
          let l = s.parent;
          for (; l !== null; )
            j.has(l) && (j.delete(l), i.push(l)), l = l.parent;
          for (let u = i.length - 1; u >= 0; u--) {
            const f = i[u];
            (f.f & (G | D)) === 0 && ge(f);
          }
        }
        j.clear();
      }
    }
    j = null;
  }
}
function dt(e, t, n, r) {
  if (!n.has(e) && (n.add(e), e.reactions !== null))
    for (const s of e.reactions) {
      const i = s.f;
      (i & E) !== 0 ? dt(
        /** @type {Derived} */
        s,
        t,
        n,
        r
      ) : (i & (Be | B)) !== 0 && (i & m) === 0 && vt(s, t, r) && (w(s, m), V(
        /** @type {Effect} */
        s
      ));
    }
}
function vt(e, t, n) {
  const r = n.get(e);
  if (r !== void 0) return r;
  if (e.deps !== null)
    for (const s of e.deps) {
      if (t.includes(s))
        return !0;
      if ((s.f & E) !== 0 && vt(
        /** @type {Derived} */
        s,
        t,
        n
      ))
        return n.set(
          /** @type {Derived} */
          s,
          !0
        ), !0;
    }
  return n.set(e, !1), !1;
}
function V(e) {
  for (var t = Re = e; t.parent !== null; ) {
    t = t.parent;
    var n = t.f;
    if (Me && t === v && (n & B) !== 0 && (n & it) === 0)
      return;
    if ((n & (se | H)) !== 0) {
      if ((n & b) === 0) return;
      t.f ^= b;
    }
  }
  k.push(t);
}
function _n(e) {
  let t = 0, n = we(0), r;
  return () => {
    Ge() && (Q(n), Rn(() => (t === 0 && (r = In(() => e(() => ve(n)))), t += 1, () => {
      Ce(() => {
        t -= 1, t === 0 && (r?.(), r = void 0, ve(n));
      });
    })));
  };
}
var hn = pe | ae | qe;
function dn(e, t, n) {
  new vn(e, t, n);
}
class vn {
  /** @type {Boundary | null} */
  parent;
  is_pending = !1;
  /** @type {TemplateNode} */
  #t;
  /** @type {TemplateNode | null} */
  #_ = null;
  /** @type {BoundaryProps} */
  #r;
  /** @type {((anchor: Node) => void)} */
  #f;
  /** @type {Effect} */
  #s;
  /** @type {Effect | null} */
  #n = null;
  /** @type {Effect | null} */
  #e = null;
  /** @type {Effect | null} */
  #i = null;
  /** @type {DocumentFragment | null} */
  #l = null;
  /** @type {TemplateNode | null} */
  #u = null;
  #a = 0;
  #o = 0;
  #h = !1;
  /** @type {Set<Effect>} */
  #d = /* @__PURE__ */ new Set();
  /** @type {Set<Effect>} */
  #v = /* @__PURE__ */ new Set();
  /**
   * A source containing the number of pending async deriveds/expressions.
   * Only created if `$effect.pending()` is used inside the boundary,
   * otherwise updating the source results in needless `Batch.ensure()`
   * calls followed by no-op flushes
   * @type {Source<number> | null}
   */
  #c = null;
  #E = _n(() => (this.#c = we(this.#a), () => {
    this.#c = null;
  }));
  /**
   * @param {TemplateNode} node
   * @param {BoundaryProps} props
   * @param {((anchor: Node) => void)} children
   */
  constructor(t, n, r) {
    this.#t = t, this.#r = n, this.#f = r, this.parent = /** @type {Effect} */
    v.b, this.is_pending = !!this.#r.pending, this.#s = On(() => {
      v.b = this;
      {
        var s = this.#w();
        try {
          this.#n = z(() => r(s));
        } catch (i) {
          this.error(i);
        }
        this.#o > 0 ? this.#g() : this.is_pending = !1;
      }
      return () => {
        this.#u?.remove();
      };
    }, hn);
  }
  #b() {
    try {
      this.#n = z(() => this.#f(this.#t));
    } catch (t) {
      this.error(t);
    }
  }
  #m() {
    const t = this.#r.pending;
    t && (this.#e = z(() => t(this.#t)), P.enqueue(() => {
      var n = this.#w();
      this.#n = this.#p(() => (P.ensure(), z(() => this.#f(n)))), this.#o > 0 ? this.#g() : (be(
        /** @type {Effect} */
        this.#e,
        () => {
          this.#e = null;
        }
      ), this.is_pending = !1);
    }));
  }
  #w() {
    var t = this.#t;
    return this.is_pending && (this.#u = mt(), this.#t.before(this.#u), t = this.#u), t;
  }
  /**
   * Defer an effect inside a pending boundary until the boundary resolves
   * @param {Effect} effect
   */
  defer_effect(t) {
    _t(t, this.#d, this.#v);
  }
  /**
   * Returns `false` if the effect exists inside a boundary whose pending snippet is shown
   * @returns {boolean}
   */
  is_rendered() {
    return !this.is_pending && (!this.parent || this.parent.is_rendered());
  }
  has_pending_snippet() {
    return !!this.#r.pending;
  }
  /**
   * @param {() => Effect | null} fn
   */
  #p(t) {
    var n = v, r = d, s = R;
    I(this.#s), T(this.#s), le(this.#s.ctx);
    try {
      return t();
    } catch (i) {
      return ot(i), null;
    } finally {
      I(n), T(r), le(s);
    }
  }
  #g() {
    const t = (
      /** @type {(anchor: Node) => void} */
      this.#r.pending
    );
    this.#n !== null && (this.#l = document.createDocumentFragment(), this.#l.append(
      /** @type {TemplateNode} */
      this.#u
    ), Pn(this.#n, this.#l)), this.#e === null && (this.#e = z(() => t(this.#t)));
  }
  /**
   * Updates the pending count associated with the currently visible pending snippet,
   * if any, such that we can replace the snippet with content once work is done
   * @param {1 | -1} d
   */
  #y(t) {
    if (!this.has_pending_snippet()) {
      this.parent && this.parent.#y(t);
      return;
    }
    if (this.#o += t, this.#o === 0) {
      this.is_pending = !1;
      for (const n of this.#d)
        w(n, m), V(n);
      for (const n of this.#v)
        w(n, U), V(n);
      this.#d.clear(), this.#v.clear(), this.#e && be(this.#e, () => {
        this.#e = null;
      }), this.#l && (this.#t.before(this.#l), this.#l = null);
    }
  }
  /**
   * Update the source that powers `$effect.pending()` inside this boundary,
   * and controls when the current `pending` snippet (if any) is removed.
   * Do not call from inside the class
   * @param {1 | -1} d
   */
  update_pending_count(t) {
    this.#y(t), this.#a += t, this.#c && Te(this.#c, this.#a);
  }
  get_effect_pending() {
    return this.#E(), Q(
      /** @type {Source<number>} */
      this.#c
    );
  }
  /** @param {unknown} error */
  error(t) {
    var n = this.#r.onerror;
    let r = this.#r.failed;
    if (this.#h || !n && !r)
      throw t;
    this.#n && (M(this.#n), this.#n = null), this.#e && (M(this.#e), this.#e = null), this.#i && (M(this.#i), this.#i = null);
    var s = !1, i = !1;
    const l = () => {
      if (s) {
        nn();
        return;
      }
      s = !0, i && tn(), P.ensure(), this.#a = 0, this.#i !== null && be(this.#i, () => {
        this.#i = null;
      }), this.is_pending = this.has_pending_snippet(), this.#n = this.#p(() => (this.#h = !1, z(() => this.#f(this.#t)))), this.#o > 0 ? this.#g() : this.is_pending = !1;
    };
    var u = d;
    try {
      T(null), i = !0, n?.(t, l), i = !1;
    } catch (f) {
      ue(f, this.#s && this.#s.parent);
    } finally {
      T(u);
    }
    r && Ce(() => {
      this.#i = this.#p(() => {
        P.ensure(), this.#h = !0;
        try {
          return z(() => {
            r(
              this.#t,
              () => t,
              () => l
            );
          });
        } catch (f) {
          return ue(
            f,
            /** @type {Effect} */
            this.#s.parent
          ), null;
        } finally {
          this.#h = !1;
        }
      });
    });
  }
}
function pn(e, t, n, r) {
  const s = Ue;
  if (n.length === 0 && e.length === 0) {
    r(t.map(s));
    return;
  }
  var i = g, l = (
    /** @type {Effect} */
    v
  ), u = gn();
  function f() {
    Promise.all(n.map((a) => /* @__PURE__ */ wn(a))).then((a) => {
      u();
      try {
        r([...t.map(s), ...a]);
      } catch (o) {
        (l.f & G) === 0 && ue(o, l);
      }
      i?.deactivate(), xe();
    }).catch((a) => {
      ue(a, l);
    });
  }
  e.length > 0 ? Promise.all(e).then(() => {
    u();
    try {
      return f();
    } finally {
      i?.deactivate(), xe();
    }
  }) : f();
}
function gn() {
  var e = v, t = d, n = R, r = g;
  return function(i = !0) {
    I(e), T(t), le(n), i && r?.activate();
  };
}
function xe() {
  I(null), T(null), le(null);
}
// @__NO_SIDE_EFFECTS__
function Ue(e) {
  var t = E | m, n = d !== null && (d.f & E) !== 0 ? (
    /** @type {Derived} */
    d
  ) : null;
  return v !== null && (v.f |= ae), {
    ctx: R,
    deps: null,
    effects: null,
    equals: ft,
    f: t,
    fn: e,
    reactions: null,
    rv: 0,
    v: (
      /** @type {V} */
      y
    ),
    wv: 0,
    parent: n ?? v,
    ac: null
  };
}
// @__NO_SIDE_EFFECTS__
function wn(e, t, n) {
  let r = (
    /** @type {Effect | null} */
    v
  );
  r === null && Wt();
  var s = (
    /** @type {Boundary} */
    r.b
  ), i = (
    /** @type {Promise<V>} */
    /** @type {unknown} */
    void 0
  ), l = we(
    /** @type {V} */
    y
  ), u = !d, f = /* @__PURE__ */ new Map();
  return Cn(() => {
    var a = rt();
    i = a.promise;
    try {
      Promise.resolve(e()).then(a.resolve, a.reject).then(() => {
        o === g && o.committed && o.deactivate(), xe();
      });
    } catch (_) {
      a.reject(_), xe();
    }
    var o = (
      /** @type {Batch} */
      g
    );
    if (u) {
      var h = s.is_rendered();
      s.update_pending_count(1), o.increment(h), f.get(o)?.reject(fe), f.delete(o), f.set(o, a);
    }
    const c = (_, p = void 0) => {
      if (o.activate(), p)
        p !== fe && (l.f |= W, Te(l, p));
      else {
        (l.f & W) !== 0 && (l.f ^= W), Te(l, _);
        for (const [N, L] of f) {
          if (f.delete(N), N === o) break;
          L.reject(fe);
        }
      }
      u && (s.update_pending_count(-1), o.decrement(h));
    };
    a.promise.then(c, (_) => c(null, _ || "unknown"));
  }), xt(() => {
    for (const a of f.values())
      a.reject(fe);
  }), new Promise((a) => {
    function o(h) {
      function c() {
        h === i ? a(l) : o(i);
      }
      h.then(c, c);
    }
    o(i);
  });
}
// @__NO_SIDE_EFFECTS__
function tr(e) {
  const t = /* @__PURE__ */ Ue(e);
  return Ot(t), t;
}
// @__NO_SIDE_EFFECTS__
function nr(e) {
  const t = /* @__PURE__ */ Ue(e);
  return t.equals = lt, t;
}
function pt(e) {
  var t = e.effects;
  if (t !== null) {
    e.effects = null;
    for (var n = 0; n < t.length; n += 1)
      M(
        /** @type {Effect} */
        t[n]
      );
  }
}
function yn(e) {
  for (var t = e.parent; t !== null; ) {
    if ((t.f & E) === 0)
      return (t.f & G) === 0 ? (
        /** @type {Effect} */
        t
      ) : null;
    t = t.parent;
  }
  return null;
}
function Ye(e) {
  var t, n = v;
  I(yn(e));
  try {
    e.f &= ~ne, pt(e), t = Dt(e);
  } finally {
    I(n);
  }
  return t;
}
function gt(e) {
  var t = Ye(e);
  if (!e.equals(t) && (e.wv = Nt(), (!g?.is_fork || e.deps === null) && (e.v = t, e.deps === null))) {
    w(e, b);
    return;
  }
  re || (O !== null ? (Ge() || g?.is_fork) && O.set(e, t) : He(e));
}
let Ie = /* @__PURE__ */ new Set();
const $ = /* @__PURE__ */ new Map();
let wt = !1;
function we(e, t) {
  var n = {
    f: 0,
    // TODO ideally we could skip this altogether, but it causes type errors
    v: e,
    reactions: null,
    equals: ft,
    rv: 0,
    wv: 0
  };
  return n;
}
// @__NO_SIDE_EFFECTS__
function K(e, t) {
  const n = we(e);
  return Ot(n), n;
}
// @__NO_SIDE_EFFECTS__
function rr(e, t = !1, n = !0) {
  const r = we(e);
  return t || (r.equals = lt), r;
}
function X(e, t, n = !1) {
  d !== null && // since we are untracking the function inside `$inspect.with` we need to add this check
  // to ensure we error if state is set inside an inspect effect
  (!F || (d.f & ze) !== 0) && ut() && (d.f & (E | B | Be | ze)) !== 0 && !q?.includes(e) && en();
  let r = n ? oe(t) : t;
  return Te(e, r);
}
function Te(e, t) {
  if (!e.equals(t)) {
    var n = e.v;
    re ? $.set(e, t) : $.set(e, n), e.v = t;
    var r = P.ensure();
    if (r.capture(e, n), (e.f & E) !== 0) {
      const s = (
        /** @type {Derived} */
        e
      );
      (e.f & m) !== 0 && Ye(s), He(s);
    }
    e.wv = Nt(), yt(e, m), v !== null && (v.f & b) !== 0 && (v.f & (H | se)) === 0 && (S === null ? Dn([e]) : S.push(e)), !r.is_fork && Ie.size > 0 && !wt && En();
  }
  return t;
}
function En() {
  wt = !1;
  var e = ee;
  Ae(!0);
  const t = Array.from(Ie);
  try {
    for (const n of t)
      (n.f & b) !== 0 && w(n, U), ye(n) && ge(n);
  } finally {
    Ae(e);
  }
  Ie.clear();
}
function ve(e) {
  X(e, e.v + 1);
}
function yt(e, t) {
  var n = e.reactions;
  if (n !== null)
    for (var r = n.length, s = 0; s < r; s++) {
      var i = n[s], l = i.f, u = (l & m) === 0;
      if (u && w(i, t), (l & E) !== 0) {
        var f = (
          /** @type {Derived} */
          i
        );
        O?.delete(f), (l & ne) === 0 && (l & C && (i.f |= ne), yt(f, U));
      } else u && ((l & B) !== 0 && j !== null && j.add(
        /** @type {Effect} */
        i
      ), V(
        /** @type {Effect} */
        i
      ));
    }
}
function oe(e) {
  if (typeof e != "object" || e === null || he in e)
    return e;
  const t = Yt(e);
  if (t !== Ht && t !== Ut)
    return e;
  var n = /* @__PURE__ */ new Map(), r = jt(e), s = /* @__PURE__ */ K(0), i = te, l = (u) => {
    if (te === i)
      return u();
    var f = d, a = te;
    T(null), tt(i);
    var o = u();
    return T(f), tt(a), o;
  };
  return r && n.set("length", /* @__PURE__ */ K(
    /** @type {any[]} */
    e.length
  )), new Proxy(
    /** @type {any} */
    e,
    {
      defineProperty(u, f, a) {
        (!("value" in a) || a.configurable === !1 || a.enumerable === !1 || a.writable === !1) && Jt();
        var o = n.get(f);
        return o === void 0 ? o = l(() => {
          var h = /* @__PURE__ */ K(a.value);
          return n.set(f, h), h;
        }) : X(o, a.value, !0), !0;
      },
      deleteProperty(u, f) {
        var a = n.get(f);
        if (a === void 0) {
          if (f in u) {
            const o = l(() => /* @__PURE__ */ K(y));
            n.set(f, o), ve(s);
          }
        } else
          X(a, y), ve(s);
        return !0;
      },
      get(u, f, a) {
        if (f === he)
          return e;
        var o = n.get(f), h = f in u;
        if (o === void 0 && (!h || _e(u, f)?.writable) && (o = l(() => {
          var _ = oe(h ? u[f] : y), p = /* @__PURE__ */ K(_);
          return p;
        }), n.set(f, o)), o !== void 0) {
          var c = Q(o);
          return c === y ? void 0 : c;
        }
        return Reflect.get(u, f, a);
      },
      getOwnPropertyDescriptor(u, f) {
        var a = Reflect.getOwnPropertyDescriptor(u, f);
        if (a && "value" in a) {
          var o = n.get(f);
          o && (a.value = Q(o));
        } else if (a === void 0) {
          var h = n.get(f), c = h?.v;
          if (h !== void 0 && c !== y)
            return {
              enumerable: !0,
              configurable: !0,
              value: c,
              writable: !0
            };
        }
        return a;
      },
      has(u, f) {
        if (f === he)
          return !0;
        var a = n.get(f), o = a !== void 0 && a.v !== y || Reflect.has(u, f);
        if (a !== void 0 || v !== null && (!o || _e(u, f)?.writable)) {
          a === void 0 && (a = l(() => {
            var c = o ? oe(u[f]) : y, _ = /* @__PURE__ */ K(c);
            return _;
          }), n.set(f, a));
          var h = Q(a);
          if (h === y)
            return !1;
        }
        return o;
      },
      set(u, f, a, o) {
        var h = n.get(f), c = f in u;
        if (r && f === "length")
          for (var _ = a; _ < /** @type {Source<number>} */
          h.v; _ += 1) {
            var p = n.get(_ + "");
            p !== void 0 ? X(p, y) : _ in u && (p = l(() => /* @__PURE__ */ K(y)), n.set(_ + "", p));
          }
        if (h === void 0)
          (!c || _e(u, f)?.writable) && (h = l(() => /* @__PURE__ */ K(void 0)), X(h, oe(a)), n.set(f, h));
        else {
          c = h.v !== y;
          var N = l(() => oe(a));
          X(h, N);
        }
        var L = Reflect.getOwnPropertyDescriptor(u, f);
        if (L?.set && L.set.call(o, a), !c) {
          if (r && typeof f == "string") {
            var We = (
              /** @type {Source<number>} */
              n.get("length")
            ), Fe = Number(f);
            Number.isInteger(Fe) && Fe >= We.v && X(We, Fe + 1);
          }
          ve(s);
        }
        return !0;
      },
      ownKeys(u) {
        Q(s);
        var f = Reflect.ownKeys(u).filter((h) => {
          var c = n.get(h);
          return c === void 0 || c.v !== y;
        });
        for (var [a, o] of n)
          o.v !== y && !(a in u) && f.push(a);
        return f;
      },
      setPrototypeOf() {
        Qt();
      }
    }
  );
}
function Ze(e) {
  try {
    if (e !== null && typeof e == "object" && he in e)
      return e[he];
  } catch {
  }
  return e;
}
function sr(e, t) {
  return Object.is(Ze(e), Ze(t));
}
var Je, bn, Et, bt;
function mn() {
  if (Je === void 0) {
    Je = window, bn = /Firefox/.test(navigator.userAgent);
    var e = Element.prototype, t = Node.prototype, n = Text.prototype;
    Et = _e(t, "firstChild").get, bt = _e(t, "nextSibling").get, $e(e) && (e.__click = void 0, e.__className = void 0, e.__attributes = null, e.__style = void 0, e.__e = void 0), $e(n) && (n.__t = void 0);
  }
}
function mt(e = "") {
  return document.createTextNode(e);
}
// @__NO_SIDE_EFFECTS__
function xn(e) {
  return (
    /** @type {TemplateNode | null} */
    Et.call(e)
  );
}
// @__NO_SIDE_EFFECTS__
function Ke(e) {
  return (
    /** @type {TemplateNode | null} */
    bt.call(e)
  );
}
function ir(e, t) {
  return /* @__PURE__ */ xn(e);
}
function fr(e, t = 1, n = !1) {
  let r = e;
  for (; t--; )
    r = /** @type {TemplateNode} */
    /* @__PURE__ */ Ke(r);
  return r;
}
function lr(e) {
  e.textContent = "";
}
function ur() {
  return !1;
}
let Qe = !1;
function Tn() {
  Qe || (Qe = !0, document.addEventListener(
    "reset",
    (e) => {
      Promise.resolve().then(() => {
        if (!e.defaultPrevented)
          for (
            const t of
            /**@type {HTMLFormElement} */
            e.target.elements
          )
            t.__on_r?.();
      });
    },
    // In the capture phase to guarantee we get noticed of it (no possibility of stopPropagation)
    { capture: !0 }
  ));
}
function Oe(e) {
  var t = d, n = v;
  T(null), I(null);
  try {
    return e();
  } finally {
    T(t), I(n);
  }
}
function ar(e, t, n, r = n) {
  e.addEventListener(t, () => Oe(n));
  const s = e.__on_r;
  s ? e.__on_r = () => {
    s(), r(!0);
  } : e.__on_r = () => r(!0), Tn();
}
function An(e) {
  v === null && (d === null && Xt(), zt()), re && $t();
}
function Sn(e, t) {
  var n = t.last;
  n === null ? t.last = t.first = e : (n.next = e, e.prev = n, t.last = e);
}
function Y(e, t, n) {
  var r = v;
  r !== null && (r.f & D) !== 0 && (e |= D);
  var s = {
    ctx: R,
    deps: null,
    nodes: null,
    f: e | m | C,
    first: null,
    fn: t,
    last: null,
    next: null,
    parent: r,
    b: r && r.b,
    prev: null,
    teardown: null,
    wv: 0,
    ac: null
  };
  if (n)
    try {
      ge(s), s.f |= Ve;
    } catch (u) {
      throw M(s), u;
    }
  else t !== null && V(s);
  var i = s;
  if (n && i.deps === null && i.teardown === null && i.nodes === null && i.first === i.last && // either `null`, or a singular child
  (i.f & ae) === 0 && (i = i.first, (e & B) !== 0 && (e & pe) !== 0 && i !== null && (i.f |= pe)), i !== null && (i.parent = r, r !== null && Sn(i, r), d !== null && (d.f & E) !== 0 && (e & se) === 0)) {
    var l = (
      /** @type {Derived} */
      d
    );
    (l.effects ??= []).push(i);
  }
  return s;
}
function Ge() {
  return d !== null && !F;
}
function xt(e) {
  const t = Y(ke, null, !1);
  return w(t, b), t.teardown = e, t;
}
function or(e) {
  An();
  var t = (
    /** @type {Effect} */
    v.f
  ), n = !d && (t & H) !== 0 && (t & Ve) === 0;
  if (n) {
    var r = (
      /** @type {ComponentContext} */
      R
    );
    (r.e ??= []).push(e);
  } else
    return Tt(e);
}
function Tt(e) {
  return Y(me | Gt, e, !1);
}
function kn(e) {
  P.ensure();
  const t = Y(se | ae, e, !0);
  return (n = {}) => new Promise((r) => {
    n.outro ? be(t, () => {
      M(t), r(void 0);
    }) : (M(t), r(void 0));
  });
}
function cr(e) {
  return Y(me, e, !1);
}
function Cn(e) {
  return Y(Be | ae, e, !0);
}
function Rn(e, t = 0) {
  return Y(ke | t, e, !0);
}
function _r(e, t = [], n = [], r = []) {
  pn(r, t, n, (s) => {
    Y(ke, () => e(...s.map(Q)), !0);
  });
}
function On(e, t = 0) {
  var n = Y(B | t, e, !0);
  return n;
}
function z(e) {
  return Y(H | ae, e, !0);
}
function At(e) {
  var t = e.teardown;
  if (t !== null) {
    const n = re, r = d;
    et(!0), T(null);
    try {
      t.call(null);
    } finally {
      et(n), T(r);
    }
  }
}
function St(e, t = !1) {
  var n = e.first;
  for (e.first = e.last = null; n !== null; ) {
    const s = n.ac;
    s !== null && Oe(() => {
      s.abort(fe);
    });
    var r = n.next;
    (n.f & se) !== 0 ? n.parent = null : M(n, t), n = r;
  }
}
function Fn(e) {
  for (var t = e.first; t !== null; ) {
    var n = t.next;
    (t.f & H) === 0 && M(t), t = n;
  }
}
function M(e, t = !0) {
  var n = !1;
  (t || (e.f & it) !== 0) && e.nodes !== null && e.nodes.end !== null && (Nn(
    e.nodes.start,
    /** @type {TemplateNode} */
    e.nodes.end
  ), n = !0), St(e, t && !n), Se(e, 0), w(e, G);
  var r = e.nodes && e.nodes.t;
  if (r !== null)
    for (const i of r)
      i.stop();
  At(e);
  var s = e.parent;
  s !== null && s.first !== null && kt(e), e.next = e.prev = e.teardown = e.ctx = e.deps = e.fn = e.nodes = e.ac = null;
}
function Nn(e, t) {
  for (; e !== null; ) {
    var n = e === t ? null : /* @__PURE__ */ Ke(e);
    e.remove(), e = n;
  }
}
function kt(e) {
  var t = e.parent, n = e.prev, r = e.next;
  n !== null && (n.next = r), r !== null && (r.prev = n), t !== null && (t.first === e && (t.first = r), t.last === e && (t.last = n));
}
function be(e, t, n = !0) {
  var r = [];
  Ct(e, r, !0);
  var s = () => {
    n && M(e), t && t();
  }, i = r.length;
  if (i > 0) {
    var l = () => --i || s();
    for (var u of r)
      u.out(l);
  } else
    s();
}
function Ct(e, t, n) {
  if ((e.f & D) === 0) {
    e.f ^= D;
    var r = e.nodes && e.nodes.t;
    if (r !== null)
      for (const u of r)
        (u.is_global || n) && t.push(u);
    for (var s = e.first; s !== null; ) {
      var i = s.next, l = (s.f & pe) !== 0 || // If this is a branch effect without a block effect parent,
      // it means the parent block effect was pruned. In that case,
      // transparency information was transferred to the branch effect.
      (s.f & H) !== 0 && (e.f & B) !== 0;
      Ct(s, t, l ? n : !1), s = i;
    }
  }
}
function hr(e) {
  Rt(e, !0);
}
function Rt(e, t) {
  if ((e.f & D) !== 0) {
    e.f ^= D, (e.f & b) === 0 && (w(e, m), V(e));
    for (var n = e.first; n !== null; ) {
      var r = n.next, s = (n.f & pe) !== 0 || (n.f & H) !== 0;
      Rt(n, s ? t : !1), n = r;
    }
    var i = e.nodes && e.nodes.t;
    if (i !== null)
      for (const l of i)
        (l.is_global || t) && l.in();
  }
}
function Pn(e, t) {
  if (e.nodes)
    for (var n = e.nodes.start, r = e.nodes.end; n !== null; ) {
      var s = n === r ? null : /* @__PURE__ */ Ke(n);
      t.append(n), n = s;
    }
}
let ee = !1;
function Ae(e) {
  ee = e;
}
let re = !1;
function et(e) {
  re = e;
}
let d = null, F = !1;
function T(e) {
  d = e;
}
let v = null;
function I(e) {
  v = e;
}
let q = null;
function Ot(e) {
  d !== null && (q === null ? q = [e] : q.push(e));
}
let x = null, A = 0, S = null;
function Dn(e) {
  S = e;
}
let Ft = 1, J = 0, te = J;
function tt(e) {
  te = e;
}
function Nt() {
  return ++Ft;
}
function ye(e) {
  var t = e.f;
  if ((t & m) !== 0)
    return !0;
  if (t & E && (e.f &= ~ne), (t & U) !== 0) {
    for (var n = (
      /** @type {Value[]} */
      e.deps
    ), r = n.length, s = 0; s < r; s++) {
      var i = n[s];
      if (ye(
        /** @type {Derived} */
        i
      ) && gt(
        /** @type {Derived} */
        i
      ), i.wv > e.wv)
        return !0;
    }
    (t & C) !== 0 && // During time traveling we don't want to reset the status so that
    // traversal of the graph in the other batches still happens
    O === null && w(e, b);
  }
  return !1;
}
function Pt(e, t, n = !0) {
  var r = e.reactions;
  if (r !== null && !q?.includes(e))
    for (var s = 0; s < r.length; s++) {
      var i = r[s];
      (i.f & E) !== 0 ? Pt(
        /** @type {Derived} */
        i,
        t,
        !1
      ) : t === i && (n ? w(i, m) : (i.f & b) !== 0 && w(i, U), V(
        /** @type {Effect} */
        i
      ));
    }
}
function Dt(e) {
  var t = x, n = A, r = S, s = d, i = q, l = R, u = F, f = te, a = e.f;
  x = /** @type {null | Value[]} */
  null, A = 0, S = null, d = (a & (H | se)) === 0 ? e : null, q = null, le(e.ctx), F = !1, te = ++J, e.ac !== null && (Oe(() => {
    e.ac.abort(fe);
  }), e.ac = null);
  try {
    e.f |= De;
    var o = (
      /** @type {Function} */
      e.fn
    ), h = o(), c = e.deps;
    if (x !== null) {
      var _;
      if (Se(e, A), c !== null && A > 0)
        for (c.length = A + x.length, _ = 0; _ < x.length; _++)
          c[A + _] = x[_];
      else
        e.deps = c = x;
      if (Ge() && (e.f & C) !== 0)
        for (_ = A; _ < c.length; _++)
          (c[_].reactions ??= []).push(e);
    } else c !== null && A < c.length && (Se(e, A), c.length = A);
    if (ut() && S !== null && !F && c !== null && (e.f & (E | U | m)) === 0)
      for (_ = 0; _ < /** @type {Source[]} */
      S.length; _++)
        Pt(
          S[_],
          /** @type {Effect} */
          e
        );
    if (s !== null && s !== e) {
      if (J++, s.deps !== null)
        for (let p = 0; p < n; p += 1)
          s.deps[p].rv = J;
      if (t !== null)
        for (const p of t)
          p.rv = J;
      S !== null && (r === null ? r = S : r.push(.../** @type {Source[]} */
      S));
    }
    return (e.f & W) !== 0 && (e.f ^= W), h;
  } catch (p) {
    return ot(p);
  } finally {
    e.f ^= De, x = t, A = n, S = r, d = s, q = i, le(l), F = u, te = f;
  }
}
function Mn(e, t) {
  let n = t.reactions;
  if (n !== null) {
    var r = qt.call(n, e);
    if (r !== -1) {
      var s = n.length - 1;
      s === 0 ? n = t.reactions = null : (n[r] = n[s], n.pop());
    }
  }
  if (n === null && (t.f & E) !== 0 && // Destroying a child effect while updating a parent effect can cause a dependency to appear
  // to be unused, when in fact it is used by the currently-updating parent. Checking `new_deps`
  // allows us to skip the expensive work of disconnecting and immediately reconnecting it
  (x === null || !x.includes(t))) {
    var i = (
      /** @type {Derived} */
      t
    );
    (i.f & C) !== 0 && (i.f ^= C, i.f &= ~ne), He(i), pt(i), Se(i, 0);
  }
}
function Se(e, t) {
  var n = e.deps;
  if (n !== null)
    for (var r = t; r < n.length; r++)
      Mn(e, n[r]);
}
function ge(e) {
  var t = e.f;
  if ((t & G) === 0) {
    w(e, b);
    var n = v, r = ee;
    v = e, ee = !0;
    try {
      (t & (B | st)) !== 0 ? Fn(e) : St(e), At(e);
      var s = Dt(e);
      e.teardown = typeof s == "function" ? s : null, e.wv = Ft;
      var i;
      Pe && sn && (e.f & m) !== 0 && e.deps;
    } finally {
      ee = r, v = n;
    }
  }
}
async function dr() {
  await Promise.resolve(), on();
}
function Q(e) {
  var t = e.f, n = (t & E) !== 0;
  if (d !== null && !F) {
    var r = v !== null && (v.f & G) !== 0;
    if (!r && !q?.includes(e)) {
      var s = d.deps;
      if ((d.f & De) !== 0)
        e.rv < J && (e.rv = J, x === null && s !== null && s[A] === e ? A++ : x === null ? x = [e] : x.push(e));
      else {
        (d.deps ??= []).push(e);
        var i = e.reactions;
        i === null ? e.reactions = [d] : i.includes(d) || i.push(d);
      }
    }
  }
  if (re && $.has(e))
    return $.get(e);
  if (n) {
    var l = (
      /** @type {Derived} */
      e
    );
    if (re) {
      var u = l.v;
      return ((l.f & b) === 0 && l.reactions !== null || It(l)) && (u = Ye(l)), $.set(l, u), u;
    }
    var f = (l.f & C) === 0 && !F && d !== null && (ee || (d.f & C) !== 0), a = l.deps === null;
    ye(l) && (f && (l.f |= C), gt(l)), f && !a && Mt(l);
  }
  if (O?.has(e))
    return O.get(e);
  if ((e.f & W) !== 0)
    throw e.v;
  return e.v;
}
function Mt(e) {
  if (e.deps !== null) {
    e.f |= C;
    for (const t of e.deps)
      (t.reactions ??= []).push(e), (t.f & E) !== 0 && (t.f & C) === 0 && Mt(
        /** @type {Derived} */
        t
      );
  }
}
function It(e) {
  if (e.v === y) return !0;
  if (e.deps === null) return !1;
  for (const t of e.deps)
    if ($.has(t) || (t.f & E) !== 0 && It(
      /** @type {Derived} */
      t
    ))
      return !0;
  return !1;
}
function In(e) {
  var t = F;
  try {
    return F = !0, e();
  } finally {
    F = t;
  }
}
const Lt = /* @__PURE__ */ new Set(), Le = /* @__PURE__ */ new Set();
function Ln(e, t, n, r = {}) {
  function s(i) {
    if (r.capture || ce.call(t, i), !i.cancelBubble)
      return Oe(() => n?.call(this, i));
  }
  return e.startsWith("pointer") || e.startsWith("touch") || e === "wheel" ? Ce(() => {
    t.addEventListener(e, s, r);
  }) : t.addEventListener(e, s, r), s;
}
function vr(e, t, n, r, s) {
  var i = { capture: r, passive: s }, l = Ln(e, t, n, i);
  (t === document.body || // @ts-ignore
  t === window || // @ts-ignore
  t === document || // Firefox has quirky behavior, it can happen that we still get "canplay" events when the element is already removed
  t instanceof HTMLMediaElement) && xt(() => {
    t.removeEventListener(e, l, i);
  });
}
function pr(e) {
  for (var t = 0; t < e.length; t++)
    Lt.add(e[t]);
  for (var n of Le)
    n(e);
}
let nt = null;
function ce(e) {
  var t = this, n = (
    /** @type {Node} */
    t.ownerDocument
  ), r = e.type, s = e.composedPath?.() || [], i = (
    /** @type {null | Element} */
    s[0] || e.target
  );
  nt = e;
  var l = 0, u = nt === e && e.__root;
  if (u) {
    var f = s.indexOf(u);
    if (f !== -1 && (t === document || t === /** @type {any} */
    window)) {
      e.__root = t;
      return;
    }
    var a = s.indexOf(t);
    if (a === -1)
      return;
    f <= a && (l = f);
  }
  if (i = /** @type {Element} */
  s[l] || e.target, i !== t) {
    Bt(e, "currentTarget", {
      configurable: !0,
      get() {
        return i || n;
      }
    });
    var o = d, h = v;
    T(null), I(null);
    try {
      for (var c, _ = []; i !== null; ) {
        var p = i.assignedSlot || i.parentNode || /** @type {any} */
        i.host || null;
        try {
          var N = i["__" + r];
          N != null && (!/** @type {any} */
          i.disabled || // DOM could've been updated already by the time this is reached, so we check this as well
          // -> the target could not have been disabled because it emits the event in the first place
          e.target === i) && N.call(i, e);
        } catch (L) {
          c ? _.push(L) : c = L;
        }
        if (e.cancelBubble || p === t || p === null)
          break;
        i = p;
      }
      if (c) {
        for (let L of _)
          queueMicrotask(() => {
            throw L;
          });
        throw c;
      }
    } finally {
      e.__root = t, delete e.currentTarget, T(o), I(h);
    }
  }
}
const jn = ["touchstart", "touchmove"];
function qn(e) {
  return jn.includes(e);
}
function gr(e, t) {
  var n = t == null ? "" : typeof t == "object" ? t + "" : t;
  n !== (e.__t ??= e.nodeValue) && (e.__t = n, e.nodeValue = n + "");
}
function wr(e, t) {
  return Vn(e, t);
}
const ie = /* @__PURE__ */ new Map();
function Vn(e, { target: t, anchor: n, props: r = {}, events: s, context: i, intro: l = !0 }) {
  mn();
  var u = /* @__PURE__ */ new Set(), f = (h) => {
    for (var c = 0; c < h.length; c++) {
      var _ = h[c];
      if (!u.has(_)) {
        u.add(_);
        var p = qn(_);
        t.addEventListener(_, ce, { passive: p });
        var N = ie.get(_);
        N === void 0 ? (document.addEventListener(_, ce, { passive: p }), ie.set(_, 1)) : ie.set(_, N + 1);
      }
    }
  };
  f(Vt(Lt)), Le.add(f);
  var a = void 0, o = kn(() => {
    var h = n ?? t.appendChild(mt());
    return dn(
      /** @type {TemplateNode} */
      h,
      {
        pending: () => {
        }
      },
      (c) => {
        if (i) {
          fn({});
          var _ = (
            /** @type {ComponentContext} */
            R
          );
          _.c = i;
        }
        s && (r.$$events = s), a = e(c, r) || {}, i && ln();
      }
    ), () => {
      for (var c of u) {
        t.removeEventListener(c, ce);
        var _ = (
          /** @type {number} */
          ie.get(c)
        );
        --_ === 0 ? (document.removeEventListener(c, ce), ie.delete(c)) : ie.set(c, _);
      }
      Le.delete(f), h !== n && h.parentNode?.removeChild(h);
    };
  });
  return je.set(a, o), a;
}
let je = /* @__PURE__ */ new WeakMap();
function yr(e, t) {
  const n = je.get(e);
  return n ? (je.delete(e), n(t)) : Promise.resolve();
}
export {
  X as $,
  we as A,
  Hn as B,
  Ce as C,
  Yn as D,
  pe as E,
  lr as F,
  Vt as G,
  Ke as H,
  D as I,
  ar as J,
  cr as K,
  xt as L,
  er as M,
  sr as N,
  Ne as O,
  Jn as P,
  Wn as Q,
  $n as R,
  dr as S,
  Gn as T,
  Rn as U,
  he as V,
  zn as W,
  Ge as X,
  _n as Y,
  K as Z,
  oe as _,
  xn as a,
  pr as a0,
  _r as a1,
  vr as a2,
  ln as a3,
  fr as a4,
  ir as a5,
  fn as a6,
  gr as a7,
  tr as a8,
  Xn as a9,
  wr as aa,
  yr as ab,
  bn as b,
  v as c,
  g as d,
  M as e,
  mt as f,
  Yt as g,
  z as h,
  jt as i,
  R as j,
  In as k,
  On as l,
  Pn as m,
  Un as n,
  Ht as o,
  be as p,
  Q as q,
  hr as r,
  ur as s,
  Te as t,
  or as u,
  Zn as v,
  nr as w,
  Bn as x,
  Kn as y,
  rr as z
};
