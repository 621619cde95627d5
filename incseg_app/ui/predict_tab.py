"""The "Predict" tab: segment an uploaded image with the active version (or another ready one), show
the overlay and legend, and offer the mask as a VOC palette PNG download.

The Segment button's event is also the app's HTTP API endpoint ``/predict`` (``API_NAME``), so
``gradio_client`` can call it: ``Client(url).predict(handle_file("photo.jpg"), None, api_name="/predict")``
returns (status Markdown, overlay image path, legend HTML, mask PNG path); the second input is a version
id (None = the active version)."""
from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from ..domain.enums import VersionStatus
from ..services import AppContext, predict
from ..services import versions as version_svc
from .common import TabParts, guarded, legend_html, ok, warn

API_NAME = "predict"
NEXT = ("**How:** drop a photo and press *Segment*. The mask download is a palette PNG whose pixel values "
        "are the class ids (0 = background), readable by any VOC tool.")


def refresh(ctx: AppContext) -> Any:
    """Ready versions, newest first, with the active one preselected."""
    ready = version_svc.list_versions(ctx, VersionStatus.READY)
    active = version_svc.active_version(ctx)
    choices = [(f"v{v.id} {v.name}{' (active)' if active and v.id == active.id else ''}", v.id)
               for v in reversed(ready)]
    return gr.update(choices=choices, value=active.id if active else None)


@guarded(3)
def segment(ctx: AppContext, image: np.ndarray | None, version_id: int | None) -> tuple[Any, ...]:
    """Run the version on the image; the palette PNG is written to a temp file for the download."""
    if image is None:
        return warn("Upload an image first."), gr.skip(), gr.skip(), gr.skip()
    pred = predict.predict(ctx, np.asarray(image, dtype=np.uint8), int(version_id) if version_id else None)
    out = Path(tempfile.mkdtemp(prefix="incseg-predict-")) / f"mask_v{pred.version_id}.png"
    out.write_bytes(pred.png)
    found = len(pred.legend)
    return (ok(f"Segmented with v{pred.version_id}: {found} class(es) found."), pred.overlay,
            legend_html(pred.legend) or "Only background was found.", str(out))


def build_tab(ctx: AppContext) -> TabParts:
    """Widgets and handlers of the Predict tab."""
    with gr.Tab("Predict", id="predict") as tab:
        gr.Markdown(NEXT)
        status = gr.Markdown(elem_id="predict-status")
        with gr.Row():
            image = gr.Image(label="Image", type="numpy", image_mode="RGB", format="png", sources=["upload"])
            overlay = gr.Image(label="Segmentation", format="png", interactive=False, elem_id="predict-overlay")
        with gr.Row():
            version = gr.Dropdown(label="Version", choices=[])
            run = gr.Button("Segment", variant="primary", elem_id="predict-run")
        legend = gr.HTML()
        download = gr.File(label="Mask (VOC palette PNG)", interactive=False)
    run.click(partial(segment, ctx), [image, version], [status, overlay, legend, download], api_name=API_NAME)
    return TabParts(tab, partial(refresh, ctx), [version])
