"""Image augmentation on the fly: each training batch is moved by a small random rigid motion
(a shift of up to ``shift`` pixels along each axis and a rotation of up to ``degrees``), drawn
from the trainer's seeded batch-order generator, so a run is reproducible and resumes exactly.
The model reconstructs the moved image (the target moves with the input)."""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augment:
    image_shape: tuple[int, int]
    shift: float = 0.0  # pixels, uniform in [-shift, shift] on each axis
    degrees: float = 0.0  # uniform in [-degrees, degrees]

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, h*w) images -> (B, h*w) moved copies, bilinear, zeros shifted in."""
        batch, (h, w) = len(x), self.image_shape
        draws = torch.rand(batch, 3, generator=generator).to(x.device)  # the CPU generator's
        draws = draws.mul_(2).sub_(1)  # (B, 3) in [-1, 1)
        angle = draws[:, 0] * math.radians(self.degrees)
        cos, sin = torch.cos(angle), torch.sin(angle)
        # affine_grid's coordinates run over [-1, 1]: a pixel is 2 / w wide, 2 / h high
        tx, ty = draws[:, 1] * (2 * self.shift / w), draws[:, 2] * (2 * self.shift / h)
        theta = torch.stack([torch.stack([cos, -sin, tx], 1),
                             torch.stack([sin, cos, ty], 1)], 1)  # (B, 2, 3)
        grid = F.affine_grid(theta, [batch, 1, h, w], align_corners=False)
        moved = F.grid_sample(x.view(batch, 1, h, w), grid, mode="bilinear",
                              padding_mode="zeros", align_corners=False)
        return moved.view(batch, h * w)
