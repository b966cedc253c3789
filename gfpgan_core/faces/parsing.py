"""ParseNet face-parsing masks (facexlib's architecture, our verified weights)."""

from __future__ import annotations

import cv2
import numpy as np
import torch

# ParseNet's 19 classes: background, skin, brows, eyes, glasses, ears, earring, nose, mouth, lips,
# neck, necklace, cloth, hair, hat. The face region is everything but background, neck (14) and
# below (cloth, hair, hat), as in GFPGAN's paste-back.
FACE_CLASSES = np.array([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0], np.float32)


class FaceParser:
    """Soft face-region masks for aligned 512 crops."""

    def __init__(self, weights: str, device: torch.device | str = "cpu") -> None:
        from facexlib.parsing.parsenet import ParseNet

        from ..checkpoint import read_state_dict

        model = ParseNet(in_size=512, out_size=512, parsing_ch=19)
        model.load_state_dict(read_state_dict(weights), strict=True)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    @torch.inference_mode()
    def masks(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """float32 (512, 512) masks in [0, 1] for float32 RGB crops in [0, 1]."""
        if not crops:
            return []
        batch = np.stack([cv2.resize(c, (512, 512), interpolation=cv2.INTER_LINEAR) for c in crops])
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).to(self.device) * 2 - 1
        labels = self.model(x)[0].argmax(dim=1).cpu().numpy()
        out = []
        for lab, crop in zip(labels, crops, strict=False):
            mask = FACE_CLASSES[lab]
            mask = cv2.GaussianBlur(mask, (101, 101), 11)
            mask = cv2.GaussianBlur(mask, (101, 101), 11)
            mask[:10, :] = mask[-10:, :] = mask[:, :10] = mask[:, -10:] = 0
            out.append(cv2.resize(mask, crop.shape[1::-1], interpolation=cv2.INTER_LINEAR))
        return out
