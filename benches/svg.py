"""Small SVG charts for the benchmark reports, written by the scripts that measure (no plotting package).

bar_chart: one horizontal bar per row on a log scale (the values span orders of magnitude), its value
           written beside it, the first row (s3meta) highlighted.
line_chart: points joined by a line over a log2 x axis, each labelled with its value.
"""
import html
import math

FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"
OURS, OTHERS, INK, GRID = "#1f6fb4", "#9aa7b4", "#222", "#ddd"


def _text(x, y, s, size=12, anchor="start", weight="normal", fill=INK):
    return "<text x='%.1f' y='%.1f' font-size='%d' text-anchor='%s' font-weight='%s' fill='%s' %s>%s</text>" % (
        x, y, size, anchor, weight, fill, FONT, html.escape(s))


def _write(path, width, height, parts):
    with open(path, "w") as f:
        f.write("<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d'>\n" % (
            width, height, width, height))
        f.write("<rect width='100%' height='100%' fill='white'/>\n")
        f.write("\n".join(parts))
        f.write("\n</svg>\n")


def bar_chart(path, title, subtitle, panels):
    """panels: [(heading, unit, [(label, value), ...]), ...], drawn side by side; smaller is better."""
    label_w, bar_w, gap, row_h = 130, 260, 40, 22
    rows = max(len(p[2]) for p in panels)
    width = 20 + len(panels) * (label_w + bar_w + 70) + (len(panels) - 1) * gap
    height = 70 + rows * row_h + 30
    parts = [_text(20, 24, title, 16, weight="bold"), _text(20, 44, subtitle, 12, fill="#555")]
    x0 = 20
    for heading, unit, data in panels:
        top = 70
        parts.append(_text(x0 + label_w, top - 8, "%s (%s, log scale)" % (heading, unit), 12, weight="bold"))
        values = [v for _, v in data if v > 0] or [1]
        lo, hi = min(values) / 3, max(values)
        for i, (label, value) in enumerate(data):
            y = top + i * row_h
            w = max(1.0, bar_w * math.log(max(value, lo) / lo) / math.log(hi / lo))
            colour = OURS if i == 0 else OTHERS
            parts.append(_text(x0 + label_w - 8, y + 15, label, 12, anchor="end",
                               weight="bold" if i == 0 else "normal"))
            parts.append("<rect x='%.1f' y='%.1f' width='%.1f' height='%d' fill='%s'/>" % (
                x0 + label_w, y + 3, w, row_h - 6, colour))
            shown = "%.2f" % value if value < 10 else "%.1f" % value if value < 100 else "%.0f" % value
            parts.append(_text(x0 + label_w + w + 5, y + 15, shown, 11))
        x0 += label_w + bar_w + 70 + gap
    _write(path, width, height, parts)


def line_chart(path, title, subtitle, points, xlabel, ylabel):
    """points: [(x, y)], x > 0 drawn on a log2 axis."""
    width, height, left, right, top, bottom = 560, 330, 70, 20, 60, 50
    xs = [math.log2(x) for x, _ in points]
    ymax = max(y for _, y in points) * 1.15 or 1
    px = lambda lx: left + (lx - min(xs)) / ((max(xs) - min(xs)) or 1) * (width - left - right)
    py = lambda y: height - bottom - y / ymax * (height - top - bottom)
    parts = [_text(20, 24, title, 16, weight="bold"), _text(20, 44, subtitle, 12, fill="#555")]
    for frac in (0, 0.25, 0.5, 0.75, 1.0):
        y = ymax * frac
        parts.append("<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='%s'/>" % (left, width - right, py(y), py(y), GRID))
        parts.append(_text(left - 6, py(y) + 4, "%.0fk" % (y / 1000), 11, anchor="end", fill="#555"))
    path_d = " ".join("%s%.1f,%.1f" % ("M" if i == 0 else "L", px(lx), py(y)) for i, (lx, (_, y)) in enumerate(zip(xs, points)))
    parts.append("<path d='%s' fill='none' stroke='%s' stroke-width='2'/>" % (path_d, OURS))
    for lx, (x, y) in zip(xs, points):
        parts.append("<circle cx='%.1f' cy='%.1f' r='4' fill='%s'/>" % (px(lx), py(y), OURS))
        parts.append(_text(px(lx), py(y) - 9, "%.0fk" % (y / 1000), 11, anchor="middle"))
        parts.append(_text(px(lx), height - bottom + 18, str(x), 11, anchor="middle"))
    parts.append(_text((left + width - right) / 2, height - 10, xlabel, 12, anchor="middle"))
    parts.append("<text x='16' y='%d' font-size='12' transform='rotate(-90 16 %d)' text-anchor='middle' %s>%s</text>" % (
        (top + height - bottom) / 2, (top + height - bottom) / 2, FONT, html.escape(ylabel)))
    _write(path, width, height, parts)
