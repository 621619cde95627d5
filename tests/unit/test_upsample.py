"""The matrix form of the logits' bilinear upsampling equals ``F.interpolate``, values and gradients."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from incseg_app.models.upsample import interpolation_matrix, upsample_bilinear


@pytest.mark.parametrize("h, w, factor", [(12, 12, 16), (5, 7, 8), (1, 3, 4), (4, 4, 1)])
def test_upsampling_matches_interpolate_in_value_and_gradient(h, w, factor):
    x = torch.randn(2, 3, h, w, requires_grad=True)
    grad_out = torch.randn(2, 3, h * factor, w * factor)
    ref = F.interpolate(x, size=(h * factor, w * factor), mode="bilinear", align_corners=False)
    (ref_grad,) = torch.autograd.grad(ref, x, grad_out)
    got = upsample_bilinear(x, factor)
    (got_grad,) = torch.autograd.grad(got, x, grad_out)
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, atol=1e-5) and torch.allclose(got_grad, ref_grad, atol=1e-4)


def test_interpolation_rows_are_convex_weights_of_at_most_two_neighbours():
    m = interpolation_matrix(6, 4, torch.device("cpu"), torch.float32)
    assert m.shape == (24, 6)
    assert torch.allclose(m.sum(1), torch.ones(24)) and (m >= 0).all()
    assert ((m > 0).sum(1) <= 2).all()
