"""GSC parts (incseg_app.methods.gsc) on hand-made tiny tensors."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from incseg_app.domain.config import MethodConfig, ModelConfig, TrainConfig
from incseg_app.domain.errors import ValidationError
from incseg_app.methods.gsc import (
    GSC, GradCompOptions, PrototypicalPseudoRelabel, RelabelOptions, RelationOptions,
    SoftSharpRelationDistillation, StepGradientCompensation, channel_step_grads, class_prototypes,
    confident_prototypes, prototype_labels, prototype_relabel, relation_kl, relation_matrix, step_weights,
)
from incseg_app.methods.parts import Batch, Method, PartSpec, StepContext, StepInfo, StepRun
from incseg_app.models.outputs import SegOutput

# K = 5 channels: background + two base classes (step 0), one class of step 1, one new class of step 2.
CHANNEL_STEPS = (0, 0, 0, 1, 2)
STEP2 = StepInfo(step=2, old_channels=(0, 1, 2, 3), new_channels=(4,), channel_steps=CHANNEL_STEPS)


def make_out(logits: torch.Tensor, emb: torch.Tensor | None = None) -> SegOutput:
    b, k = logits.shape[:2]
    emb = emb if emb is not None else F.normalize(torch.randn(b, 4, *logits.shape[-2:]), dim=1)
    return SegOutput(logits=logits, pixel_emb=emb, class_emb=torch.zeros(b, k, emb.shape[1]),
                     features=torch.zeros(b, 1, *emb.shape[-2:]))


def make_ctx(step: StepInfo, out: SegOutput, old_out: SegOutput | None, labels: torch.Tensor) -> StepContext:
    run = StepRun(model=torch.nn.Identity(), old_model=None, step=step, method=MethodConfig(name="gsc"),
                  train=TrainConfig(), device=torch.device("cpu"))
    b = labels.shape[0]
    batch = Batch(images=torch.zeros(b, 3, *labels.shape[-2:]), labels=labels, weak=torch.zeros(b, dtype=torch.bool),
                  confidence=torch.ones(labels.shape), tags=torch.ones(b, step.num_classes),
                  image_ids=torch.arange(b))
    return StepContext(run=run, batch=batch, out=out, old_out=old_out, labels=labels.clone(),
                       channel_weights=torch.ones(step.num_classes))


# --- step-aware gradient compensation ------------------------------------------------------------

def test_step_weights_for_a_hand_made_history():
    w = step_weights(torch.tensor([1.0, 2.0, 4.0]))
    torch.testing.assert_close(w, torch.tensor([12 / 7, 6 / 7, 3 / 7]))
    assert w.mean().item() == pytest.approx(1.0)
    torch.testing.assert_close(step_weights(torch.tensor([3.0, 3.0])), torch.ones(2))
    torch.testing.assert_close(step_weights(torch.tensor([1.0, 2.0, 4.0]), max_weight=1.5),
                               torch.tensor([1.5, 6 / 7, 3 / 7]))


def test_step_weights_normalised_over_channels_keep_the_old_classes_total_weight():
    # A 6-class base step that receives little gradient and a 1-class step that receives more: the
    # normalisation over steps (counts=None) cut the old channels' total weight from 7 to 2.9; the
    # normalisation over channels keeps it at 7 and only moves the split.
    grads, counts = torch.tensor([1.0, 0.1]), torch.tensor([6.0, 1.0])
    over_steps = step_weights(grads)
    assert float((over_steps * counts).sum()) == pytest.approx(2.909, abs=1e-3)
    over_channels = step_weights(grads, counts)
    assert float((over_channels * counts).sum()) == pytest.approx(7.0)
    assert over_channels[1] / over_channels[0] == pytest.approx(10.0)
    torch.testing.assert_close(step_weights(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([6.0, 1.0, 1.0])),
                               torch.tensor([32 / 27, 16 / 27, 8 / 27]))
    # "max": compensation only adds weight; power 0.5 halves the log-ratio
    torch.testing.assert_close(step_weights(grads, normalise="max"), torch.tensor([1.0, 10.0]))
    torch.testing.assert_close(step_weights(grads, normalise="max", power=0.5), torch.tensor([1.0, 10 ** 0.5]))
    assert step_weights(grads, normalise="max", max_weight=5.0).tolist() == [1.0, 5.0]


def test_channel_step_grads_averages_each_steps_channels():
    steps, g, counts = channel_step_grads(torch.tensor([9.0, 1.0, 3.0, 4.0, 7.0]), CHANNEL_STEPS, [1, 2, 3])
    assert steps == [0, 1] and counts.tolist() == [2.0, 1.0]
    torch.testing.assert_close(g, torch.tensor([2.0, 4.0]))


def _backward_with_channel_slopes(part: StepGradientCompensation, slopes: torch.Tensor) -> StepContext:
    """One iteration whose loss is sum_c slopes_c * channel_weight_c * mean(logits_c): |dL/dlogit_c| is known."""
    logits = torch.randn(2, 5, 3, 3, requires_grad=True)
    ctx = make_ctx(STEP2, make_out(logits), None, torch.zeros(2, 3, 3, dtype=torch.long))
    part.before_loss(ctx)
    per_channel = logits.mean(dim=(0, 2, 3)) * 18  # d/dlogit of each element = 1
    (per_channel * slopes * ctx.channel_weights).sum().backward()
    part.after_update(ctx)
    return ctx


def test_gradcomp_measures_logit_gradients_through_a_hook_and_reweights_old_steps_only():
    part = StepGradientCompensation(GradCompOptions(momentum=0.5))
    part.on_step_start(StepRun(torch.nn.Identity(), None, STEP2, MethodConfig(), TrainConfig(), torch.device("cpu")))
    slopes = torch.tensor([5.0, 1.0, 3.0, 4.0, 8.0])

    first = _backward_with_channel_slopes(part, slopes)
    torch.testing.assert_close(first.channel_weights, torch.ones(5))  # no history yet
    torch.testing.assert_close(part.ema, slopes)

    second = _backward_with_channel_slopes(part, slopes)
    # G(step 0) = mean(1, 3) = 2 over 2 channels, G(step 1) = 4 over 1 -> w ∝ [1/2, 1/4]; the best-served
    # step (1) keeps 1 ("max"): [2, 1]; background and the new channel stay 1.
    torch.testing.assert_close(second.channel_weights, torch.tensor([1.0, 2.0, 2.0, 1.0, 1.0]))
    assert part.summary()["final_step_factors"] == pytest.approx({"0": 2.0, "1": 1.0})
    # ``unweighted``: the measured gradient is divided by the applied factor, so the EMA stays at the slopes.
    torch.testing.assert_close(part.ema, slopes)


def test_gradcomp_with_feedback_folds_weighted_gradients_into_the_ema():
    part = StepGradientCompensation(GradCompOptions(momentum=0.5, unweighted=False))
    part.on_step_start(StepRun(torch.nn.Identity(), None, STEP2, MethodConfig(), TrainConfig(), torch.device("cpu")))
    slopes = torch.tensor([5.0, 1.0, 3.0, 4.0, 8.0])
    _backward_with_channel_slopes(part, slopes)
    _backward_with_channel_slopes(part, slopes)
    factors = torch.tensor([1.0, 2.0, 2.0, 1.0, 1.0])
    torch.testing.assert_close(part.ema, 0.5 * slopes + 0.5 * slopes * factors)


def test_gradcomp_is_neutral_in_the_base_step():
    step0 = StepInfo(step=0, old_channels=(), new_channels=(0, 1, 2), channel_steps=(0, 0, 0))
    part = StepGradientCompensation()
    part.on_step_start(StepRun(torch.nn.Identity(), None, step0, MethodConfig(), TrainConfig(), torch.device("cpu")))
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    ctx = make_ctx(step0, make_out(logits), None, torch.zeros(1, 2, 2, dtype=torch.long))
    part.before_loss(ctx)
    logits.sum().backward()
    part.after_update(ctx)
    torch.testing.assert_close(ctx.channel_weights, torch.ones(3))
    assert part.ema is None


def test_gradcomp_rejects_bad_options():
    with pytest.raises(ValidationError, match="momentum"):
        StepGradientCompensation.from_dict({"momentum": 1.0})
    with pytest.raises(ValidationError, match="unknown option"):
        StepGradientCompensation.from_dict({"momentun": 0.5})
    with pytest.raises(ValidationError, match="normalise"):
        StepGradientCompensation.from_dict({"normalise": "classes"})
    with pytest.raises(ValidationError, match="expected a number"):
        StepGradientCompensation.from_dict({"momentum": "high"})


# --- soft-sharp relation distillation ------------------------------------------------------------

def test_class_prototypes_on_a_hand_made_embedding_map():
    emb = torch.tensor([[1.0, 3.0, 0.0, 5.0], [2.0, 4.0, 1.0, 5.0]]).view(1, 2, 2, 2)  # D=2, 2×2 pixels
    labels = torch.tensor([[[1, 1], [2, 255]]])
    protos, counts = class_prototypes(emb, labels, num_classes=3)
    torch.testing.assert_close(protos, torch.tensor([[0.0, 0.0], [2.0, 3.0], [0.0, 1.0]]))
    assert counts.tolist() == [0, 2, 1]


def test_prototype_labels_take_targets_for_classes_and_old_argmax_for_background():
    labels = torch.tensor([[[0, 0, 4, 255]]])
    old_logits = torch.tensor([[[[9.0, 0, 0, 0]], [[0, 9.0, 9.0, 9.0]]]])  # argmax: 0, 1, 1, 1
    assert prototype_labels(labels, old_logits, (0, 1)).tolist() == [[[0, 1, 4, 255]]]


def test_relation_kl_is_zero_when_models_agree_and_grows_as_they_diverge():
    torch.manual_seed(1)
    old = relation_matrix(torch.randn(5, 8))
    other = relation_matrix(torch.randn(5, 8))
    rows = torch.tensor([0, 1, 2])
    for t in (1.0, 0.1):
        assert relation_kl(old, old.clone(), rows, t).item() == pytest.approx(0.0, abs=1e-7)
        kls = [relation_kl(old, (1 - a) * old + a * other, rows, t).item() for a in (0.1, 0.3, 0.6, 1.0)]
        assert all(b > a for a, b in zip(kls, kls[1:])), kls
    assert relation_kl(old, other, rows, 0.1) > relation_kl(old, other, rows, 1.0)


def test_relation_kl_matches_a_hand_computed_row():
    r_old = torch.tensor([[1.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 1.0]])
    r_new = torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, 0.2], [0.5, 0.2, 1.0]])
    p = torch.softmax(torch.tensor([0.5, 0.0]), 0)  # row 0 without its diagonal
    q = torch.softmax(torch.tensor([0.0, 0.5]), 0)
    expected = (p * (p / q).log()).sum()
    torch.testing.assert_close(relation_kl(r_old, r_new, torch.tensor([0]), 1.0), expected)


def _relation_inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.tensor([[[0, 0, 4, 4], [0, 0, 4, 4], [0, 0, 0, 0], [0, 0, 255, 0]]])
    old_logits = torch.rand(1, 4, 4, 4, generator=g)
    emb = F.normalize(torch.randn(1, 6, 4, 4, generator=g), dim=1)
    return labels, old_logits, emb


def test_relation_part_is_zero_for_identical_models_and_positive_with_grad_otherwise():
    labels, old_logits, emb = _relation_inputs()
    part = SoftSharpRelationDistillation(RelationOptions(min_pixels=1, momentum=0.0))
    logits = torch.zeros(1, 5, 4, 4)
    same = make_ctx(STEP2, make_out(logits, emb), make_out(old_logits, emb.clone()), labels)
    assert part.losses(same)["gsc_relation"].item() == pytest.approx(0.0, abs=1e-6)

    new_emb = F.normalize(emb + 0.8 * torch.randn_like(emb), dim=1).requires_grad_(True)
    diverged = make_ctx(STEP2, make_out(logits, new_emb), make_out(old_logits, emb), labels)
    loss = part.losses(diverged)["gsc_relation"]
    assert loss.item() > 1e-4
    loss.backward()
    assert new_emb.grad is not None and new_emb.grad.abs().sum() > 0


def test_relation_prototypes_run_over_batches_and_leave_new_columns_out():
    labels, old_logits, emb = _relation_inputs()
    part = SoftSharpRelationDistillation(RelationOptions(min_pixels=1, momentum=0.5))
    logits = torch.zeros(1, 5, 4, 4)
    first = make_ctx(STEP2, make_out(logits, emb), make_out(old_logits, emb.clone()), labels)
    assert part.losses(first)["gsc_relation"].item() == pytest.approx(0.0, abs=1e-6)
    seen = part._seen.clone()
    assert 4 not in part._columns(seen, STEP2.old_channels).tolist()  # no new-class column
    # a second batch showing only background: the classes of the first batch keep their running prototypes
    only_bg = torch.zeros_like(labels)
    second = make_ctx(STEP2, make_out(logits, emb), make_out(torch.zeros_like(old_logits), emb.clone()), only_bg)
    part.losses(second)
    assert bool((part._seen >= seen).all())
    with_new = SoftSharpRelationDistillation(RelationOptions(min_pixels=1, momentum=0.0, new_columns=True))
    with_new.losses(make_ctx(STEP2, make_out(logits, emb), make_out(old_logits, emb.clone()), labels))
    assert 4 in with_new._columns(with_new._seen, STEP2.old_channels).tolist()


def test_relation_part_is_silent_without_an_old_model_and_rejects_bad_temperatures():
    labels, _, emb = _relation_inputs()
    ctx = make_ctx(STEP2, make_out(torch.zeros(1, 5, 4, 4), emb), None, labels)
    assert SoftSharpRelationDistillation().losses(ctx) == {}
    with pytest.raises(ValidationError, match="sharp_temperature"):
        SoftSharpRelationDistillation.from_dict({"soft_temperature": 0.1, "sharp_temperature": 1.0})


def test_relation_inputs_cover_several_old_classes():
    labels, old_logits, _ = _relation_inputs()
    masks = prototype_labels(labels, old_logits, (0, 1, 2, 3))
    assert len(set(masks.unique().tolist()) & {0, 1, 2, 3}) >= 3 and 4 in masks


# --- prototypical pseudo re-labelling ------------------------------------------------------------

def test_prototype_relabel_keeps_near_pixels_and_drops_far_ones():
    labels = torch.tensor([[[0, 0, 0, 0, 0, 5, 255]]])
    pred = torch.tensor([0, 1, 1, 2, 3, 1, 1])  # old argmax per pixel (output index = channel here)
    old_logits = F.one_hot(pred, 4).T.float().view(1, 4, 1, 7)
    picked = torch.tensor([0.9, 0.1, 0.5, 0.3, 0.0, 0.0, 0.0])  # distance to the predicted class's prototype
    distances = torch.full((1, 4, 1, 7), 9.0).scatter(1, pred.view(1, 1, 1, 7), picked.view(1, 1, 1, 7))
    thresholds = torch.tensor([0.0, 0.2, 0.3, float("-inf")])  # class 3 has no prototype
    keep_or_ignore = prototype_relabel(labels, old_logits, distances, thresholds, (0, 1, 2, 3), "ignore")
    assert keep_or_ignore.tolist() == [[[0, 1, 255, 2, 255, 5, 255]]]
    keep_or_bg = prototype_relabel(labels, old_logits, distances, thresholds, (0, 1, 2, 3), "background")
    assert keep_or_bg.tolist() == [[[0, 1, 0, 2, 0, 5, 255]]]


def test_confident_prototypes_use_confident_background_pixels_and_the_median_distance():
    # 1×5 pixels, D=2: three confident class-1 pixels, one unconfident, one outside the region.
    emb = torch.tensor([[1.0, 0.8, 0.8, 0.0, 0.0], [0.0, 0.6, -0.6, 1.0, 1.0]]).view(1, 2, 1, 5)
    probs = torch.tensor([[0.1, 0.1, 0.1, 0.4, 0.1], [0.9, 0.9, 0.9, 0.6, 0.9]]).view(1, 2, 1, 5)
    region = torch.tensor([[[True, True, True, True, False]]])
    protos, thresholds, valid = confident_prototypes(emb, probs, region, confidence=0.7)
    assert valid.tolist() == [False, True]
    torch.testing.assert_close(protos[1], torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(thresholds[1], torch.tensor(0.2))
    assert thresholds[0].item() == float("-inf")
    _, _, too_few = confident_prototypes(emb, probs, region, confidence=0.7, min_pixels=4)
    assert not too_few.any()
    # Fallback: class 1 has only 3 confident pixels but 4 predicted in the region -> all 4 define it.
    protos4, thresholds4, valid4 = confident_prototypes(emb, probs, region, 0.7, min_pixels=4, fallback_to_all=True)
    assert valid4.tolist() == [False, True]
    expected = F.normalize(torch.tensor([2.6, 1.0]), dim=0)  # normalised mean of the four region pixels
    torch.testing.assert_close(protos4[1], expected)
    dists = 1 - torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.8, -0.6], [0.0, 1.0]]) @ expected
    torch.testing.assert_close(thresholds4[1], dists.median())


def _relabel_ctx(reject_to: str) -> tuple[PrototypicalPseudoRelabel, StepContext]:
    step = StepInfo(step=1, old_channels=(0, 1), new_channels=(2,), channel_steps=(0, 0, 1))
    # 1×6 pixels at full = feature resolution; pixels 0-2 confident class 1 near [1, 0]; pixel 3
    # predicted class 1 but far; pixel 4 labelled new class 2; pixel 5 old background.
    emb = F.normalize(torch.tensor([[1.0, 0.8, 0.8, 0.0, 1.0, 0.0], [0.0, 0.6, -0.6, 1.0, 0.0, 1.0]]), dim=0)
    old_logits = torch.tensor([[0.0, 0.0, 0.0, 0.0, 0.0, 3.0],  # background
                               [3.0, 3.0, 3.0, 0.5, 3.0, 0.0]]).view(1, 2, 1, 6)  # class 1
    labels = torch.tensor([[[0, 0, 0, 0, 2, 0]]])
    old_out = make_out(old_logits, emb.view(1, 2, 1, 6))
    ctx = make_ctx(step, make_out(torch.zeros(1, 3, 1, 6)), old_out, labels)
    part = PrototypicalPseudoRelabel.from_dict({"reject_to": reject_to, "confidence": 0.9, "min_pixels": 3,
                                                "quantile": 0.5, "momentum": 0.0})
    part.on_step_start(ctx.run)
    return part, ctx


@pytest.mark.parametrize("reject_to, rejected", [("ignore", 255), ("background", 0)])
def test_relabel_part_turns_near_background_into_old_classes(reject_to: str, rejected: int):
    part, ctx = _relabel_ctx(reject_to)
    new = part.relabel(ctx)
    # Pixel 1 and 2 lie at the median distance (0.2) of the confident set: kept; pixel 3 is far.
    assert new.tolist() == [[[1, 1, 1, rejected, 2, 0]]]
    assert part.summary()["pseudo_share_of_background"] == pytest.approx(3 / 5)


def test_relabel_part_leaves_the_base_step_alone_and_validates_reject_to():
    _, ctx = _relabel_ctx("ignore")
    ctx.old_out = None
    assert PrototypicalPseudoRelabel().relabel(ctx) is None
    with pytest.raises(ValidationError, match="reject_to"):
        PrototypicalPseudoRelabel.from_dict({"reject_to": "drop"})
    with pytest.raises(ValidationError, match="quantile"):
        PrototypicalPseudoRelabel.from_dict({"quantile": 0.0})


def test_gsc_method_lists_its_parts_in_order_and_each_can_be_switched_off():
    assert GSC.part_names == ("bg_init", "gsc_relabel", "gsc_gradcomp", "ce", "kd", "gsc_relation")
    parts = GSC.build(MethodConfig(name="gsc", parts={"gsc_gradcomp": {"enabled": False},
                                                        "gsc_relation": {"sharp_temperature": 0.05}}))
    assert [p.name for p in parts] == ["bg_init", "gsc_relabel", "ce", "kd", "gsc_relation"]
    assert parts[-1].options == RelationOptions(sharp_temperature=0.05)
    assert isinstance(parts[1].options, RelabelOptions)
    with pytest.raises(ValidationError, match="gsc_relation.*weight"):
        GSC.build(MethodConfig(name="gsc", parts={"gsc_relation": {"weight": -1}}))


def test_part_states_round_trip_for_resume():
    part = StepGradientCompensation(GradCompOptions(momentum=0.5))
    part.on_step_start(StepRun(torch.nn.Identity(), None, STEP2, MethodConfig(), TrainConfig(), torch.device("cpu")))
    assert part.state_dict() == {}
    _backward_with_channel_slopes(part, torch.tensor([5.0, 1.0, 3.0, 4.0, 8.0]))
    resumed = StepGradientCompensation(GradCompOptions(momentum=0.5))
    resumed.on_step_start(StepRun(torch.nn.Identity(), None, STEP2, MethodConfig(), TrainConfig(), torch.device("cpu")))
    resumed.load_state_dict(part.state_dict())
    torch.testing.assert_close(resumed.current_factors(5, torch.device("cpu")),
                               part.current_factors(5, torch.device("cpu")))

    relabel, ctx = _relabel_ctx("ignore")
    relabel.relabel(ctx)
    copy_ = PrototypicalPseudoRelabel()
    copy_.load_state_dict(relabel.state_dict())
    torch.testing.assert_close(copy_.thresholds, relabel.thresholds)


# --- end to end through the engine ---------------------------------------------------------------

def _toy_items(n: int = 4, size: int = 48) -> list[dict]:
    """Images with four flat-coloured quadrants of classes 1..4 (positions vary), background elsewhere."""
    import numpy as np
    rng = np.random.default_rng(0)
    colours = {1: (220, 30, 30), 2: (30, 220, 30), 3: (30, 30, 220), 4: (220, 220, 30)}
    items = []
    for i in range(n):
        image = np.full((size, size, 3), 90, np.uint8)
        mask = np.zeros((size, size), np.uint8)
        for cid, (y, x) in zip(rng.permutation(4) + 1, [(0, 0), (0, 24), (24, 0), (24, 24)]):
            image[y + 4:y + 20, x + 4:x + 20] = colours[int(cid)]
            mask[y + 4:y + 20, x + 4:x + 20] = cid
        items.append({"image": image, "mask": mask, "image_id": i})
    return items


def test_gsc_trains_base_and_two_increments_on_the_tiny_model():
    from incseg_app.training.checkpoint import Checkpoint
    from incseg_app.training.data import InMemoryDataset
    from incseg_app.training.step import run_incremental_step

    model_cfg = ModelConfig(encoder="tiny", embed_dim=32, decoder_heads=4, decoder_layers=1)
    train_cfg = TrainConfig(epochs=1, batch_size=2, crop_size=48, lr=1e-3, device="cpu", max_iters=2)
    data = InMemoryDataset(_toy_items())
    method_cfg = MethodConfig(name="gsc", parts={"gsc_relabel": {"confidence": 0.0, "min_pixels": 1}})
    built: list[dict[str, object]] = []

    def spy(spec: PartSpec) -> PartSpec:
        class Spy(spec.cls):
            @classmethod
            def from_dict(cls, data=None):
                part = spec.cls.from_dict(data)
                if spec.name == GSC.parts[0].name:
                    built.append({})
                built[-1][spec.name] = part
                return part
        return PartSpec(spec.name, Spy, spec.defaults)

    method = Method(GSC.name, GSC.paper, tuple(spy(s) for s in GSC.parts))
    parent = None
    for new_ids in ((1, 2), (3,), (4,)):
        result = run_incremental_step(model_cfg, train_cfg, method, method_cfg, data, new_ids, parent)
        state = {k: v.detach().clone() for k, v in result.model.state_dict().items()}
        if parent is None:  # an old model that calls every pixel class 1, so re-labelling has work to do
            state["decoder.bias_groups.0"][1] += 50.0
        parent = Checkpoint(state=state, model_cfg=model_cfg, group_sizes=result.group_sizes,
                            class_ids=result.class_ids)
        assert all(math.isfinite(v) for v in result.losses.values()), result.losses
    assert result.class_ids == (0, 1, 2, 3, 4) and result.group_sizes == (3, 1, 1)
    assert {"unce", "unkd", "gsc_relation"} <= set(result.losses)
    # Step 1: class 1 got a prototype and a finite threshold from the old model's predictions.
    assert torch.isfinite(built[1]["gsc_relabel"].thresholds[1])
    # Step 2 has two past steps: the measured gradients give non-trivial weights to channels 1-3 only.
    factors = built[2]["gsc_gradcomp"].current_factors(5, torch.device("cpu"))
    assert factors[0] == 1 and factors[4] == 1 and factors[1] == factors[2]
    assert not torch.allclose(factors[1:4], torch.ones(3))
    with torch.no_grad():
        out = result.model(torch.rand(1, 3, 48, 48))
    assert out.logits.shape == (1, 5, 48, 48)
