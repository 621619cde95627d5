"""Incrementer parts: token freezing, FOD, CDS/Dice, entropy pseudo-labels, the method bundle."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from incseg_app.domain.config import MethodConfig, ModelConfig, TrainConfig
from incseg_app.domain.errors import ValidationError
from incseg_app.methods.incrementer import (
    INCREMENTER, ClassDeconfusion, DeconfusionOptions, EntropyPseudoLabels, FocusedOldDistillation, PseudoOptions,
    TokenGrowthFreeze, TokenOptions, class_token_distillation, dice_loss, entropy_pseudo_labels, focus_weights,
    median_thresholds, normalised_entropy, old_class_region, plop_code_thresholds, plop_entropy,
    visual_token_distillation,
)
from incseg_app.methods.parts import Batch, StepContext, StepInfo, StepRun
from incseg_app.models import build_model
from incseg_app.models.outputs import SegOutput

TINY = ModelConfig(encoder="tiny", embed_dim=32, decoder_heads=4, decoder_layers=1)
STEP1 = StepInfo(step=1, old_channels=(0, 1, 2), new_channels=(3, 4), channel_steps=(0, 0, 0, 1, 1))


def _models():
    """Old tiny model with 3 channels and the same model grown by a 2-class step."""
    old = build_model(TINY, (3,)).eval()
    new = copy.deepcopy(old)
    new.grow(2)
    return old, new.train()


def _run(model, old_model, step=STEP1) -> StepRun:
    return StepRun(model=model, old_model=old_model, step=step, method=MethodConfig(name="incrementer"),
                   train=TrainConfig(), device=torch.device("cpu"))


def _ctx(run: StepRun, out: SegOutput, old_out: SegOutput | None, labels: torch.Tensor) -> StepContext:
    b, h, w = labels.shape
    batch = Batch(images=torch.zeros(b, 3, h, w), labels=labels, weak=torch.zeros(b, dtype=torch.bool),
                  confidence=torch.ones(b, h, w), tags=torch.ones(b, run.step.num_classes),
                  image_ids=torch.arange(b))
    return StepContext(run=run, batch=batch, out=out, old_out=old_out, labels=labels,
                       channel_weights=torch.ones(run.step.num_classes))


def _train_step(part: TokenGrowthFreeze | None, model, old_model, optimiser_cls=torch.optim.AdamW) -> None:
    """One real optimiser step with CE on random labels, calling the part's roles like the loop."""
    run = _run(model, old_model)
    if part is not None:
        part.on_step_start(run)
    opt = optimiser_cls([p for p in model.parameters() if p.requires_grad], lr=0.05)
    images = torch.rand(2, 3, 32, 32)
    labels = torch.randint(0, 5, (2, 32, 32))
    out = model(images)
    ctx = _ctx(run, out, None, labels)
    if part is not None:
        part.before_loss(ctx)
    F.cross_entropy(out.logits, labels).backward()
    opt.step()
    if part is not None:
        part.after_update(ctx)


@pytest.mark.parametrize("train_background", [True, False])
def test_frozen_old_tokens_do_not_change_after_an_optimiser_step(train_background):
    old, model = _models()
    tokens0 = [t.detach().clone() for t in model.token_groups]
    biases0 = [b.detach().clone() for b in model.bias_groups]
    part = TokenGrowthFreeze(TokenOptions(mode="frozen", train_background=train_background))
    _train_step(part, model, old)
    assert torch.equal(model.token_groups[0][1:], tokens0[0][1:])
    assert torch.equal(model.bias_groups[0][1:], biases0[0][1:])
    assert not torch.equal(model.token_groups[1], tokens0[1])  # the new step's tokens learn
    assert torch.equal(model.token_groups[0][0], tokens0[0][0]) is not train_background
    assert model.token_groups[0].requires_grad is train_background
    part.on_step_end(_run(model, old))
    assert model.token_groups[0].requires_grad and model.bias_groups[0].requires_grad


def test_low_lr_scales_the_old_rows_update_even_with_adam():
    old, model = _models()
    reference = copy.deepcopy(model)
    start = model.token_groups[0].detach().clone()
    torch.manual_seed(1)
    _train_step(TokenGrowthFreeze(TokenOptions(mode="low_lr", lr_mult=0.1, train_background=False)), model, old,
                torch.optim.Adam)
    torch.manual_seed(1)
    _train_step(None, reference, old, torch.optim.Adam)
    moved = model.token_groups[0].detach() - start
    moved_ref = reference.token_groups[0].detach() - start
    assert moved_ref.abs().max() > 1e-3
    torch.testing.assert_close(moved, 0.1 * moved_ref, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(model.token_groups[1], reference.token_groups[1])  # new rows: full rate


def test_fod_is_zero_for_identical_models():
    old, model = _models()
    model.eval()  # batch-norm statistics as in the old model; growth keeps old outputs bit for bit
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        old_out = old(images)
    out = model(images)
    labels = torch.randint(0, 5, (2, 32, 32))
    losses = FocusedOldDistillation().losses(_ctx(_run(model, old), out, old_out, labels))
    assert set(losses) == {"inc_fod_visual", "inc_fod_token"}
    assert losses["inc_fod_visual"].item() == 0.0
    assert losses["inc_fod_token"].item() == 0.0


def test_fod_visual_ignores_new_class_pixels_and_matches_a_hand_value():
    old = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]).reshape(1, 2, 3, 1)  # B×D×h×w, 3 pixels
    new = torch.tensor([[0.0, -1.0, 0.3], [1.0, 0.0, 0.7]]).reshape(1, 2, 3, 1)
    labels = torch.tensor([[[1], [0], [3]]])  # old class, background, new class
    # pixel 0: 1 - cos = 1; pixel 1 (background, weight 0.25): 2 * 0.25; pixel 2 excluded; mean over 2.
    loss = visual_token_distillation(new, old, labels, (3, 4), background_weight=0.25)
    assert loss.item() == pytest.approx((1.0 + 0.5) / 2)
    changed = new.clone()
    changed[:, :, 2] = torch.tensor([-5.0, 2.0])[None, :, None]
    assert visual_token_distillation(changed, old, labels, (3, 4), background_weight=0.25).item() == loss.item()
    changed[:, :, 0] = torch.tensor([1.0, 0.0])[None, :, None]
    assert visual_token_distillation(changed, old, labels, (3, 4), background_weight=0.25).item() == pytest.approx(0.25)


def test_fod_visual_pools_labels_per_cell():
    old = F.normalize(torch.randn(1, 4, 2, 2), dim=1)
    new = F.normalize(torch.randn(1, 4, 2, 2), dim=1)
    labels = torch.full((1, 8, 8), 3)  # all new at full resolution...
    labels[:, 0:4, 0:4] = 1  # ...except the top-left quarter, which is the feature pixel (0, 0)
    expected = 1.0 - F.cosine_similarity(new[:, :, 0, 0], old[:, :, 0, 0], dim=1).item()
    assert visual_token_distillation(new, old, labels, (3,)).item() == pytest.approx(expected, abs=1e-6)


def test_fod_leaves_out_partly_new_cells_and_weighs_unsure_pixels_like_background():
    labels = torch.tensor([[[1, 1, 3, 1], [1, 1, 1, 1], [0, 0, 255, 255], [0, 0, 255, 255]]])  # 4×4 -> 2×2 cells
    weights, counted = focus_weights(labels, (2, 2), (3,), background_weight=0.5)
    # cell (0, 1) holds one new pixel: left out, even though nearest sampling would read an old pixel
    assert counted.tolist() == [[[True, False], [True, True]]]
    # old-class cell 1, background cell 0.5, unsure cell 0.5 (never above background)
    torch.testing.assert_close(weights, torch.tensor([[[1.0, 0.0], [0.5, 0.5]]]))
    channel_weights = torch.tensor([1.0, 2.0, 1.0, 1.0])
    weights2, _ = focus_weights(labels, (2, 2), (3,), channel_weights, background_weight=0.5)
    assert weights2[0, 0, 0].item() == pytest.approx(2.0) and weights2[0, 1, 1].item() == pytest.approx(0.5)


def test_fod_token_averages_old_channels_only():
    old = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])  # 1×K_old=2×D=2
    new = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]])  # channel 2 is new
    assert class_token_distillation(new, old, (0, 1)).item() == pytest.approx(0.5)
    weights = torch.tensor([1.0, 3.0, 1.0])
    assert class_token_distillation(new, old, (0, 1), weights).item() == pytest.approx(1.5)


def test_dice_loss_on_hand_made_maps():
    target = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    valid = torch.ones(1, 4, dtype=torch.bool)
    assert dice_loss(target, target.bool(), valid).item() == 0.0
    disjoint = torch.zeros(10, 10)
    disjoint[:5] = 1.0
    assert dice_loss(disjoint, disjoint == 0, torch.ones(10, 10, dtype=torch.bool)).item() == pytest.approx(1.0, abs=0.01)
    prob = torch.tensor([[0.5, 0.5, 0.0, 1.0]])
    # inter = 0.5 + 1 = 1.5, Σm = 2, Σt = 2: 1 - (3 + 1) / (4 + 1) = 0.2
    assert dice_loss(prob, target.bool(), valid).item() == pytest.approx(0.2)
    prob_ignored = torch.tensor([[0.5, 0.5, 0.0, 1.0, 1.0]])
    target_ignored = torch.tensor([[True, False, False, True, True]])
    valid_ignored = torch.tensor([[True, True, True, True, False]])
    assert dice_loss(prob_ignored, target_ignored, valid_ignored).item() == pytest.approx(0.2)


def test_cds_scales_only_new_channel_weights_and_returns_dice():
    old, model = _models()
    images = torch.rand(1, 3, 64, 64)
    labels = torch.zeros(1, 64, 64, dtype=torch.long)
    labels[:, :32] = 3
    labels[:, -2:] = 255
    ctx = _ctx(_run(model, old), model(images), None, labels)
    part = ClassDeconfusion(DeconfusionOptions(new_class_weight=0.25))
    part.before_loss(ctx)
    assert ctx.channel_weights.tolist() == [1.0, 1.0, 1.0, 0.25, 0.25]
    m = ctx.out.logits.softmax(1)[:, 3:].sum(1)
    expected = dice_loss(m, labels == 3, labels != 255)
    assert part.losses(ctx)["inc_cds_dice"].item() == pytest.approx(expected.item())
    assert "inc_cds_old_dice" not in part.losses(ctx)  # no old model in this context
    base = StepInfo(step=0, old_channels=(), new_channels=(0, 1, 2), channel_steps=(0, 0, 0))
    ctx0 = _ctx(_run(old, None, base), old(images), None, torch.zeros(1, 64, 64, dtype=torch.long))
    part.before_loss(ctx0)
    assert ctx0.channel_weights.tolist() == [1.0, 1.0, 1.0]
    assert part.losses(ctx0) == {}


def test_cds_old_dice_trains_the_old_class_map_on_the_old_models_region():
    old, model = _models()
    images = torch.rand(1, 3, 64, 64)
    labels = torch.zeros(1, 64, 64, dtype=torch.long)
    labels[:, :8] = 3  # new class
    with torch.no_grad():
        old_out = old(images)
    old_out.logits[:, 1, 32:] = 50.0  # the old model sees class 1 in the lower half
    ctx = _ctx(_run(model, old), model(images), old_out, labels)
    region = old_class_region(labels, old_out.logits, (3, 4))
    assert bool(region[:, 32:].all()) and not bool(region[:, :8].any())
    losses = ClassDeconfusion().losses(ctx)
    p_old = ctx.out.logits.softmax(1)[:, 1:3].sum(1)
    assert losses["inc_cds_old_dice"].item() == pytest.approx(dice_loss(p_old, region, labels != 255).item())
    losses["inc_cds_old_dice"].backward()
    assert model.token_groups[0].grad is not None


def test_plop_entropy_units_match_the_released_code():
    probs = torch.tensor([0.7, 0.2, 0.1]).view(1, 3, 1, 1)
    h = -(probs * probs.log()).sum()
    # PLOP: entropy = -(1/ln K_old) * mean_c p ln p, then divided by ln(K) with K = K_old + new classes
    plop = float(-(probs * probs.log()).mean() / math.log(3) / math.log(5))
    assert plop_entropy(probs, 5).item() == pytest.approx(plop)
    assert normalised_entropy(probs).item() == pytest.approx(float(h / math.log(3)))


def test_plop_code_thresholds_reproduce_the_released_find_median():
    hist = torch.zeros(5, 100, dtype=torch.long)
    hist[1, 0], hist[1, 3] = 80, 20  # bin 0 holds more than half -> 0.01 * (50 / 80)
    hist[2, 0], hist[2, 1], hist[2, 2] = 30, 30, 40  # no bin holds half; few pixels: the code gets -inf
    hist[3, 0], hist[3, 1], hist[3, 2] = 30_000, 30_000, 40_000  # ... many pixels: +inf (x / 0)
    hist[4, 2] = 10  # bin 2 holds everything; running sum 0 + 1 before it -> 0.02 + 0.01 * 4 / 10
    t = plop_code_thresholds(hist)
    assert t[0].item() == 0.0 and t[1].item() == pytest.approx(0.01 * 50 / 80)
    assert t[2].item() == -math.inf and t[3].item() == math.inf
    assert t[4].item() == pytest.approx(0.02 + 0.01 * 4 / 10)
    m = median_thresholds(hist)
    assert m[1].item() == pytest.approx(0.01 * 50 / 80) and m[2].item() == pytest.approx(0.01 + 0.01 * 20 / 30)


def _pseudo_ctx(rule: str = "plop", ignore_uncertain: bool = True):
    """Old model over a 1×100×200 background-labelled map (channels 0, 1, 2; the current model has 4):
    columns 0-119 confident class 1, 120-199 unsure class 1; row 0 is labelled new, row 1 ignore."""
    probs = torch.tensor([0.001, 0.998, 0.001]).view(1, 3, 1, 1).repeat(1, 1, 100, 200)
    probs[..., 120:] = torch.tensor([0.2, 0.6, 0.2]).view(1, 3, 1, 1)
    logits = probs.log()
    labels = torch.zeros(1, 100, 200, dtype=torch.long)
    labels[:, 0], labels[:, 1] = 3, 255
    old_out = SegOutput(logits=logits, pixel_emb=torch.zeros(1, 2, 100, 200), class_emb=torch.zeros(1, 3, 2),
                        features=torch.zeros(1, 1, 100, 200))
    step = StepInfo(step=1, old_channels=(0, 1, 2), new_channels=(3,), channel_steps=(0, 0, 0, 1))
    part = EntropyPseudoLabels(PseudoOptions(rule=rule, ignore_uncertain=ignore_uncertain))
    return part, _ctx(_run(None, None, step), old_out, old_out, labels), logits, labels


@pytest.mark.parametrize("rule", ["plop", "median"])
def test_entropy_pseudo_labels_keep_confident_pixels_and_reject_unsure_ones(rule):
    part, ctx, logits, labels = _pseudo_ctx(rule)
    v = plop_entropy(logits.softmax(1), 4)[0]
    out = part.relabel(ctx)
    # 60 % of class 1's background pixels sit in bin 0 -> threshold 0.01 * 0.5 / 0.6 in v units (both rules)
    assert part.thresholds()[1].item() == pytest.approx(0.01 * 0.5 / 0.6, rel=1e-4)
    assert v[5, 0] < part.thresholds()[1] < v[5, 150]
    assert bool((out[0, 2:, :120] == 1).all()) and bool((out[0, 2:, 120:] == 255).all())
    assert bool((out[0, 0] == 3).all()) and bool((out[0, 1] == 255).all())  # new-class and ignore labels kept
    assert part.summary()["pseudo_share_of_background"] == pytest.approx(0.6)
    kept = _pseudo_ctx(rule, ignore_uncertain=False)
    assert bool((kept[0].relabel(kept[1])[0, 2:, 120:] == 0).all())


def test_entropy_pseudo_labels_with_given_thresholds_and_floor():
    _, ctx, logits, labels = _pseudo_ctx()
    out = entropy_pseudo_labels(logits, labels, torch.tensor([0.5, 0.5, 0.5]), 4)
    assert bool((out[0, 2:] == 1).all())
    part = EntropyPseudoLabels(PseudoOptions(floor=0.5))
    part.relabel(ctx)
    assert part.thresholds().min().item() == pytest.approx(0.5)  # the floor is in PLOP's units
    assert EntropyPseudoLabels().relabel(_ctx(ctx.run, ctx.out, None, ctx.labels)) is None


def test_incrementer_method_builds_switchable_parts():
    parts = INCREMENTER.build(MethodConfig(name="incrementer"))
    assert [p.name for p in parts] == ["inc_tokens", "bg_init", "inc_pseudo", "ce", "kd", "inc_fod", "inc_cds"]
    ablated = INCREMENTER.build(MethodConfig(name="incrementer", parts={
        "inc_fod": {"enabled": False}, "inc_tokens": {"mode": "low_lr", "lr_mult": 0.5}}))
    assert "inc_fod" not in [p.name for p in ablated]
    assert ablated[0].options == TokenOptions(mode="low_lr", lr_mult=0.5)
    with pytest.raises(ValidationError, match="inc_cds.*dice"):
        INCREMENTER.build(MethodConfig(name="incrementer", parts={"inc_cds": {"dice": 1.0}}))
    with pytest.raises(ValidationError, match="mode"):
        INCREMENTER.build(MethodConfig(name="incrementer", parts={"inc_tokens": {"mode": "thawed"}}))
    with pytest.raises(ValidationError, match="background_weight"):
        INCREMENTER.build(MethodConfig(name="incrementer", parts={"inc_fod": {"background_weight": "high"}}))
    with pytest.raises(ValidationError, match="enabled"):
        INCREMENTER.build(MethodConfig(name="incrementer", parts={"inc_fod": {"enabled": "no"}}))
    assert INCREMENTER.build(MethodConfig(parts={"inc_pseudo": {"floor": 0}}))[2].options.floor == 0.0


def _toy_items(n: int, classes: tuple[int, ...], seed: int) -> list[dict]:
    """n 48×48 images, each with a coloured square per class id in ``classes`` on a grey background."""
    gen = np.random.default_rng(seed)
    items = []
    for i in range(n):
        image = np.full((48, 48, 3), 128, dtype=np.uint8)
        mask = np.zeros((48, 48), dtype=np.uint8)
        for j, cid in enumerate(classes):
            y, x = int(gen.integers(0, 24)), 24 * (j % 2)
            image[y:y + 20, x:x + 20] = (60 * cid) % 256
            mask[y:y + 20, x:x + 20] = cid
        mask[:2] = 255
        items.append({"image": image, "mask": mask, "image_id": i})
    return items


@pytest.mark.parametrize("encoder", ["tiny", "openclip_vit"])
def test_incrementer_trains_base_and_increment_end_to_end(encoder, tiny_openclip):
    from incseg_app.training.checkpoint import Checkpoint
    from incseg_app.training.data import InMemoryDataset
    from incseg_app.training.step import run_incremental_step

    cfg = TINY
    if encoder == "openclip_vit":
        clip_name, checkpoint = tiny_openclip
        cfg = ModelConfig(encoder="openclip_vit", embed_dim=32, decoder_heads=4, decoder_layers=1,
                          clip_model=clip_name, clip_pretrained=str(checkpoint))
    train = TrainConfig(epochs=1, batch_size=2, crop_size=32, max_iters=2, device="cpu", seed=0)
    method_cfg = MethodConfig(name="incrementer")
    base = run_incremental_step(cfg, train, INCREMENTER, method_cfg,
                                InMemoryDataset(_toy_items(4, (1, 2), seed=0)), (1, 2))
    assert set(base.losses) == {"ce", "total"}  # no old model: only the CE acts
    parent = Checkpoint(state={k: v.detach().cpu() for k, v in base.model.state_dict().items()}, model_cfg=cfg,
                        group_sizes=base.group_sizes, class_ids=base.class_ids)
    step = run_incremental_step(cfg, train, INCREMENTER, method_cfg,
                                InMemoryDataset(_toy_items(4, (1, 3), seed=1)), (3,), parent)
    assert step.group_sizes == (3, 1) and step.class_ids == (0, 1, 2, 3)
    assert set(step.losses) == {"unce", "unkd", "inc_fod_visual", "inc_fod_token", "inc_cds_dice", "inc_cds_old_dice",
                                "total"}
    assert all(math.isfinite(v) for v in step.losses.values())
    assert step.losses["inc_fod_visual"] > 0 and step.losses["inc_cds_dice"] > 0
    old_rows = parent.state["decoder.token_groups.0"][1:]
    assert torch.equal(step.model.token_groups[0].detach()[1:], old_rows)  # frozen old class tokens
    assert torch.equal(step.model.bias_groups[0].detach()[1:], parent.state["decoder.bias_groups.0"][1:])
    assert torch.equal(step.model.token_groups[0].detach()[0], parent.state["decoder.token_groups.0"][0])  # bg too
    with torch.no_grad():
        logits = step.model(torch.rand(1, 3, 32, 32)).logits
    assert logits.shape == (1, 4, 32, 32) and torch.isfinite(logits).all()
