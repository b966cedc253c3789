"""The page's theme: Gradio's default, with the colours and fonts WCAG 2.2 AA asks of what the page
controls (text and buttons at least 4.5:1 against their background) and a font the machine has.

Measured on Gradio's default (axe-core in Chromium, 2026-12-03): white on the orange Restore button
2.80:1 (hover 3.55:1), white on the red Stop 3.76:1, the grey of info text, slider ends, the upload
box's "or" and the footer link 1.9:1. Here: Restore white on orange-700 5.18:1 (hover orange-800
7.31:1), Stop on red-700 6.47:1 (hover red-800 8.31:1), grey text zinc-600 7.73:1 on white (7.02:1
on the secondary fill). The default's first font, Source Sans Pro, is fetched from Google (never,
offline) or taken from a bundled subset whose semibold holds only "A" and "B": the title mixed two
typefaces. The system's own sans-serif has the whole alphabet on every machine.

Front-end code: Gradio-only, no engine imports.
"""

from __future__ import annotations

import gradio as gr

FONT = ("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif")
FONT_MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace")


def theme() -> gr.themes.Base:
    """Gradio's default theme with AA contrast and a whole-alphabet font (light and dark alike)."""
    return gr.themes.Default(font=FONT, font_mono=FONT_MONO).set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_hover_dark="*primary_800",
        button_cancel_background_fill="#b91c1c",
        button_cancel_background_fill_dark="#b91c1c",
        button_cancel_background_fill_hover="#991b1b",
        button_cancel_background_fill_hover_dark="#991b1b",
        body_text_color_subdued="*neutral_600",
        body_text_color_subdued_dark="*neutral_400",
    )
