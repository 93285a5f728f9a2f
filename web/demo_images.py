"""Pictures for the demo catalog, drawn with Pillow at seed time (nothing is downloaded):
a box-art style gradient in the platform's colour, a simple geometric mark, the product
name and its edition. They go through the same path as a staff upload (checked,
re-encoded, stored, thumbnails by task), so the demo shows the real thing."""

from __future__ import annotations

import io
import textwrap

from PIL import Image, ImageDraw, ImageFont

from catalog.images import PRODUCT_IMAGE_MAX_PIXELS, product_image_add
from catalog.models import Product
from core.images import image_clean

WIDTH, HEIGHT = 1280, 960  # 4:3, like the placeholders and the card frames
# The platform colours of static/img/placeholders/.
COLOURS = {
    "windows": (11, 92, 173),
    "macos": (74, 85, 99),
    "linux": (161, 92, 0),
    "android": (31, 122, 77),
    "xbox": (29, 107, 29),
    "playstation": (29, 63, 143),
    "nintendo": (179, 18, 29),
    "steam": (27, 58, 87),
    "multi": (75, 63, 179),
}
GIFT_COLOUR = (160, 23, 79)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _mark(draw: ImageDraw.ImageDraw, *, platform: str, gift: bool, box: tuple[int, int, int]):
    """A simple white mark (no trademark): squares, a screen, a pad, a gift box..."""
    x, y, s = box  # top-left corner and size of the square the mark is drawn in
    white = (255, 255, 255, 255)
    line = max(6, s // 14)
    if gift:
        draw.rounded_rectangle((x, y + s * 0.3, x + s, y + s), radius=s // 14, fill=white)
        draw.rectangle((x + s * 0.44, y + s * 0.3, x + s * 0.56, y + s), fill=(0, 0, 0, 60))
        draw.ellipse((x + s * 0.18, y, x + s * 0.5, y + s * 0.32), outline=white, width=line)
        draw.ellipse((x + s * 0.5, y, x + s * 0.82, y + s * 0.32), outline=white, width=line)
    elif platform == "windows":
        half, gap = s // 2 - line // 2, line
        for dx in (0, half + gap):
            for dy in (0, half + gap):
                draw.rounded_rectangle(
                    (x + dx, y + dy, x + dx + half, y + dy + half), radius=s // 20, fill=white
                )
    elif platform in ("xbox", "multi"):
        draw.ellipse((x, y, x + s, y + s), outline=white, width=line)
        draw.ellipse((x + s * 0.3, y + s * 0.3, x + s * 0.7, y + s * 0.7), fill=white)
    elif platform in ("playstation", "nintendo"):
        draw.rounded_rectangle((x, y + s * 0.22, x + s, y + s * 0.78), radius=s // 4, fill=white)
        for cx, cy in ((0.27, 0.5), (0.73, 0.42), (0.73, 0.58)):
            r = s * 0.07
            draw.ellipse(
                (x + s * cx - r, y + s * cy - r, x + s * cx + r, y + s * cy + r), fill=(0, 0, 0, 90)
            )
    elif platform == "steam":
        for i in range(3):
            top = y + s * (0.15 + 0.3 * i)
            draw.arc((x, top, x + s / 2, top + s * 0.3), 180, 360, fill=white, width=line)
            draw.arc((x + s / 2, top, x + s, top + s * 0.3), 0, 180, fill=white, width=line)
    else:  # a screen: macOS, Linux, Android
        draw.rounded_rectangle(
            (x, y + s * 0.1, x + s, y + s * 0.72), radius=s // 12, outline=white, width=line
        )
        draw.rounded_rectangle(
            (x + s * 0.3, y + s * 0.8, x + s * 0.7, y + s * 0.88), radius=8, fill=white
        )


def demo_image_bytes(
    *, name: str, edition: str, platform: str, platform_label: str, gift: bool
) -> bytes:
    """A PNG of the product's box art."""
    colour = GIFT_COLOUR if gift else COLOURS.get(platform, COLOURS["multi"])
    dark = tuple(int(c * 0.55) for c in colour)
    image = Image.new("RGB", (WIDTH, HEIGHT), colour)
    side = 2 * max(WIDTH, HEIGHT)  # rotate a larger square, then crop: no bare corners
    gradient = Image.linear_gradient("L").resize((side, side)).rotate(-35)
    left, top = (side - WIDTH) // 2, (side - HEIGHT) // 2
    gradient = gradient.crop((left, top, left + WIDTH, top + HEIGHT))
    image = Image.composite(Image.new("RGB", (WIDTH, HEIGHT), dark), image, gradient)
    overlay = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.ellipse((WIDTH - 520, -260, WIDTH + 260, 520), fill=(255, 255, 255, 22))
    draw.ellipse((-240, HEIGHT - 380, 420, HEIGHT + 280), fill=(255, 255, 255, 16))
    _mark(draw, platform=platform, gift=gift, box=(96, 110, 200))
    draw.text((96, 360), platform_label.upper(), font=_font(40), fill=(255, 255, 255, 210))
    lines = textwrap.wrap(name, width=20)[:3]
    top = 430
    for text in lines:
        draw.text((96, top), text, font=_font(92), fill=(255, 255, 255, 255))
        top += 108
    if edition:
        pill = draw.textlength(edition, font=_font(44))
        draw.rounded_rectangle(
            (96, top + 24, 96 + 40 + pill, top + 100),
            radius=38,
            fill=(255, 255, 255, 235),
        )
        draw.text((114, top + 38), edition, font=_font(44), fill=dark + (255,))
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def demo_seed(*, stdout, keys_per_product: int = 0) -> None:
    """Give every on-sale product without a picture its drawn box art (safe to run twice)."""
    made = 0
    for product in Product.objects.filter(is_active=True, images__isnull=True):
        data = demo_image_bytes(
            name=product.name,
            edition=product.edition,
            platform=product.platform,
            platform_label=str(product.get_platform_display()),
            gift=product.kind == "gift_code",
        )
        clean = image_clean(data=data, max_pixels=PRODUCT_IMAGE_MAX_PIXELS)
        product_image_add(product=product, image=clean, alt_text="")
        made += 1
    stdout.write(f"Product pictures: {made} drawn.")
