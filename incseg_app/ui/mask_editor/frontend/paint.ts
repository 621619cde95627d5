// Pixel operations on a label map (H×W uint8 class ids, row-major) and an undo history of snapshots.

export type Point = { x: number; y: number };

/** Set every pixel within ``r`` of the segment a–b to ``id`` (a round brush dragged from a to b). */
export function stroke(labels: Uint8Array, w: number, h: number, a: Point, b: Point, r: number, id: number): number[] {
	const x0 = Math.max(0, Math.floor(Math.min(a.x, b.x) - r));
	const x1 = Math.min(w - 1, Math.ceil(Math.max(a.x, b.x) + r));
	const y0 = Math.max(0, Math.floor(Math.min(a.y, b.y) - r));
	const y1 = Math.min(h - 1, Math.ceil(Math.max(a.y, b.y) + r));
	const dx = b.x - a.x, dy = b.y - a.y;
	const len2 = dx * dx + dy * dy;
	const r2 = r * r;
	for (let y = y0; y <= y1; y++) {
		for (let x = x0; x <= x1; x++) {
			const px = x + 0.5, py = y + 0.5;
			let t = len2 > 0 ? ((px - a.x) * dx + (py - a.y) * dy) / len2 : 0;
			t = Math.max(0, Math.min(1, t));
			const ex = px - (a.x + t * dx), ey = py - (a.y + t * dy);
			if (ex * ex + ey * ey <= r2) labels[y * w + x] = id;
		}
	}
	return [x0, y0, x1, y1];
}

/** Fill the polygon (even-odd rule, pixel centres) with ``id``. */
export function fill_polygon(labels: Uint8Array, w: number, h: number, pts: Point[], id: number): void {
	if (pts.length < 3) return;
	for (let y = 0; y < h; y++) {
		const cy = y + 0.5;
		const xs: number[] = [];
		for (let i = 0; i < pts.length; i++) {
			const p = pts[i], q = pts[(i + 1) % pts.length];
			if ((p.y <= cy && q.y > cy) || (q.y <= cy && p.y > cy)) {
				xs.push(p.x + ((cy - p.y) / (q.y - p.y)) * (q.x - p.x));
			}
		}
		xs.sort((u, v) => u - v);
		for (let k = 0; k + 1 < xs.length; k += 2) {
			const from = Math.max(0, Math.ceil(xs[k] - 0.5));
			const to = Math.min(w - 1, Math.floor(xs[k + 1] - 0.5));
			for (let x = from; x <= to; x++) labels[y * w + x] = id;
		}
	}
}

/** Give every pixel of the region under (x, y) in ``regions`` the class ``id``. */
export function fill_region(labels: Uint8Array, regions: Uint16Array, w: number, x: number, y: number, id: number): number {
	const target = regions[y * w + x];
	let n = 0;
	for (let i = 0; i < labels.length; i++) {
		if (regions[i] === target) {
			labels[i] = id;
			n++;
		}
	}
	return n;
}

export function same(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

/** Undo/redo of whole-map snapshots, capped by total bytes. */
export class History {
	undo_stack: Uint8Array[] = [];
	redo_stack: Uint8Array[] = [];
	constructor(private max_bytes = 256 * 1024 * 1024) {}

	/** Remember ``before`` (the map as it was before an edit). */
	push(before: Uint8Array): void {
		this.undo_stack.push(before.slice());
		this.redo_stack = [];
		let bytes = this.undo_stack.reduce((n, s) => n + s.length, 0);
		while (bytes > this.max_bytes && this.undo_stack.length > 1) bytes -= this.undo_stack.shift()!.length;
	}

	undo(current: Uint8Array): Uint8Array | null {
		const prev = this.undo_stack.pop();
		if (!prev) return null;
		this.redo_stack.push(current.slice());
		return prev;
	}

	redo(current: Uint8Array): Uint8Array | null {
		const next = this.redo_stack.pop();
		if (!next) return null;
		this.undo_stack.push(current.slice());
		return next;
	}

	clear(): void {
		this.undo_stack = [];
		this.redo_stack = [];
	}
}
