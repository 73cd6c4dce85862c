/** Draws rows of grey-scale maps (values in [0, 1]) as a grid of cells on a canvas, with row labels. */
export function drawGrid(canvas: HTMLCanvasElement, rows: { label: string; maps: Float32Array[] }[], size: number): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const labelWidth = 110;
  const gap = 6;
  const cols = Math.max(...rows.map((r) => r.maps.length), 1);
  const cell = Math.floor(Math.min((canvas.width - labelWidth - gap * cols) / cols, (canvas.height - gap * rows.length) / rows.length));
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const tile = document.createElement('canvas');
  tile.width = size;
  tile.height = size;
  const tctx = tile.getContext('2d')!;
  const img = tctx.createImageData(size, size);
  ctx.imageSmoothingEnabled = false;
  ctx.font = '13px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  rows.forEach((row, r) => {
    const y = r * (cell + gap) + gap / 2;
    ctx.fillStyle = '#1d232b';
    ctx.fillText(row.label, 4, y + cell / 2);
    row.maps.forEach((map, c) => {
      for (let i = 0; i < size * size; i++) {
        const v = Math.round(255 * Math.min(1, Math.max(0, map[i])));
        img.data[4 * i] = v;
        img.data[4 * i + 1] = v;
        img.data[4 * i + 2] = v;
        img.data[4 * i + 3] = 255;
      }
      tctx.putImageData(img, 0, 0);
      ctx.drawImage(tile, labelWidth + c * (cell + gap), y, cell, cell);
    });
  });
}
