/** The charts' palette and font: one colour per meaning (op, outcome, mark), the same on every chart. */
export const COLORS = {
  readOk: '#1f77b4',
  writeOk: '#2ca02c',
  readFailed: '#d62728',
  writeFailed: '#ff7f0e',
  readWindow: 'rgba(214, 39, 40, 0.14)',
  writeWindow: 'rgba(255, 127, 14, 0.16)',
  full: 'rgba(150, 0, 0, 0.85)',
  action: '#333333',
  phase: '#7b3fa0',
  fault: '#8b0000',
  identity: '#777777',
  lost: '#9400d3',
  grid: '#e5e5e5',
  gap: 'rgba(90, 90, 90, 0.22)',
  stall: 'rgba(31, 119, 180, 0.2)',
  lagMax: '#6a3d9a',
  lagLast: '#cab2d6',
  lagSelf: 'rgba(44, 160, 44, 0.14)',
  lagNone: 'rgba(90, 90, 90, 0.22)',
} as const;

export const FONT = { family: 'DejaVu Sans, sans-serif' };
