// Drawing the editor: the photo, the label map as a coloured overlay of adjustable opacity, and the
// marks of the current gesture (polygon, refine clicks, brush cursor). Image coordinates map to the
// screen by a scale ``s`` and an offset (``tx``, ``ty``) in CSS pixels.
import type { Point } from "./paint";

export type View = { s: number; tx: number; ty: number };
export type Marks = {
	polygon: Point[]; polygon_color: string; clicks: [number, number, boolean][];
	cursor: Point | null; brush_radius: number | null;
};

/** RGBA (little-endian ABGR words) per class id; background (0) stays transparent. */
export function class_lut(classes: { id: number; color: string }[]): Uint32Array {
	const lut = new Uint32Array(256);
	for (const c of classes) {
		if (c.id === 0) continue;
		const n = parseInt(c.color.slice(1), 16);
		lut[c.id] = (0xff << 24) | ((n & 0xff) << 16) | (n & 0xff00) | ((n >> 16) & 0xff);
	}
	return lut;
}

/** Recolour the rectangle [x0, x1] × [y0, y1] of ``overlay`` from ``labels`` (W×H class ids). */
export function paint_overlay(overlay: HTMLCanvasElement, img: ImageData, labels: Uint8Array, lut: Uint32Array,
	x0: number, y0: number, x1: number, y1: number): void {
	const out = new Uint32Array(img.data.buffer);
	const w = img.width;
	for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out[y * w + x] = lut[labels[y * w + x]];
	overlay.getContext("2d")!.putImageData(img, 0, 0, x0, y0, x1 - x0 + 1, y1 - y0 + 1);
}

/** The view that shows the whole W×H image centred in a cw×ch stage. */
export function fit_view(w: number, h: number, cw: number, ch: number): View {
	const s = Math.min(cw / w, ch / h);
	return { s, tx: (cw - w * s) / 2, ty: (ch - h * s) / 2 };
}

export function to_screen(v: View, p: Point): [number, number] {
	return [p.x * v.s + v.tx, p.y * v.s + v.ty];
}

/** Redraw the canvas (sized to the stage at the device pixel ratio). */
export function draw(canvas: HTMLCanvasElement, cw: number, ch: number, v: View, photo: HTMLImageElement | null,
	overlay: HTMLCanvasElement | null, opacity: number, marks: Marks): void {
	const dpr = window.devicePixelRatio || 1;
	if (canvas.width !== Math.round(cw * dpr) || canvas.height !== Math.round(ch * dpr)) {
		canvas.width = Math.round(cw * dpr);
		canvas.height = Math.round(ch * dpr);
	}
	const c = canvas.getContext("2d")!;
	c.setTransform(1, 0, 0, 1, 0, 0);
	c.clearRect(0, 0, canvas.width, canvas.height);
	if (!photo) return;
	c.setTransform(dpr * v.s, 0, 0, dpr * v.s, dpr * v.tx, dpr * v.ty);
	c.imageSmoothingEnabled = v.s < 2;
	c.drawImage(photo, 0, 0, photo.naturalWidth, photo.naturalHeight);
	if (overlay && opacity > 0) {
		c.globalAlpha = opacity;
		c.imageSmoothingEnabled = false;
		c.drawImage(overlay, 0, 0);
		c.globalAlpha = 1;
	}
	c.setTransform(dpr, 0, 0, dpr, 0, 0);
	draw_marks(c, v, marks);
}

function draw_marks(c: CanvasRenderingContext2D, v: View, m: Marks): void {
	if (m.polygon.length) {
		c.strokeStyle = m.polygon_color;
		c.lineWidth = 2;
		c.beginPath();
		m.polygon.forEach((p, i) => (i ? c.lineTo(...to_screen(v, p)) : c.moveTo(...to_screen(v, p))));
		if (m.cursor) c.lineTo(...to_screen(v, m.cursor));
		c.stroke();
		for (const p of m.polygon) c.strokeRect(to_screen(v, p)[0] - 3, to_screen(v, p)[1] - 3, 6, 6);
	}
	for (const [x, y, positive] of m.clicks) {
		const [sx, sy] = to_screen(v, { x: x + 0.5, y: y + 0.5 });
		c.fillStyle = positive ? "#16a34a" : "#dc2626";
		c.strokeStyle = "#fff";
		c.lineWidth = 2;
		c.beginPath();
		c.arc(sx, sy, 6, 0, 2 * Math.PI);
		c.fill();
		c.stroke();
	}
	if (m.cursor && m.brush_radius !== null) {
		const [sx, sy] = to_screen(v, m.cursor);
		c.strokeStyle = "#fff";
		c.lineWidth = 1.5;
		c.beginPath();
		c.arc(sx, sy, Math.max(1, m.brush_radius * v.s), 0, 2 * Math.PI);
		c.stroke();
	}
}
