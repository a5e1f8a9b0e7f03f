// Each visible text node's colour against the first opaque background behind it: the WCAG 2 contrast ratio.
// Large text (24 px, or 18.66 px bold) needs 3:1, the rest 4.5:1. Text over an image is not judged.
// Returns one line per failure. Evaluated by tests/browser/test_layout_and_contrast.py.
() => {
  const rgb = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(parseFloat); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = (el) => { for (; el; el = el.parentElement) { const s = getComputedStyle(el);
      if (s.backgroundImage !== 'none') return null; const c = rgb(s.backgroundColor); if (c && c.a > 0.99) return c; }
    return {r: 255, g: 255, b: 255, a: 1}; };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !node.textContent.trim() || el.closest('svg')) continue;
    const box = el.getBoundingClientRect(), s = getComputedStyle(el);
    if (!box.width || !box.height || s.visibility === 'hidden' || el.closest('.skip-link')) continue;
    const fg = rgb(s.color), bg = background(el);
    if (!fg || !bg) continue;
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05), size = parseFloat(s.fontSize);
    const large = size >= 24 || (parseInt(s.fontWeight, 10) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5) - 0.005) failures.push(`${el.tagName.toLowerCase()}.${el.className}: "${node.textContent.trim().slice(0, 40)}" ${ratio.toFixed(2)}:1`);
  }
  return failures;
}
