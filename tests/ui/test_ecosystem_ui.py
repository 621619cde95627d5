"""The ecosystem pieces in the UI: the dataset export zip (VOC or COCO), the model bundle download in
the Versions tab, and the predict endpoint called through ``gradio_client`` on a launched app."""
from __future__ import annotations

import json
import socket
import zipfile

import numpy as np
import pytest
from PIL import Image

from incseg_app.services import StoreSettings, datasets, masks, open_store, training
from incseg_app.ui import images_tab, predict_tab, versions_tab
from incseg_app.ui.app import build_app
from ui_helpers import SIZE, add_pseudo, ctx, filled, plain, scene_png  # noqa: F401


@pytest.mark.parametrize("fmt", ["voc", "coco"])
def test_export_zip_imports_back_with_the_same_masks(filled, tmp_path, fmt):
    status, path = images_tab.export_dataset(filled, fmt)
    assert fmt.upper() in plain(status) and zipfile.is_zipfile(path)
    names = zipfile.ZipFile(path).namelist()
    assert any(n.endswith("instances_val.json" if fmt == "coco" else "classes.json") for n in names)
    second = open_store(tmp_path / "second", StoreSettings())
    try:
        assert datasets.import_dataset(second, path).masks == 2
        heads = [masks.read_mask(second, m.id) for m in masks.head_masks(second).values()]
        assert all(np.array_equal(h, heads[0]) for h in heads) and set(np.unique(heads[0])) == {1, 2}
    finally:
        second.close()


def test_bundle_download_in_versions_tab(filled):
    assert versions_tab.download_bundle(filled, None)[0] == "Pick a version first."
    add_pseudo(filled, [0.5, 0.5, 0.5, 0.5])
    version = training.train_step(filled, training.TrainRequest(method="finetune", epochs=1))
    status, path = versions_tab.download_bundle(filled, version.id)
    assert "predict.py" in plain(status)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read(f"incseg-v{version.id}/bundle.json"))
        assert {f"incseg-v{version.id}/{n}" for n in ("model.onnx", "predict.py")} <= set(z.namelist())
    assert [c["name"] for c in meta["classes"]] == ["background", "sky", "grass"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gradio_client_calls_the_predict_endpoint(filled, tmp_path):
    from gradio_client import Client, handle_file

    add_pseudo(filled, [0.5, 0.5, 0.5, 0.5])
    version = training.train_step(filled, training.TrainRequest(method="finetune", epochs=1))
    photo = tmp_path / "photo.png"
    photo.write_bytes(scene_png(5))
    demo = build_app(filled)
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        assert f"/{predict_tab.API_NAME}" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        status, overlay, legend, mask_path = client.predict(handle_file(str(photo)), None,
                                                            api_name=f"/{predict_tab.API_NAME}")
    finally:
        demo.close()
    assert f"v{version.id}" in status
    mask = np.asarray(Image.open(mask_path))
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    from incseg_app.services.predict import predict

    assert mask.shape == (SIZE, SIZE) and np.array_equal(mask, predict(filled, rgb).mask)
