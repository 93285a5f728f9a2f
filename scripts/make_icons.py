"""Draw the shop's logo mark (a key on the brand blue) as the SVG and the PNG/ICO icons
under static/icons/. The files are committed; run this again after changing the mark:

    .venv/bin/python scripts/make_icons.py

The SVG and the bitmaps come from the same shapes below (a 64-unit square), so they
always match. Bitmaps are drawn 8x larger and scaled down for smooth edges.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "static" / "icons"
BRAND = "#0b5cad"
INK = "#ffffff"
UNIT = 64
RADIUS = 14
# (kind, colour, geometry) in the 64-unit square, drawn in order.
SHAPES = [
    ("circle", INK, (22, 32, 11)),  # the key's bow
    ("circle", BRAND, (22, 32, 4.5)),  # its hole
    ("rect", INK, (30, 29, 52, 35)),  # the shaft
    ("rect", INK, (42, 35, 46, 42)),  # two teeth
    ("rect", INK, (48, 35, 52, 40)),
]


def svg_render() -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {UNIT} {UNIT}" '
        f'width="{UNIT}" height="{UNIT}" role="img" aria-label="Keystore">',
        f'<rect width="{UNIT}" height="{UNIT}" rx="{RADIUS}" fill="{BRAND}"/>',
    ]
    for kind, colour, g in SHAPES:
        if kind == "circle":
            parts.append(f'<circle cx="{g[0]}" cy="{g[1]}" r="{g[2]}" fill="{colour}"/>')
        else:
            x0, y0, x1, y1 = g
            parts.append(
                f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="{colour}"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png_render(*, size: int, rounded: bool = True) -> Image.Image:
    scale = size * 8 / UNIT
    big = Image.new("RGBA", (size * 8, size * 8), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    extent = (0, 0, size * 8 - 1, size * 8 - 1)
    if rounded:
        draw.rounded_rectangle(extent, radius=RADIUS * scale, fill=BRAND)
    else:  # phones round the corners themselves and want no transparency
        draw.rectangle(extent, fill=BRAND)
    for kind, colour, g in SHAPES:
        if kind == "circle":
            cx, cy, r = (v * scale for v in g)
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        else:
            draw.rectangle(tuple(v * scale for v in g), fill=colour)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "logo-mark.svg").write_text(svg_render())
    png_render(size=48).save(OUT / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])
    png_render(size=180, rounded=False).convert("RGB").save(OUT / "apple-touch-icon.png")
    for size in (192, 512):
        png_render(size=size).save(OUT / f"icon-{size}.png", optimize=True)
    print(f"icons written to {OUT}")


if __name__ == "__main__":
    main()
