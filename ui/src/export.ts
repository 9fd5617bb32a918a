// Export the current view as a PNG map: the 3D frame with a title band, a legend of the visible
// layers, a scale bar and a north arrow, saved by Rust to the pictures folder.
import { invoke } from "@tauri-apps/api/core";

export interface LegendItem { title: string; fill: string; stroke: string }
export interface ExportInput {
  frame: ImageData;
  title: string;
  subtitle: string;
  legend: LegendItem[];
  metresPerPixel: number;
  yawDeg: number;
}

function niceLength(target: number): number {
  const p = 10 ** Math.floor(Math.log10(target));
  return [1, 2, 5, 10].map((k) => k * p).filter((l) => l <= target).pop() ?? p;
}

/** Compose the map; returns the PNG bytes. */
export async function composeMap(i: ExportInput): Promise<Uint8Array> {
  const { width: w, height: h } = i.frame;
  const c = document.createElement("canvas");
  c.width = w; c.height = h;
  const g = c.getContext("2d")!;
  g.putImageData(i.frame, 0, 0);
  const font = '"Noto Sans CJK SC", "Microsoft YaHei", sans-serif';
  // Title band.
  g.fillStyle = "rgba(255,255,255,0.92)";
  g.fillRect(0, 0, w, 54);
  g.fillStyle = "#0f172a";
  g.font = `bold 22px ${font}`;
  g.textBaseline = "middle";
  g.fillText(i.title, 14, 20);
  g.font = `11px ${font}`;
  g.fillStyle = "#475569";
  g.fillText(i.subtitle, 14, 42, w - 28);
  // Legend.
  const rows = i.legend.slice(0, 22);
  const lh = 18, lw = 190, lx = 10, ly = h - 16 - rows.length * lh - 24;
  g.fillStyle = "rgba(255,255,255,0.9)";
  g.fillRect(lx, ly, lw, rows.length * lh + 24);
  g.strokeStyle = "#94a3b8";
  g.strokeRect(lx, ly, lw, rows.length * lh + 24);
  g.fillStyle = "#0f172a";
  g.font = `bold 12px ${font}`;
  g.fillText("图例 Legend", lx + 8, ly + 12);
  g.font = `12px ${font}`;
  rows.forEach((r, k) => {
    const y = ly + 24 + k * lh;
    g.fillStyle = r.fill; g.fillRect(lx + 8, y + 2, 22, 12);
    g.strokeStyle = r.stroke; g.lineWidth = 2; g.strokeRect(lx + 8, y + 2, 22, 12);
    g.fillStyle = "#0f172a"; g.fillText(r.title, lx + 38, y + 9);
  });
  // Scale bar.
  const len = niceLength(i.metresPerPixel * 120);
  const px = len / i.metresPerPixel;
  const sx = w - 24 - px, sy = h - 28;
  g.fillStyle = "rgba(255,255,255,0.9)";
  g.fillRect(sx - 10, sy - 22, px + 24, 40);
  g.strokeStyle = "#0f172a"; g.lineWidth = 2;
  g.beginPath(); g.moveTo(sx, sy - 6); g.lineTo(sx, sy); g.lineTo(sx + px, sy); g.lineTo(sx + px, sy - 6); g.stroke();
  g.fillStyle = "#0f172a"; g.font = `12px ${font}`;
  g.fillText(len >= 1000 ? `${len / 1000} km` : `${len} m`, sx, sy - 14);
  // North arrow.
  const nx = w - 34, ny = 92;
  g.save(); g.translate(nx, ny); g.rotate((i.yawDeg * Math.PI) / 180);
  g.fillStyle = "#b91c1c";
  g.beginPath(); g.moveTo(0, -18); g.lineTo(9, 12); g.lineTo(0, 6); g.lineTo(-9, 12); g.closePath(); g.fill();
  g.fillStyle = "#0f172a"; g.font = `bold 12px ${font}`; g.textAlign = "center"; g.fillText("N", 0, -26);
  g.restore();
  const blob: Blob = await new Promise((res, rej) => c.toBlob((b) => (b ? res(b) : rej(new Error("toBlob failed"))), "image/png"));
  return new Uint8Array(await blob.arrayBuffer());
}

/** Compose and save; returns the file's path. */
export async function exportMap(i: ExportInput): Promise<string> {
  const png = await composeMap(i);
  return invoke<string>("save_png", { bytes: Array.from(png) });
}
