"""Fonts for the report's figures: a CJK font for Chinese text, found or warned about.

matplotlib measures and draws text with its own font list.  Chinese labels
need a font with CJK glyphs (Debian/Ubuntu: ``apt-get install fonts-noto-cjk``);
without one, matplotlib would draw empty boxes ("tofu"), so the report warns
once, naming the package to install, and goes on.
"""

from __future__ import annotations

import functools
import warnings

#: CJK families tried in order (Noto/Source Han first: free, and what CI installs).
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "Noto Serif CJK SC",
)

BASE_FAMILIES = ["DejaVu Sans"]


class FontWarning(UserWarning):
    """No font for the report's language was found; figures may show empty boxes."""


@functools.cache
def cjk_family() -> str | None:
    """The first installed CJK family of :data:`CJK_FAMILIES`, or None.

    Fonts installed after matplotlib built its font cache are registered
    here, so a fresh ``fonts-noto-cjk`` is found without clearing the cache.
    """
    from matplotlib import font_manager as fm

    def known() -> str | None:
        names = {f.name for f in fm.fontManager.ttflist}
        return next((f for f in CJK_FAMILIES if f in names), None)

    found = known()
    if found is None:
        hints = ("CJK", "SourceHan", "wqy", "WenQuanYi", "msyh", "PingFang", "simhei")
        for path in fm.findSystemFonts():
            if any(h.lower() in path.lower() for h in hints):
                try:
                    fm.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue  # an unreadable font file: try the others
        found = known()
    return found


def font_families(lang: str) -> list[str]:
    """matplotlib's ``font.family`` list for ``lang``: DejaVu Sans, then a CJK family for Chinese.

    Warns (:class:`FontWarning`) when Chinese is asked for and no CJK font is installed.
    """
    if lang != "zh":
        return list(BASE_FAMILIES)
    family = cjk_family()
    if family is None:
        warnings.warn(
            "no CJK font found, so the figures' Chinese text may show as empty boxes; install one "
            "(Debian/Ubuntu: apt-get install fonts-noto-cjk; any of: " + ", ".join(CJK_FAMILIES[:5]) + ")",
            FontWarning,
            stacklevel=3,
        )
        return list(BASE_FAMILIES)
    return [*BASE_FAMILIES, family]
