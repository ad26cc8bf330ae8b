"""Figure style, a CJK font that works on a fresh machine, and the one helper that saves figures.

Plot functions live in this package's modules (one function per figure, each returns a
:class:`matplotlib.figure.Figure` and writes nothing); :func:`save_figure` is the only place a figure
becomes a file, so every PNG/SVG of the project is written the same reproducible way.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.figure import Figure

from .. import config
from ..tables import write_bytes_atomically

# Families tried first, in order, when the machine already has them (SIL OFL or system faces); any
# regional Noto/Source Han face covers both Simplified and Traditional characters.
_SYSTEM_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "Source Han Sans TC",
    "WenQuanYi Zen Hei",
    "PingFang SC",
    "Microsoft YaHei",
)
# Shipped by the ``mplfonts`` dependency (Noto Sans CJK SC, SIL OFL): the fallback on a bare machine.
_BUNDLED_FONT = "NotoSansCJKsc-Regular.otf"

FIGURE_DPI = 150
# Byte-identical files: no timestamps, no software version, a fixed SVG id salt.
_METADATA = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}


@lru_cache(maxsize=1)
def cjk_font_family() -> str:
    """Return the name of a font family with CJK glyphs, registering the bundled one if needed."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for family in _SYSTEM_CJK_FAMILIES:
        if family in installed:
            return family
    import mplfonts

    path = Path(mplfonts.__file__).resolve().parent / "fonts" / _BUNDLED_FONT
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def apply_style() -> str:
    """Set the project's matplotlib/seaborn style with a CJK font; returns the font family used."""
    import seaborn as sns

    family = cjk_font_family()
    sns.set_theme(style="whitegrid", context="notebook", font=family)
    plt.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [family, "DejaVu Sans"],
            "axes.unicode_minus": False,  # CJK faces lack U+2212
            "svg.hashsalt": "policy-analysis",
            "svg.fonttype": "path",
            "figure.dpi": 100,
            "savefig.dpi": FIGURE_DPI,
            "savefig.bbox": "tight",
        }
    )
    return family


def save_figure(fig: Figure, name: str, out_dir: str | Path = config.FIGURES_DIR, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write ``fig`` as ``out_dir/name.{png,svg}`` reproducibly and atomically; return the paths."""
    out_dir = Path(out_dir)
    payloads = []
    for fmt in formats:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata=_METADATA.get(fmt))
        payloads.append((out_dir / f"{name}.{fmt}", buf.getvalue()))
    write_bytes_atomically(payloads)
    return [p for p, _ in payloads]
