"""The Gradio front end: the page, its HTTP API and its MCP tool, over the service and the pipeline.

The engine never imports this package. Importing it prepares Gradio's environment before Gradio is
imported (Gradio reads these variables at import): no analytics, and a cache folder of the app's own
(see :func:`gfpgan_core.web.settings.prepare_environment`).

Modules, from the bottom: ``settings`` (limits, ranges, paths), ``text`` (what the page says),
``outputs`` (files, gallery, ZIPs, summaries), ``state`` (Stop requests, cost model, ZeroGPU),
``jobs`` (Gradio-free work: one photo, a batch, a comparison, the estimate, examples),
``components`` (validated widgets, received-files-only inputs), ``handlers`` (the endpoints),
``layout`` (the page), ``events`` (wiring), ``guard`` and ``diskbudget`` (what a client may cost),
``server`` (arguments and launch).
"""

from .settings import prepare_environment

prepare_environment()
