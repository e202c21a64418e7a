"""The demo shop's products: PRODUCT_COUNT of them, each derived from its number.

A fixed formula turns a number into a product (sku, name, price, currency), so
the shop's pages and API answer the same on every run. Served by
scripts/demo_site.py.
"""

from typing import Any

PRODUCT_COUNT = 500

_ADJECTIVES = ("Sturdy", "Elegant", "Compact", "Rustic", "Modern", "Classic", "Cosy", "Handmade")
_MATERIALS = ("Oak", "Steel", "Linen", "Copper", "Walnut", "Bamboo", "Wool", "Glass", "Ceramic")
_ITEMS = (
    "Chair",
    "Lamp",
    "Kettle",
    "Blanket",
    "Vase",
    "Desk",
    "Mug",
    "Shelf",
    "Clock",
    "Salt & Pepper Mill",
    "Cutting Board",
)
_CURRENCIES = ("EUR", "USD", "GBP")


def _mix(n: int) -> int:
    """A fixed 32-bit scramble of ``n`` (the "lowbias32" integer hash)."""
    h = n & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 0x7FEB352D) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x846CA68B) & 0xFFFFFFFF
    return h ^ (h >> 16)


def product(n: int) -> dict[str, Any]:
    """Product ``n`` as a scraper should find it: sku, name, price and currency."""
    if not 1 <= n <= PRODUCT_COUNT:
        raise ValueError(f"no product {n}: products are numbered 1..{PRODUCT_COUNT}")
    h = _mix(n)
    name = " ".join(
        (
            _ADJECTIVES[h % len(_ADJECTIVES)],
            _MATERIALS[(h >> 4) % len(_MATERIALS)],
            _ITEMS[(h >> 8) % len(_ITEMS)],
        )
    )
    cents = 199 + (h >> 12) % 49_800
    return {
        "sku": f"SG-{n:04d}-{h % 97:02d}",
        "name": name,
        "price": cents / 100,
        "currency": _CURRENCIES[(h >> 24) % len(_CURRENCIES)],
    }
