"""SVG pictures as ``<img>`` data URIs: JupyterLab's sanitiser keeps them in an untrusted notebook
(a bare ``<svg>`` it strips), and an exported page carries them whole, needing no network."""

from __future__ import annotations


def data_uri(svg: str) -> str:
    """``svg`` (markup with single-quoted attributes) as a ``data:`` URI, escaped for a URL. The
    quotes are escaped here too: in an HTML attribute each would otherwise cost six bytes."""
    return "data:image/svg+xml," + (
        svg.replace("%", "%25").replace("<", "%3C").replace(">", "%3E").replace("#", "%23").replace(" ", "%20")
        .replace("'", "%27").replace('"', "%22")
    )  # fmt: skip
